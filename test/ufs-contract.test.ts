// The UFS contract suite (test/helpers/ufs-contract.ts) run against every UFS: the local UFS
// on temp directories, the same through InstrumentedUfs (the decorator every mount uses must
// keep the contract, capabilities included), and the S3 UFS on a fresh bucket of the real
// radosgw (test/helpers/s3.ts), one key prefix per test. A new UFS registers here with one line.
import { rm } from 'node:fs/promises';

import { InstrumentedUfs } from '../src/ufs/instrumented.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import { fileUri, tempDir } from './helpers/fixture.js';
import { freshBucket } from './helpers/s3.js';
import { ufsContract } from './helpers/ufs-contract.js';

/** Local UFSs on fresh temp directories, `wrap`ped as given. */
function localTarget(wrap: (u: LocalUfs) => LocalUfs | InstrumentedUfs = (u) => u) {
  return async () => {
    const dirs: string[] = [];
    return {
      async fresh() {
        const dir = await tempDir('strata-ufs-contract-');
        dirs.push(dir);
        return wrap(new LocalUfs(fileUri(dir)));
      },
      async dispose() { for (const d of dirs) await rm(d, { recursive: true, force: true }); },
    };
  };
}

/** S3 UFSs on one fresh bucket, a new key prefix each. */
async function s3Target() {
  const b = await freshBucket('ufs-contract');
  let n = 0;
  return { fresh: async () => b.ufs(`t${n++}/root`), dispose: () => b.cleanup() };
}

const LOCAL_CAPS = ['watcher', 'cleanupInterruptedWrites', 'validatePath'] as const;

ufsContract({ name: 'local', setUp: localTarget(), capabilities: [...LOCAL_CAPS], atomicRename: true });
ufsContract({ name: 'local (instrumented)', setUp: localTarget((u) => new InstrumentedUfs(u, { timeoutMs: 30_000 })), capabilities: [...LOCAL_CAPS], atomicRename: true });
ufsContract({ name: 's3', setUp: s3Target, capabilities: ['watcher', 'validatePath'], atomicRename: false });
