import type { Notice } from './notifier.js';

/** A notice on its way out: already redacted, stamped, with the repeats the throttle held back. */
export interface Alert {
  /** A UUID per notice sent, the same across retries (ACS takes it as the Operation-Id, so a retried send is the same email). */
  id: string;
  notice: Notice;
  /** When the notifier decided to send it (ISO 8601). */
  at: string;
  /** Notices with the same key suppressed since this key was last sent. */
  suppressed: number;
  /** Their run ids (the first 50), so no run goes unnamed. */
  suppressedRuns?: string[];
}

export interface DeliveryReceipt {
  /** The service's id for the message, when it gives one (ACS operation id). */
  id?: string;
  /** Anything worth a log line, e.g. an email accepted whose final status was not seen in time. */
  note?: string;
}

/**
 * One way of telling a person (email, a chat webhook). `send` makes one attempt and must give up
 * when `signal` aborts; timeouts, retries and logging belong to the notifier.
 */
export interface AlertChannel {
  readonly name: string;
  send(alert: Alert, signal: AbortSignal): Promise<DeliveryReceipt>;
}

/** A failed attempt. `retryable` is false when trying again cannot help (400, 401, 403, 404, a rejected email). */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** Statuses worth another attempt: timeouts, throttling and server errors. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;
