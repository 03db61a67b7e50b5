import { loadSettings, type Settings } from '../config/settings.js';
import { routedLogger } from '../logging/invocationScope.js';
import type { LogLevel } from '../logging/logger.js';
import { createLogger } from '../logging/logger.js';
import type { AppOverrides, SoundlakeApp } from './soundlakeApp.js';
import { createApp } from './soundlakeApp.js';

let app: Promise<SoundlakeApp> | undefined;

/**
 * The app as the Functions host runs it: its log lines go to the invocation they belong to
 * (handlers wrap their work in withInvocationLog), and to pino on stdout outside any invocation.
 * `overrides.logger`, if given, replaces that pino fallback.
 */
export function createHostedApp(settings: Settings, overrides: AppOverrides = {}): Promise<SoundlakeApp> {
  const level = settings.logLevel as LogLevel;
  const fallback = overrides.logger ?? createLogger({ level });
  return createApp(settings, { ...overrides, logger: routedLogger(fallback, { level }) });
}

/**
 * The process-wide app for function handlers: built from app settings on first use and kept
 * for the life of the worker, so clients and pools are shared between invocations.
 */
export function getApp(): Promise<SoundlakeApp> {
  app ??= (async () => createHostedApp(loadSettings()))().catch((err: unknown) => {
    app = undefined;
    throw err;
  });
  return app;
}

/** For tests and the local runner: use this app instead of one built from the environment. */
export function setApp(instance: SoundlakeApp | undefined): void {
  app = instance ? Promise.resolve(instance) : undefined;
}
