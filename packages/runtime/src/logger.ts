// JSON logs to stdout: one event per line with tier and version on every line.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(opts: { tier: string; version: string; level: string }): Logger {
  return pino({
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
  });
}
