// The AWS SDK for S3, loaded on first use: a process (the CLI, a server with local mounts
// only, each worker thread) that never touches S3 never pays its ~200 ms load and its
// memory. The SDK ships CommonJS, so it is required synchronously when first needed.

import { createRequire } from 'node:module';
import type * as S3Sdk from '@aws-sdk/client-s3';

let sdk: typeof S3Sdk | undefined;

/** The `@aws-sdk/client-s3` module (loaded on the first call). */
export function s3Sdk(): typeof S3Sdk {
  sdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof S3Sdk;
  return sdk;
}
