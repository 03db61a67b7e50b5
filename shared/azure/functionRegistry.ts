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

type Trigger = FunctionRegistration['trigger'];
type OptionsOf<T extends Trigger> = Extract<FunctionRegistration, { trigger: T }>['options'];

function registrar<T extends Trigger>(trigger: T): (name: string, options: OptionsOf<T>) => void {
  return (name, options) => {
    if (registered.has(name)) throw new Error(`function ${name} is registered twice`);
    registered.set(name, { name, trigger, options } as FunctionRegistration);
    (app[trigger] as (name: string, options: OptionsOf<T>) => void)(name, options);
  };
}

/**
 * The one way a file under functions/ registers its function: `app.http` (or storageQueue,
 * timer, eventGrid) with the host, and the same registration in the list the local runner serves.
 */
export const register = {
  http: registrar('http'),
  storageQueue: registrar('storageQueue'),
  timer: registrar('timer'),
  eventGrid: registrar('eventGrid'),
};

/** The functions registered so far in this process (all of them once functions/index.js is loaded), in registration order. */
export function registeredFunctions(): FunctionRegistration[] {
  return [...registered.values()];
}
