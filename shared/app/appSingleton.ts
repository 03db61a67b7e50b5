import { loadSettings } from '../config/settings.js';
import type { SoundlakeApp } from './soundlakeApp.js';
import { createApp } from './soundlakeApp.js';

let app: Promise<SoundlakeApp> | undefined;

/**
 * The process-wide app for function handlers: built from app settings on first use and kept
 * for the life of the worker, so clients and pools are shared between invocations.
 */
export function getApp(): Promise<SoundlakeApp> {
  app ??= (async () => createApp(loadSettings()))().catch((err: unknown) => {
    app = undefined;
    throw err;
  });
  return app;
}

/** For tests and the local runner: use this app instead of one built from the environment. */
export function setApp(instance: SoundlakeApp | undefined): void {
  app = instance ? Promise.resolve(instance) : undefined;
}
