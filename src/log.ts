// The process logger (pino) on stderr: human-readable lines (pino-pretty) when stderr is a
// terminal, JSON lines otherwise (STRATA_LOG_FORMAT=json|pretty forces one); level from
// STRATA_LOG_LEVEL (default info) or `strata server --log-level`. Secrets never reach it:
// callers log redacted mount options only.

import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The log levels accepted by `--log-level` and STRATA_LOG_LEVEL. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function destination(): pino.DestinationStream {
  const format = process.env.STRATA_LOG_FORMAT;
  const pretty = format === 'pretty' || (format !== 'json' && Boolean(process.stderr.isTTY));
  if (pretty) {
    try {
      // Loaded only for a terminal; formats in this thread (no transport worker).
      const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => pino.DestinationStream;
      return pinoPretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
    } catch {
      // pino-pretty missing: JSON lines below
    }
  }
  return pino.destination({ dest: 2, sync: false });
}

export const logger: Logger = pino(
  { level: process.env.STRATA_LOG_LEVEL ?? 'info', base: undefined },
  destination(),
);
