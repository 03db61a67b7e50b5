import { app, type EventGridFunctionOptions, type HttpFunctionOptions, type StorageQueueFunctionOptions, type TimerFunctionOptions } from '@azure/functions';

/**
 * Every function of the app, as registered with the Functions host: name, trigger and the very
 * options object the host gets (route and methods, `%SETTING%` queue names and schedules,
 * handler). The local runner serves exactly these, so a new function or a renamed queue is the
 * same in Azure and on a laptop.
 */
export type FunctionRegistration =
  | { name: string; trigger: 'http'; options: HttpFunctionOptions }
  | { name: string; trigger: 'storageQueue'; options: StorageQueueFunctionOptions }
  | { name: string; trigger: 'timer'; options: TimerFunctionOptions }
  | { name: string; trigger: 'eventGrid'; options: EventGridFunctionOptions };

const registered = new Map<string, FunctionRegistration>();

function add(registration: FunctionRegistration): void {
  if (registered.has(registration.name)) throw new Error(`function ${registration.name} is registered twice`);
  registered.set(registration.name, registration);
}

/**
 * The one way a file under functions/ registers its function: `app.http` (or storageQueue,
 * timer, eventGrid) with the host, and the same registration in the list the local runner serves.
 */
export const register = {
  http(name: string, options: HttpFunctionOptions): void {
    add({ name, trigger: 'http', options });
    app.http(name, options);
  },
  storageQueue(name: string, options: StorageQueueFunctionOptions): void {
    add({ name, trigger: 'storageQueue', options });
    app.storageQueue(name, options);
  },
  timer(name: string, options: TimerFunctionOptions): void {
    add({ name, trigger: 'timer', options });
    app.timer(name, options);
  },
  eventGrid(name: string, options: EventGridFunctionOptions): void {
    add({ name, trigger: 'eventGrid', options });
    app.eventGrid(name, options);
  },
};

/** The functions registered so far in this process (all of them once functions/index.js is loaded), in registration order. */
export function registeredFunctions(): FunctionRegistration[] {
  return [...registered.values()];
}
