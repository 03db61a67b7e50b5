import { describe, expect, it } from 'vitest';
import { loadAskSettings } from '../../shared/ask/askSettings.js';
import { SettingsError } from '../../shared/config/settingsError.js';

describe('question box settings', () => {
  it('defaults to the local endpoint and the SQL-only mode; empty settings count as unset', () => {
    const s = loadAskSettings({ ASK_LLM_BASE_URL: '', ASK_LLM_MODEL: '', ASK_LLM_API_KEY: '', DATABRICKS_TOKEN: '' });
    expect(s.endpoint).toEqual({ kind: 'local', host: '127.0.0.1', port: 10009, schema: 'gold' });
    expect(s.llm).toBeUndefined();
    expect(s).toMatchObject({ maxRows: 200, statementTimeoutMs: 60_000, maxAttempts: 2, hiddenColumns: ['dim_user.user_name'] });
  });

  it('names every missing or bad setting', () => {
    const err = (() => {
      try {
        loadAskSettings({ ASK_ENDPOINT: 'databricks', ASK_LLM_MODEL: 'gpt' });
      } catch (e) {
        return e as SettingsError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(SettingsError);
    expect(err.problems.join('\n')).toMatch(/DATABRICKS_HOST: required[\s\S]*DATABRICKS_WAREHOUSE_ID: required[\s\S]*ASK_LLM_BASE_URL and ASK_LLM_MODEL/);
    expect(() => loadAskSettings({ ASK_STATEMENT_TIMEOUT_SECONDS: '600' })).toThrow(/ASK_STATEMENT_TIMEOUT_SECONDS/);
    expect(() => loadAskSettings({ SQL_ENDPOINT_HOST: '10.0.0.5' })).toThrow(/SQL_ENDPOINT_HOST/);
  });

  it('reads a Databricks warehouse and an LLM', () => {
    const s = loadAskSettings({ ASK_ENDPOINT: 'databricks', DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net', DATABRICKS_WAREHOUSE_ID: 'abcdef123456', ASK_LLM_BASE_URL: 'https://example.openai.azure.com/openai/v1', ASK_LLM_MODEL: 'gpt-4.1-mini', ASK_LLM_KEY_HEADER: 'api-key' });
    expect(s.endpoint).toMatchObject({ kind: 'databricks', warehouseId: 'abcdef123456', catalog: 'soundlake', schema: 'gold' });
    expect(s.llm).toMatchObject({ model: 'gpt-4.1-mini', keyHeader: 'api-key', timeoutMs: 30_000, maxRetries: 3 });
  });
});
