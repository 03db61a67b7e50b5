import type { TokenCredential } from '@azure/core-auth';
import { EmailClient, type EmailMessage } from '@azure/communication-email';
import { azureCredential } from '../azure/credential.js';
import { type Alert, type AlertChannel, ChannelError, type DeliveryReceipt, isRetryableStatus } from './alertChannel.js';
import { describeError } from './alertRedact.js';
import type { AcsAccess } from './alertSettings.js';
import { emailContent } from './messageFormat.js';

export interface EmailChannelOptions {
  /** Recipients (all in `to`). */
  to: string[];
  /** Sender address of a domain connected to the ACS resource, e.g. DoNotReply@<guid>.azurecomm.net. */
  from: string;
  /** `{ endpoint }` with managed identity (Azure), or `{ connectionString }` (local stand-ins, tests). */
  acs: AcsAccess;
  /** Credential for `{ endpoint }`; defaults to the process-wide DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Pause between status polls of a sent email (default 1000 ms; the service's Retry-After wins when it sends one). */
  pollIntervalMs?: number;
}

const isPlainHttp = (acs: AcsAccess): boolean => 'connectionString' in acs && /endpoint=http:\/\//i.test(acs.connectionString);

/**
 * Alert email through Azure Communication Services. One `send` is one POST /emails:send (with
 * the alert id as Operation-Id, so a retried send is the same email to ACS) followed by polls of
 * the Operation-Location until the email is Succeeded or Failed.
 *
 * Once ACS has accepted an email it is not sent again: if its final status cannot be read
 * before the deadline, the attempt counts as delivered with a note. The SDK's own retries are
 * off; the notifier's bounded retries apply instead.
 */
export function createEmailChannel(options: EmailChannelOptions): AlertChannel {
  let client: EmailClient | undefined;
  const emailClient = (): EmailClient => {
    const clientOptions = { retryOptions: { maxRetries: 0 }, allowInsecureConnection: isPlainHttp(options.acs) };
    client ??=
      'connectionString' in options.acs
        ? new EmailClient(options.acs.connectionString, clientOptions)
        : new EmailClient(options.acs.endpoint, options.credential ?? azureCredential(), clientOptions);
    return client;
  };

  return {
    name: 'email',
    async send(alert: Alert, signal: AbortSignal): Promise<DeliveryReceipt> {
      const content = emailContent(alert);
      const message: EmailMessage = {
        senderAddress: options.from,
        recipients: { to: options.to.map((address) => ({ address })) },
        content: { subject: content.subject, plainText: content.plainText, html: content.html },
      };
      let accepted = false;
      let poller: Awaited<ReturnType<EmailClient['beginSend']>> | undefined;
      try {
        poller = await emailClient().beginSend(message, {
          operationId: alert.id,
          abortSignal: signal,
          updateIntervalInMs: options.pollIntervalMs ?? 1000,
          onResponse: (raw) => {
            if (raw.request.method === 'POST' && raw.status >= 200 && raw.status < 300) accepted = true;
          },
        });
        const result = await poller.pollUntilDone({ abortSignal: signal });
        if (result.status !== 'Succeeded') throw new ChannelError(`ACS reported the email ${result.status}`, false);
        return { id: result.id };
      } catch (err) {
        if (err instanceof ChannelError) throw err;
        const state = poller?.getOperationState();
        if (state?.status === 'failed' || state?.status === 'canceled') {
          throw new ChannelError(`ACS reported the email ${state.status}: ${describeError(err)}`, false);
        }
        if (accepted) return { id: alert.id, note: `accepted by ACS; final status not confirmed: ${describeError(signal.aborted ? (signal.reason ?? err) : err)}` };
        const status = (err as { statusCode?: number }).statusCode;
        const reason = describeError(signal.aborted ? (signal.reason ?? err) : err);
        throw new ChannelError(`POST /emails:send ${status ? `answered ${status}: ` : 'failed: '}${reason}`, status === undefined || isRetryableStatus(status), status);
      }
    },
  };
}
