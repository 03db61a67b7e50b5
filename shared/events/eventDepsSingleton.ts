import { getApp } from '../app/appSingleton.js';
import { createEventDeps, type EventDeps } from './eventDeps.js';
import { loadEventSettings } from './eventSettings.js';

let deps: Promise<EventDeps> | undefined;

/**
 * The process-wide event dependencies for the BlobCreated and kick functions: built on first use
 * from the environment (loadEventSettings) on top of the app's storage, ledger, notifier and
 * logger, and kept for the life of the worker. A failed build is retried on the next call.
 */
export function getEventDeps(): Promise<EventDeps> {
  deps ??= (async () => {
    const app = await getApp();
    return createEventDeps({ settings: loadEventSettings(), storage: app.settings.storage, ledger: app.ledger, notifier: app.notifier, logger: app.logger });
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  });
  return deps;
}

/** For tests and the local runner: use these dependencies instead of building them from the environment. */
export function setEventDeps(instance: EventDeps | undefined): void {
  deps = instance ? Promise.resolve(instance) : undefined;
}
