import { z } from 'zod';
import { SettingsError } from '../config/settingsError.js';

export type WebhookKind = 'teams' | 'slack';

/** How email reaches Azure Communication Services: managed identity in Azure, a connection string locally. */
export type AcsAccess = { endpoint: string } | { connectionString: string };

/**
 * Where alerts go and how hard to try. Parsed once from the environment by loadAlertSettings;
 * like Settings, it carries secrets (the connection string, the webhook URL) and is never logged.
 */
export interface AlertSettings {
  /** ALERT_EMAIL_TO / ALERT_EMAIL_FROM / ACS_ENDPOINT or ACS_CONNECTION_STRING; null when ALERT_EMAIL_TO is unset. */
  email: { to: string[]; from: string; acs: AcsAccess } | null;
  /** ALERT_WEBHOOK_URL / ALERT_WEBHOOK_KIND; null when ALERT_WEBHOOK_URL is unset. */
  webhook: { url: string; kind: WebhookKind } | null;
  /** ALERT_THROTTLE_MINUTES (default 60): the same notice key is sent at most once per period; 0 turns throttling off. */
  throttleMs: number;
  /** ALERT_THROTTLE_TABLE (default soundlakealerts): the Table Storage table holding the throttle state. */
  throttleTable: string;
  /** ALERT_ON_SUCCESS (default false): send 'run-summary' notices too. */
  onSuccess: boolean;
  /** ALERT_TIMEOUT_SECONDS (default 10): deadline of one delivery attempt of one channel, and of the throttle check. */
  timeoutMs: number;
  /** ALERT_RETRIES (default 2): attempts after the first for a failed or timed-out channel. */
  retries: number;
  /** First pause between attempts, doubled after each (not an environment variable; 1 s). */
  backoffMs: number;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off', ''];
const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => TRUE.includes(v) || FALSE.includes(v), 'must be true or false')
  .transform((v) => TRUE.includes(v));

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

const envSchema = z.object({
  ALERT_EMAIL_TO: optionalText,
  ALERT_EMAIL_FROM: optionalText.pipe(z.email('must be an email address (the verified sender, e.g. DoNotReply@<domain>)').optional()),
  ACS_ENDPOINT: optionalText,
  ACS_CONNECTION_STRING: optionalText,
  ALERT_WEBHOOK_URL: optionalText,
  ALERT_WEBHOOK_KIND: optionalText.pipe(z.enum(['teams', 'slack'], 'must be teams or slack').optional()),
  ALERT_THROTTLE_MINUTES: optionalText.pipe(z.coerce.number<string | undefined>('must be a number of minutes').min(0, 'must be 0 or more').max(10_080, 'must be at most a week (10080)').default(60)),
  ALERT_THROTTLE_TABLE: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name (3-63 letters and digits)')
      .default('soundlakealerts'),
  ),
  ALERT_ON_SUCCESS: optionalText.pipe(flag.optional()),
  ALERT_TIMEOUT_SECONDS: optionalText.pipe(z.coerce.number<string | undefined>('must be a number of seconds').positive('must be more than 0').max(120, 'must be at most 120').default(10)),
  ALERT_RETRIES: optionalText.pipe(z.coerce.number<string | undefined>('must be a whole number').int('must be a whole number').min(0, 'must be 0 or more').max(10, 'must be at most 10').default(2)),
});

const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';

/** The URL, if it is http(s) and https unless it points at this machine (local stand-ins). */
function parseServiceUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return url;
  } catch {
    // falls through
  }
  return undefined;
}

/** Teams and Slack webhooks can be told apart by host; anything else needs ALERT_WEBHOOK_KIND. */
function kindFromHost(host: string): WebhookKind | undefined {
  if (host === 'hooks.slack.com' || host.endsWith('.slack.com')) return 'slack';
  if (/(\.logic\.azure\.com|\.webhook\.office\.com|\.powerplatform\.com|\.powerautomate\.com)$/.test(host)) return 'teams';
  return undefined;
}

