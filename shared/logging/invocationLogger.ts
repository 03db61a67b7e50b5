import type { Logger, LogLevel, LogMethod } from './logger.js';
import { CENSOR, CENSORED_FIELDS, levelEnabled, serializeError } from './logger.js';
import { redactSecrets } from './redact.js';

/**
 * The logging half of an @azure/functions InvocationContext. Lines written through it reach the
 * Functions host as the invocation's own logs, so Application Insights files them as traces of
 * that invocation (operation id, InvocationId), which stdout lines are not.
 */
export interface InvocationLog {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const CENSORED = new Set<string>(CENSORED_FIELDS);

/** Fields as they may be logged: censored keys (top level and one down), errors serialised. */
function clean(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (CENSORED.has(key)) out[key] = CENSOR;
    else if (key === 'err') out[key] = serializeError(value);
    else if (depth === 0 && value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) out[key] = clean(value as Record<string, unknown>, 1);
    else out[key] = value;
  }
  return out;
}

const json = (fields: Record<string, unknown>): string =>
  JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

/**
 * One line per call: the message, then the fields (run id first among them) as JSON, e.g.
 * `part committed {"runId":"run-...","table":"orders","part":3,"rows":50000}`. The whole line
 * passes redactSecrets, so a credential inside any value is masked too.
 */
export function formatLine(bindings: Record<string, unknown>, args: [object | string, string?]): string {
  const [first, second] = args;
  const fields = typeof first === 'string' ? { ...bindings } : { ...bindings, ...(first as Record<string, unknown>) };
  const message = typeof first === 'string' ? first : (second ?? '');
  const body = Object.keys(fields).length ? json(clean(fields)) : '';
  return redactSecrets(message && body ? `${message} ${body}` : message || body);
}

const CONTEXT_METHOD: Record<LogMethod, keyof InvocationLog> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error', fatal: 'error' };

/**
 * A Logger that writes through one invocation's context. Function handlers make one per
 * invocation (invocationScope.ts); `level` is the app's LOG_LEVEL, applied before the host's own
 * host.json filter.
 */
export function invocationLogger(context: InvocationLog, options: { level?: LogLevel; bindings?: Record<string, unknown> } = {}): Logger {
  const level = options.level ?? 'trace';
  const bindings = options.bindings ?? {};
  const method =
    (m: LogMethod) =>
    (...args: [object | string, string?]): void => {
      if (levelEnabled(level, m)) context[CONTEXT_METHOD[m]](formatLine(bindings, args));
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => invocationLogger(context, { level, bindings: { ...bindings, ...more } }),
  };
}
