import type { Alert } from './alertChannel.js';

/**
 * What a person reads, per channel. Pure functions of the alert (whose notice is already
 * redacted), so the tests can state the exact bodies.
 */

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').trim();

/** The facts every channel shows, in order. */
export function alertFacts(alert: Alert): { title: string; value: string }[] {
  const n = alert.notice;
  const facts = [
    { title: 'Run', value: n.runId },
    { title: n.subject.startsWith('_') ? 'Subject' : 'Table', value: n.subject },
    { title: 'Kind', value: n.kind },
    { title: 'Severity', value: n.severity },
    { title: 'At', value: alert.at },
  ];
  if (alert.suppressed > 0) {
    const runs = alert.suppressedRuns?.length ? ` (runs ${alert.suppressedRuns.join(', ')}${alert.suppressedRuns.length >= 50 ? ', ...' : ''})` : '';
    facts.push({ title: 'Repeats suppressed', value: `${alert.suppressed} since the last alert of this kind${runs}` });
  }
  return facts;
}

/** "Error" for failures, "Detail" for warnings and summaries. */
export const detailLabel = (alert: Alert): string => (alert.notice.severity === 'error' ? 'Error' : 'Detail');

/** One line for subjects, notification previews and logs: `[soundlake] ERROR: ingestion of orders failed`. */
export function alertHeadline(alert: Alert): string {
  return truncate(oneLine(`[soundlake] ${alert.notice.severity.toUpperCase()}: ${alert.notice.title}`), 200);
}

// Slack -----------------------------------------------------------------------------------

/** Slack's mrkdwn treats &, < and > as control characters. */
const slackEscape = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const slackCode = (text: string): string => '```' + slackEscape(text.replaceAll('```', "'''")) + '```';

const SLACK_ICON: Record<string, string> = { error: ':rotating_light:', warning: ':warning:', info: ':white_check_mark:' };

/** Slack incoming-webhook payload: Block Kit `blocks` plus `text` for notifications and old clients. */
export function slackMessage(alert: Alert): Record<string, unknown> {
  const n = alert.notice;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(oneLine(`${SLACK_ICON[n.severity] ?? ''} ${n.title}`), 150), emoji: true } },
    {
      type: 'section',
      fields: alertFacts(alert).map((f) => ({ type: 'mrkdwn', text: truncate(`*${f.title}*\n${slackEscape(f.value)}`, 2000) })),
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*${detailLabel(alert)}*\n${slackCode(truncate(n.detail, 2800))}` } },
  ];
  if (n.lookAt) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(`*Where to look*\n${slackEscape(n.lookAt)}`, 3000) } });
  return { text: truncate(`${alertHeadline(alert)} (run ${n.runId}, ${n.subject})`, 3000), blocks };
}

// Teams -----------------------------------------------------------------------------------

const TEAMS_COLOR: Record<string, string> = { error: 'Attention', warning: 'Warning', info: 'Good' };

/**
 * An Adaptive Card in the `message` envelope: what Teams Workflows ("Post to a channel when a
 * webhook request is received") and the older incoming webhooks both accept. Version 1.4, the
 * highest Workflows renders everywhere.
 */
export function teamsMessage(alert: Alert): Record<string, unknown> {
  const n = alert.notice;
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: truncate(oneLine(n.title), 300), size: 'Medium', weight: 'Bolder', color: TEAMS_COLOR[n.severity] ?? 'Default', wrap: true },
    { type: 'FactSet', facts: alertFacts(alert) },
    { type: 'TextBlock', text: detailLabel(alert), weight: 'Bolder', wrap: true },
    { type: 'TextBlock', text: truncate(n.detail, 4000), fontType: 'Monospace', wrap: true },
  ];
  if (n.lookAt) body.push({ type: 'TextBlock', text: 'Where to look', weight: 'Bolder', wrap: true }, { type: 'TextBlock', text: truncate(n.lookAt, 2000), wrap: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body,
        },
      },
    ],
  };
}

// Email -----------------------------------------------------------------------------------

const htmlEscape = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

export interface EmailContent {
  subject: string;
  plainText: string;
  html: string;
}

/** Subject, plain text and HTML of an alert email. */
export function emailContent(alert: Alert): EmailContent {
  const n = alert.notice;
  const facts = alertFacts(alert);
  const detail = truncate(n.detail, 20_000);
  const plain = [
    n.title,
    '',
    ...facts.map((f) => `${f.title}: ${f.value}`),
    '',
    `${detailLabel(alert)}:`,
    detail,
    ...(n.lookAt ? ['', 'Where to look:', n.lookAt] : []),
  ].join('\n');
  const html = [
    `<h2>${htmlEscape(n.title)}</h2>`,
    '<table>',
    ...facts.map((f) => `<tr><th align="left">${htmlEscape(f.title)}</th><td>${htmlEscape(f.value)}</td></tr>`),
    '</table>',
    `<h3>${detailLabel(alert)}</h3>`,
    `<pre>${htmlEscape(detail)}</pre>`,
    ...(n.lookAt ? ['<h3>Where to look</h3>', `<p>${htmlEscape(n.lookAt)}</p>`] : []),
  ].join('\n');
  return { subject: alertHeadline(alert), plainText: plain, html };
}
