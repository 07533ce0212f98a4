// Development only: when the sources run through tsx (tests, `node --import tsx`), Piscina
// starts this plain-JS file in each worker thread; it registers tsx so the TypeScript
// worker can load. The built package (dist/) starts dist/actors/worker.js directly.
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
export default mod.default;
