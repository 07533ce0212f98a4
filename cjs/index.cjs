// CommonJS entry of `strata`. Strata is an ES module; where Node can require() ES modules
// (Node >= 22.12, or 20.17+ with --experimental-require-module) this returns it, elsewhere
// it fails with a message saying what to do instead.
'use strict';
try {
  module.exports = require('../dist/index.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    const e = new Error("strata is an ES module and this Node.js cannot require() it: use `import { Coordinator, StrataClient } from 'strata'` (or `await import('strata')` from CommonJS)");
    e.code = 'ERR_REQUIRE_ESM';
    e.cause = err;
    throw e;
  }
  throw err;
}
