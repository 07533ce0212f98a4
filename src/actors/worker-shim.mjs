// Piscina starts this plain-JS file in each worker thread: it registers tsx so the
// TypeScript worker can load (Node 20 cannot start a .ts worker directly).
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
export default mod.default;
