import pino from 'pino';
import { redactSecrets } from './redact.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level?: string;
  /** File descriptor to write to: 1 (stdout, default) or 2 (stderr: the CLI keeps stdout for results). */
  fd?: 1 | 2;
}

/**
 * JSON logs through pino. Every log line of a run carries `runId` (bind it with
 * `logger.child({ runId, table })`). Known secret-bearing keys are censored, and error
 * messages pass through redactSecrets before they are logged.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'soundlake',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['connectionString', 'password', 'url', 'token', 'accessToken', 'apiKey', '*.connectionString', '*.password', '*.url', '*.token'],
        censor: '[redacted]',
      },
      serializers: {
        err: (err: Error) => ({ type: err.name, message: redactSecrets(err.message), stack: redactSecrets(err.stack ?? '') }),
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}

/** A logger that drops everything: for library use where the caller has no logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
