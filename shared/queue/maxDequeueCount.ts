import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingsError } from '../config/settingsError.js';

/**
 * How many times the Functions host delivers a queue message before it moves the message to
 * `<queue>-poison`: host.json `extensions.queues.maxDequeueCount`, which an app setting
 * `AzureFunctionsJobHost__extensions__queues__maxDequeueCount` overrides (the documented way to
 * override any host.json value), else the extension's default of 5.
 *
 * A poison-queue trigger cannot see the attempts itself: the host sends the message's content to
 * the poison queue as a new message, whose dequeueCount (triggerMetadata.dequeueCount) counts
 * the poison function's own deliveries, 1 the first time. Every poisoned message was tried
 * exactly this many times, so the poison reports say this number.
 */
export const MAX_DEQUEUE_COUNT_SETTING = 'AzureFunctionsJobHost__extensions__queues__maxDequeueCount';
const EXTENSION_DEFAULT = 5;

/** host.json of the app: next to package.json, found upwards from this module (source or dist/). */
function hostJsonValue(): { value?: unknown; path?: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const path = join(dir, 'host.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      dir = dirname(dir);
      continue;
    }
    const json = JSON.parse(text) as { extensions?: { queues?: { maxDequeueCount?: unknown } } };
    return { value: json.extensions?.queues?.maxDequeueCount, path };
  }
  return {};
}

const valid = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000;

export function loadMaxDequeueCount(env: NodeJS.ProcessEnv = process.env): number {
  const setting = env[MAX_DEQUEUE_COUNT_SETTING];
  if (setting !== undefined && setting.trim() !== '') {
    const n = Number(setting);
    if (!valid(n)) throw new SettingsError([`${MAX_DEQUEUE_COUNT_SETTING}: must be a whole number from 1 to 1000, got ${JSON.stringify(setting)}`]);
    return n;
  }
  const { value, path } = hostJsonValue();
  if (value === undefined) return EXTENSION_DEFAULT;
  if (!valid(value)) throw new SettingsError([`${path}: extensions.queues.maxDequeueCount must be a whole number from 1 to 1000, got ${JSON.stringify(value)}`]);
  return value;
}
