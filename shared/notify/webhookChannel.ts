import { type Alert, type AlertChannel, ChannelError, type DeliveryReceipt, isRetryableStatus } from './alertChannel.js';
import { describeError, describeUrl } from './alertRedact.js';
import type { WebhookKind } from './alertSettings.js';
import { slackMessage, teamsMessage } from './messageFormat.js';

export interface WebhookChannelOptions {
  /** The webhook URL; its path or query is the credential, so it is never logged. */
  url: string;
  /** Message shape: Slack Block Kit, or a Teams Adaptive Card envelope. */
  kind: WebhookKind;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/**
 * Posts alerts to a chat webhook (Slack incoming webhook, Teams Workflows / incoming webhook).
 * One attempt per `send`; 408, 429 and 5xx are worth retrying, other 4xx are not.
 */
export function createWebhookChannel(options: WebhookChannelOptions): AlertChannel {
  const doFetch = options.fetch ?? fetch;
  const format = options.kind === 'slack' ? slackMessage : teamsMessage;
  return {
    name: `webhook:${options.kind}`,
    async send(alert: Alert, signal: AbortSignal): Promise<DeliveryReceipt> {
      let res: Response;
      try {
        res = await doFetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(format(alert)),
          signal,
        });
      } catch (err) {
        throw new ChannelError(`POST ${describeUrl(options.url)} failed: ${describeError(signal.aborted ? (signal.reason ?? err) : err, options.url)}`, true);
      }
      // Read (a little of) the body either way, so the connection is released.
      const text = await res.text().catch(() => '');
      if (!res.ok) {
        const said = describeError(text.slice(0, 300).trim(), options.url);
        throw new ChannelError(`POST ${describeUrl(options.url)} answered ${res.status}${said ? `: ${said}` : ''}`, isRetryableStatus(res.status), res.status);
      }
      return {};
    },
  };
}
