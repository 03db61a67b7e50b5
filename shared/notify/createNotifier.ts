import type { TokenCredential } from '@azure/core-auth';
import type { TableClient } from '@azure/data-tables';
import { type StorageAccess, tableClient } from '../azure/storageClients.js';
import type { Logger } from '../logging/logger.js';
import type { AlertChannel } from './alertChannel.js';
import { AlertNotifier } from './alertNotifier.js';
import type { AlertSettings } from './alertSettings.js';
import { AlertThrottle } from './alertThrottle.js';
import { createEmailChannel } from './emailChannel.js';
import { LogNotifier, type Notifier } from './notifier.js';
import { createWebhookChannel } from './webhookChannel.js';

export interface NotifierDeps {
  logger: Logger;
  /** The storage account of the throttle table (the app's own: `settings.storage`). */
  storage: StorageAccess;
  /** Overrides the table built from `storage` and `settings.throttleTable` (tests). */
  throttleTable?: TableClient;
  /** For ACS_ENDPOINT; defaults to the process-wide DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Pause between email status polls (default 1000 ms). */
  emailPollIntervalMs?: number;
  now?: () => Date;
}

/**
 * The notifier the settings ask for: email and/or webhook channels behind the shared throttle,
 * or, with no channel configured, the plain LogNotifier. Builds no SDK client until the first
 * alert goes out.
 */
export function createNotifier(settings: AlertSettings, deps: NotifierDeps): Notifier {
  const channels: AlertChannel[] = [];
  if (settings.email) {
    channels.push(
      createEmailChannel({
        ...settings.email,
        ...(deps.credential ? { credential: deps.credential } : {}),
        ...(deps.emailPollIntervalMs !== undefined ? { pollIntervalMs: deps.emailPollIntervalMs } : {}),
      }),
    );
  }
  if (settings.webhook) channels.push(createWebhookChannel(settings.webhook));
  if (channels.length === 0) return new LogNotifier(deps.logger);
  const throttle =
    settings.throttleMs > 0 ? new AlertThrottle(deps.throttleTable ?? tableClient(deps.storage, settings.throttleTable), settings.throttleMs) : undefined;
  return new AlertNotifier({
    channels,
    logger: deps.logger,
    policy: { timeoutMs: settings.timeoutMs, retries: settings.retries, backoffMs: settings.backoffMs },
    onSuccess: settings.onSuccess,
    ...(throttle ? { throttle } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
}
