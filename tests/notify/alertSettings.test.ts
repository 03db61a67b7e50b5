import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../shared/config/settings.js';
import { AlertNotifier } from '../../shared/notify/alertNotifier.js';
import { type AlertSettings, loadAlertSettings } from '../../shared/notify/alertSettings.js';
import { createNotifier } from '../../shared/notify/createNotifier.js';
import { LogNotifier } from '../../shared/notify/notifier.js';
import { captureLogger } from '../support/alertStandIns.js';

/** Alert settings from the environment: defaults, one clear problem per variable, no secret echoed. */
const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadAlertSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    return (err as SettingsError).problems;
  }
  throw new Error('expected a SettingsError');
};

describe('loadAlertSettings', () => {
  it('defaults to no channel, 60 minute throttle, no success summaries, 10 s timeout, 2 retries', () => {
    expect(loadAlertSettings({})).toEqual({
      email: null,
      webhook: null,
      throttleMs: 3_600_000,
      throttleTable: 'soundlakealerts',
      onSuccess: false,
      timeoutMs: 10_000,
      retries: 2,
      backoffMs: 1000,
    } satisfies AlertSettings);
  });

  it('reads both channels', () => {
    const s = loadAlertSettings({
      ALERT_EMAIL_TO: ' oncall@contoso.com ,owner@contoso.com,',
      ALERT_EMAIL_FROM: 'DoNotReply@alerts.contoso.com',
      ACS_ENDPOINT: 'https://soundlake-acs.europe.communication.azure.com/',
      ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/xyz',
      ALERT_THROTTLE_MINUTES: '15',
      ALERT_ON_SUCCESS: 'true',
      ALERT_TIMEOUT_SECONDS: '2.5',
      ALERT_RETRIES: '0',
    });
    expect(s.email).toEqual({
      to: ['oncall@contoso.com', 'owner@contoso.com'],
      from: 'DoNotReply@alerts.contoso.com',
      acs: { endpoint: 'https://soundlake-acs.europe.communication.azure.com' },
    });
    // Slack told apart by host; Teams Workflows URLs likewise.
    expect(s.webhook).toEqual({ url: 'https://hooks.slack.com/services/T0/B0/xyz', kind: 'slack' });
    expect(loadAlertSettings({ ALERT_WEBHOOK_URL: 'https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s' }).webhook?.kind).toBe('teams');
    expect([s.throttleMs, s.onSuccess, s.timeoutMs, s.retries]).toEqual([900_000, true, 2500, 0]);
  });

  it('names the variable of every problem', () => {
    expect(
      problemsOf({ ALERT_THROTTLE_MINUTES: 'hourly', ALERT_RETRIES: '-1', ALERT_TIMEOUT_SECONDS: '0', ALERT_ON_SUCCESS: 'maybe', ALERT_WEBHOOK_KIND: 'discord' }),
    ).toEqual([
      'ALERT_WEBHOOK_KIND: must be teams or slack',
      'ALERT_THROTTLE_MINUTES: must be a number of minutes',
      'ALERT_ON_SUCCESS: must be true or false',
      'ALERT_TIMEOUT_SECONDS: must be more than 0',
      'ALERT_RETRIES: must be 0 or more',
    ]);
    expect(problemsOf({ ALERT_EMAIL_TO: 'oncall@contoso.com, not-an-address' })).toEqual([
      'ALERT_EMAIL_TO: "not-an-address" is not an email address',
      'ALERT_EMAIL_FROM: required when ALERT_EMAIL_TO is set (a sender address of a domain connected to the ACS resource)',
      'ACS_ENDPOINT: required when ALERT_EMAIL_TO is set (or ACS_CONNECTION_STRING for local use)',
    ]);
    expect(problemsOf({ ALERT_EMAIL_FROM: 'DoNotReply@alerts.contoso.com' })).toEqual([
      'ALERT_EMAIL_FROM: set, but ALERT_EMAIL_TO is not: say who receives alert email, or remove ALERT_EMAIL_FROM',
    ]);
    expect(problemsOf({ ALERT_WEBHOOK_URL: 'https://example.com/hook' })).toEqual(['ALERT_WEBHOOK_KIND: required (teams or slack): the host example.com does not tell']);
    expect(problemsOf({ ALERT_EMAIL_TO: 'a@contoso.com', ALERT_EMAIL_FROM: 'b@contoso.com', ACS_ENDPOINT: 'http://acs.contoso.com' })).toEqual([
      'ACS_ENDPOINT: must be the https endpoint of the Communication Services resource, e.g. https://<name>.communication.azure.com',
    ]);
  });

  it('never echoes a secret value', () => {
    const problems = problemsOf({
      ALERT_EMAIL_TO: 'a@contoso.com',
      ALERT_EMAIL_FROM: 'b@contoso.com',
      ACS_CONNECTION_STRING: 'endpoint=ftp://x;accesskey=T0pS3cr3t',
      ALERT_WEBHOOK_URL: 'http://hooks.slack.com/services/T0/B0/T0pS3cr3tPath',
    });
    expect(problems).toEqual([
      'ACS_CONNECTION_STRING: must look like endpoint=https://<name>.communication.azure.com/;accesskey=<key> (value not shown)',
      'ALERT_WEBHOOK_URL: must be an https URL (value not shown)',
    ]);
    expect(problems.join('\n')).not.toContain('T0pS3cr3t');
  });
});

describe('createNotifier', () => {
  const storage = { connectionString: 'UseDevelopmentStorage=true' };

  it('is the LogNotifier when no channel is configured', () => {
    const { logger } = captureLogger();
    expect(createNotifier(loadAlertSettings({}), { logger, storage })).toBeInstanceOf(LogNotifier);
  });

  it('is an AlertNotifier with the configured channels otherwise, its budget bounded by the settings', () => {
    const { logger } = captureLogger();
    const notifier = createNotifier(
      loadAlertSettings({ ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/xyz', ALERT_TIMEOUT_SECONDS: '10', ALERT_RETRIES: '2' }),
      { logger, storage },
    );
    expect(notifier).toBeInstanceOf(AlertNotifier);
    // Throttle check 10 s + 3 attempts of (10 s + 0.1 s grace) + pauses 1 s + 2 s + handing a claim back 10 s + 0.25 s.
    expect((notifier as AlertNotifier).budgetMs).toBe(10_000 + 3 * 10_100 + 3000 + 10_000 + 250);
  });
});
