import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { expect, inject } from 'vitest';
import { AlertNotifier } from '../../shared/notify/alertNotifier.js';
import { loadAlertSettings } from '../../shared/notify/alertSettings.js';
import { createNotifier } from '../../shared/notify/createNotifier.js';
import type { Logger } from '../../shared/logging/logger.js';

/** A throttle table name of its own, so test files and tests never share throttle state. */
export const throttleTableName = (): string => `alerts${randomBytes(4).toString('hex')}`;

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private t = Date.parse('2026-03-01T06:00:00.000Z')) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface NotifierOptions {
  logger: Logger;
  now?: () => Date;
  /** Pause before the first retry (ms); small, so the tests are quick. */
  backoffMs?: number;
  throttleTable?: TableClient;
}

/**
 * An AlertNotifier built the way the app builds one: environment -> loadAlertSettings ->
 * createNotifier, with the suite's Azurite as the throttle's storage account.
 */
export function notifierFromEnv(env: Record<string, string>, options: NotifierOptions): AlertNotifier {
  const settings = { ...loadAlertSettings({ ALERT_THROTTLE_TABLE: throttleTableName(), ...env }), backoffMs: options.backoffMs ?? 20 };
  const notifier = createNotifier(settings, {
    logger: options.logger,
    storage: { connectionString: inject('storageConnectionString') },
    emailPollIntervalMs: 20,
    ...(options.now ? { now: options.now } : {}),
    ...(options.throttleTable ? { throttleTable: options.throttleTable } : {}),
  });
  expect(notifier).toBeInstanceOf(AlertNotifier);
  return notifier as AlertNotifier;
}

/** Milliseconds `work` took, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}