const CONNECTION_STRING = /^endpoint=([^;]+);accesskey=(.+)$/i;

/**
 * Alert settings from environment variables. Every problem names its variable; values that may
 * be secret (connection string, webhook URL) are never echoed back.
 */
export function loadAlertSettings(env: NodeJS.ProcessEnv = process.env): AlertSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const problems: string[] = [];

  let email: AlertSettings['email'] = null;
  const to = (e.ALERT_EMAIL_TO ?? '')
    .split(/[,;]/)
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  for (const address of to) if (!z.email().safeParse(address).success) problems.push(`ALERT_EMAIL_TO: "${address}" is not an email address`);
  if (e.ALERT_EMAIL_TO !== undefined && to.length === 0) problems.push('ALERT_EMAIL_TO: must list at least one address (comma-separated)');
  if (to.length > 0) {
    if (!e.ALERT_EMAIL_FROM) problems.push('ALERT_EMAIL_FROM: required when ALERT_EMAIL_TO is set (a sender address of a domain connected to the ACS resource)');
    let acs: AcsAccess | undefined;
    if (e.ACS_ENDPOINT && e.ACS_CONNECTION_STRING) {
      problems.push('ACS_ENDPOINT: set either ACS_ENDPOINT (managed identity, in Azure) or ACS_CONNECTION_STRING (local only), not both');
    } else if (e.ACS_ENDPOINT) {
      const url = parseServiceUrl(e.ACS_ENDPOINT);
      if (!url || url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '')) {
        problems.push('ACS_ENDPOINT: must be the https endpoint of the Communication Services resource, e.g. https://<name>.communication.azure.com');
      } else {
        acs = { endpoint: url.origin };
      }
    } else if (e.ACS_CONNECTION_STRING) {
      const m = CONNECTION_STRING.exec(e.ACS_CONNECTION_STRING);
      if (!m || !parseServiceUrl(m[1]!)) {
        problems.push('ACS_CONNECTION_STRING: must look like endpoint=https://<name>.communication.azure.com/;accesskey=<key> (value not shown)');
      } else {
        acs = { connectionString: e.ACS_CONNECTION_STRING };
      }
    } else {
      problems.push('ACS_ENDPOINT: required when ALERT_EMAIL_TO is set (or ACS_CONNECTION_STRING for local use)');
    }
    if (acs && e.ALERT_EMAIL_FROM) email = { to, from: e.ALERT_EMAIL_FROM, acs };
  } else {
    for (const name of ['ALERT_EMAIL_FROM', 'ACS_ENDPOINT', 'ACS_CONNECTION_STRING'] as const) {
      if (e[name]) problems.push(`${name}: set, but ALERT_EMAIL_TO is not: say who receives alert email, or remove ${name}`);
    }
  }

  let webhook: AlertSettings['webhook'] = null;
  if (e.ALERT_WEBHOOK_URL) {
    const url = parseServiceUrl(e.ALERT_WEBHOOK_URL);
    if (!url) {
      problems.push('ALERT_WEBHOOK_URL: must be an https URL (value not shown)');
    } else {
      const kind = e.ALERT_WEBHOOK_KIND ?? kindFromHost(url.hostname);
      if (!kind) problems.push(`ALERT_WEBHOOK_KIND: required (teams or slack): the host ${url.hostname} does not tell`);
      else webhook = { url: url.href, kind };
    }
  } else if (e.ALERT_WEBHOOK_KIND) {
    problems.push('ALERT_WEBHOOK_KIND: set, but ALERT_WEBHOOK_URL is not');
  }

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    email,
    webhook,
    throttleMs: Math.round(e.ALERT_THROTTLE_MINUTES * 60_000),
    throttleTable: e.ALERT_THROTTLE_TABLE,
    onSuccess: e.ALERT_ON_SUCCESS ?? false,
    timeoutMs: Math.round(e.ALERT_TIMEOUT_SECONDS * 1000),
    retries: e.ALERT_RETRIES,
    backoffMs: 1000,
  };
}
