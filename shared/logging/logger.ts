import pino from 'pino';
import { redactSecrets } from './redact.js';

/** One level's log call, pino style: fields first, message second; or the message alone. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * What shared/ logs through. Two implementations: pino (createLogger: the CLI, the local runner,
 * tests) and the Functions invocation (invocationLogger.ts), chosen by whoever builds the app.
 * Every line of a run carries `runId`: bind it with `logger.child({ runId, table })`.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogMethod = Exclude<LogLevel, 'silent'>;

const SEVERITY: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/** Whether a line at `method` passes a logger set to `level` (pino's ordering). */
export function levelEnabled(level: LogLevel, method: LogMethod): boolean {
  return SEVERITY[method] >= SEVERITY[level];
}

/** Field names whose values are never logged, at the top level or one level down. */
export const CENSORED_FIELDS = ['connectionString', 'password', 'url', 'token', 'accessToken', 'apiKey'] as const;
export const CENSOR = '[redacted]';

/**
 * The `err` field: an Error becomes its type, and message and stack with credentials masked; a
 * string (callers often log `describeError(e)`) is masked the same way; anything else is kept.
 */
export function serializeError(err: unknown): unknown {
  if (err instanceof Error) return { type: err.name, message: redactSecrets(err.message), stack: redactSecrets(err.stack ?? '') };
  return typeof err === 'string' ? redactSecrets(err) : err;
}

export interface LoggerOptions {
  level?: string;
  /** File descriptor to write to: 1 (stdout, default) or 2 (stderr: the CLI keeps stdout for results). */
  fd?: 1 | 2;
  /** Where lines go instead of a file descriptor (tests read what was logged). */
  destination?: { write(line: string): void };
}

/**
 * JSON lines through pino. Known secret-bearing keys are censored, and error messages pass
 * through redactSecrets before they are logged.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'soundlake',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [...CENSORED_FIELDS, ...CENSORED_FIELDS.map((f) => `*.${f}`)],
        censor: CENSOR,
      },
      serializers: { err: serializeError },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}

/** A logger that drops everything: for library use where the caller has no logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
