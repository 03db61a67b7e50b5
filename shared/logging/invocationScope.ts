import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvocationLog } from './invocationLogger.js';
import { invocationLogger } from './invocationLogger.js';
import type { Logger, LogLevel, LogMethod } from './logger.js';
import { levelEnabled } from './logger.js';

/**
 * Which invocation's log the core writes to. The app's adapters (notifier, Databricks client,
 * kicker, ...) are built once per worker and shared by concurrent invocations, so the logger
 * they hold cannot be one invocation's; and passing a logger into every call would widen every
 * port. Instead a handler runs its work inside `withInvocationLog`, and the app's logger (a
 * `routedLogger`) looks up, per line, the invocation whose async call tree it is running in.
 */
const current = new AsyncLocalStorage<Logger>();

/** Runs `work` with `context` as the destination of every routed log line in its async call tree. */
export function withInvocationLog<T>(context: InvocationLog, work: () => Promise<T>): Promise<T> {
  return current.run(invocationLogger(context), work);
}

/**
 * The app's logger under the Functions host: inside `withInvocationLog`, lines go to that
 * invocation's context; outside any invocation (start-up, timers of the SDKs), to `fallback`
 * (pino on stdout, which the host also collects, without the invocation).
 */
export function routedLogger(fallback: Logger, options: { level?: LogLevel; bindings?: Record<string, unknown> } = {}): Logger {
  const level = options.level ?? 'info';
  const bindings = options.bindings ?? {};
  const fallbackChild = Object.keys(bindings).length ? fallback.child(bindings) : fallback;
  const method =
    (m: LogMethod) =>
    (...args: [object | string, string?]): void => {
      if (!levelEnabled(level, m)) return;
      const target = current.getStore();
      if (!target) {
        (fallbackChild[m] as (...a: [object | string, string?]) => void)(...args);
        return;
      }
      const [first, second] = args;
      if (typeof first === 'string') target[m]({ ...bindings }, first);
      else target[m]({ ...bindings, ...first }, second);
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => routedLogger(fallback, { level, bindings: { ...bindings, ...more } }),
  };
}

/** A Functions handler whose log lines, its own and the core's, belong to its invocation. */
export function loggingToInvocation<I, C extends InvocationLog, R>(handler: (input: I, context: C) => Promise<R>): (input: I, context: C) => Promise<R> {
  return (input, context) => withInvocationLog(context, () => handler(input, context));
}
