// The process logger (pino): JSON lines on stderr, level from STRATA_LOG_LEVEL (default
// info). Secrets never reach it: callers log redacted mount options only.

import { pino } from 'pino';

export type Logger = pino.Logger;

export const logger: Logger = pino(
  { level: process.env.STRATA_LOG_LEVEL ?? 'info', base: undefined },
  pino.destination({ dest: 2, sync: false }),
);
