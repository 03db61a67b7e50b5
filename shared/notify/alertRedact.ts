import { redactSecrets } from '../logging/redact.js';
import type { Notice } from './notifier.js';

/** The notice with every free-text field masked: what channels and logs get to see. */
export function redactNotice(notice: Notice): Notice {
  return {
    ...notice,
    runId: redactSecrets(notice.runId),
    subject: redactSecrets(notice.subject),
    title: redactSecrets(notice.title),
    detail: redactSecrets(notice.detail),
    ...(notice.lookAt !== undefined ? { lookAt: redactSecrets(notice.lookAt) } : {}),
  };
}

/** A URL fit for a log line: scheme and host only (webhook paths and queries are credentials). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '[url]';
  }
}

/** An error message fit for a log line: secrets masked, and the channel's own URL (if given) cut to its host. */
export function describeError(err: unknown, url?: string): string {
  let message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  if (cause instanceof Error && cause.message && !message.includes(cause.message)) message += ` (${cause.message})`;
  if (url) message = message.split(url).join(describeUrl(url));
  return redactSecrets(message);
}
