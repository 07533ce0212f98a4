// Runs a CommonJS bundle of the CLI (dist/cli/client-bundle.cjs) compiled with V8's code
// cache, which ES modules cannot use on Node 20: the cache (`<bundle>.cache`, beside it)
// holds the bytecode of every function a command ran, so a later start neither parses nor
// compiles them. V8 checks the cache against the source, its version and flags, and
// rejects a stale one; then the cache is written anew (atomically) when the command ends,
// if the directory is writable. `STRATA_CODE_CACHE=0` compiles without it.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import vm from 'node:vm';

/**
 * Compile and run the bundle at `url` (a file: URL) with its code cache, then call its
 * exported `run()`. Resolves when run() resolves (the CLI exits the process itself).
 */
export async function runBundle(url) {
  const file = fileURLToPath(url);
  const cacheFile = file.replace(/\.cjs$/, '.cache');
  const useCache = process.env.STRATA_CODE_CACHE !== '0';
  let cachedData;
  if (useCache) {
    try { cachedData = readFileSync(cacheFile); } catch { /* none yet */ }
  }
  const source = readFileSync(file, 'utf8');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // import() inside the bundle (node:tls, the server-side command groups) as in a module.
    importModuleDynamically: (specifier) => import(specifier.startsWith('.') ? new URL(specifier, url).href : specifier),
  });
  if (useCache && (!cachedData || script.cachedDataRejected)) {
    // Written when the command ends, so that it holds every function the command compiled.
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch { /* read-only install: run without a cache */ }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  await module.exports.run();
}
