import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../shared/config/settings.js';
import { loadEventSettings } from '../../shared/events/eventSettings.js';

const base = { DATABRICKS_HOST: 'adb-1234567890123456.7.azuredatabricks.net', DATABRICKS_JOB_ID: '123' };
const problems = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadEventSettings(env);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
};

describe('event settings', () => {
  it('defaults: 120 s window, the medallion job, Entra auth, completing APIs', () => {
    expect(loadEventSettings(base)).toEqual({
      bronzeContainer: 'bronze',
      windowMs: 120_000,
      kickTable: 'soundlakekicks',
      kickQueue: 'soundlake-kick',
      apis: ['PutBlob', 'PutBlockList', 'FlushWithClose'],
      retentionDays: 14,
      maxDequeueCount: 5,
      maxRetryAfterSeconds: 3_600,
      maxDeferrals: 10,
      databricks: { host: base.DATABRICKS_HOST, jobId: 123, timeoutMs: 30_000, maxRetries: 5 },
    });
  });

  it('a PAT and other completing APIs', () => {
    const s = loadEventSettings({ DATABRICKS_HOST: 'http://127.0.0.1:8123', DATABRICKS_TOKEN: 'dapi-x', DATABRICKS_JOB_ID: '77', KICK_APIS: 'PutBlockList, CopyBlob' });
    expect(s.databricks).toMatchObject({ token: 'dapi-x', jobId: 77 });
    expect(s.apis).toEqual(['PutBlockList', 'CopyBlob']);
  });

  it('errors name the variable', () => {
    expect(problems({ DATABRICKS_JOB_ID: '1' })).toEqual([expect.stringMatching(/^DATABRICKS_HOST: required/)]);
    expect(problems({ DATABRICKS_HOST: '  ', DATABRICKS_JOB_ID: '1' })).toEqual([expect.stringMatching(/^DATABRICKS_HOST: required/)]);
    expect(problems({ DATABRICKS_HOST: 'x' })).toEqual(['DATABRICKS_JOB_ID: required: the id of the medallion job of the bundle (silver, then gold)']);
    // The retired silver-job-then-pipeline settings alone (no medallion job) say what is missing.
    expect(problems({ DATABRICKS_HOST: 'x', DATABRICKS_KICK_MODE: 'job-then-pipeline', DATABRICKS_SILVER_JOB_ID: '77' })).toEqual(['DATABRICKS_JOB_ID: required: the id of the medallion job of the bundle (silver, then gold)']);
    expect(problems({ ...base, DATABRICKS_JOB_ID: 'medallion' })).toEqual(['DATABRICKS_JOB_ID: must be a Databricks job id (digits)']);
    expect(problems({ ...base, KICK_WINDOW_SECONDS: '0' })[0]).toMatch(/^KICK_WINDOW_SECONDS: /);
    expect(problems({ ...base, KICK_RETENTION_DAYS: '1' })).toEqual([expect.stringMatching(/^KICK_RETENTION_DAYS: /)]);
    expect(problems({ ...base, KICK_APIS: 'PutBlockList,CreateFile' })).toEqual(['KICK_APIS: must list some of PutBlob, PutBlockList, FlushWithClose, CopyBlob']);
    expect(problems({ ...base, KICK_QUEUE: 'Kick_Queue' })[0]).toMatch(/^KICK_QUEUE: must be a queue name/);
  });
});
