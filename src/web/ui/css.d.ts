// Stylesheets imported by the console's modules are bundled by esbuild (scripts/build-web.mjs).
declare module '*.css';
