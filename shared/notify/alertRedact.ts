import { redactSecrets } from '../logging/redact.js';
import type { Notice } from './notifier.js';

/**
 * What redactSecrets masks, plus what alert text and alert errors tend to carry besides: ACS
 * access keys, Functions keys and secrets in query strings, and webhook URLs whose path is the
 * credential (Slack).
 */
const MORE: [RegExp, string][] = [
  [/(accesskey=)[^;\s]+/gi, '$1[redacted]'],
  [/([?&](?:code|sig|client_secret|api[-_]?key|token|access_token)=)[^&\s]+/gi, '$1[redacted]'],
  [/(https?:\/\/hooks\.slack\.com\/)[^\s"'<>]+/gi, '$1[redacted]'],
];

export function redactAlertText(text: string): string {
  let out = redactSecrets(text);
  for (const [re, replacement] of MORE) out = out.replace(re, replacement);
  return out;
}

/** The notice with every free-text field masked: what channels and logs get to see. */
export function redactNotice(notice: Notice): Notice {
  return {
    ...notice,
    runId: redactAlertText(notice.runId),
    subject: redactAlertText(notice.subject),
    title: redactAlertText(notice.title),
    detail: redactAlertText(notice.detail),
    ...(notice.lookAt !== undefined ? { lookAt: redactAlertText(notice.lookAt) } : {}),
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
  return redactAlertText(message);
}
