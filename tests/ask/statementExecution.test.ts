import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patAuth } from '../../shared/databricks/databricksAuth.js';
import { DatabricksClient } from '../../shared/databricks/databricksClient.js';
import { SqlExecutionError } from '../../shared/ask/sqlEndpoint.js';
import { createStatementExecutionEndpoint } from '../../shared/ask/statementExecutionEndpoint.js';
import { loadAskSettings } from '../../shared/ask/askSettings.js';
import { createAskService } from '../../shared/ask/createAskService.js';
import { createLogger } from '../../shared/logging/logger.js';
import { HttpStandIn, type RecordedRequest, type Reply } from '../support/alertStandIns.js';

/**
 * The Databricks SQL adapter against a loopback server that answers as the Statement Execution
 * API 2.0 documents: submit (statement_id, PENDING/RUNNING), poll, the first chunk inline with
 * the manifest, further chunks by next_chunk_index, cancel. The fake token is built at run time.
 */
const token = ['dapi', 'f'.repeat(32)].join('');
let api: HttpStandIn;
let script: (req: RecordedRequest) => Reply;

const json = (body: unknown, status = 200): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const manifest = {
  format: 'JSON_ARRAY',
  schema: { column_count: 3, columns: [
    { name: 'artist_name', type_name: 'STRING', type_text: 'STRING', position: 0 },
    { name: 'streams', type_name: 'LONG', type_text: 'BIGINT', position: 1 },
    { name: 'share', type_name: 'DOUBLE', type_text: 'DOUBLE', position: 2 },
  ] },
  total_chunk_count: 2,
  total_row_count: 3,
  truncated: false,
};

function endpoint(overrides: { pollIntervalMs?: number } = {}) {
  const client = new DatabricksClient({ host: api.origin, auth: patAuth(token), maxRetries: 2, baseDelayMs: 1, sleep: async () => undefined });
  return createStatementExecutionEndpoint({ client, warehouseId: 'abc123def456', catalog: 'soundlake', schema: 'gold', waitTimeoutSeconds: 5, pollIntervalMs: overrides.pollIntervalMs ?? 1 });
}

beforeAll(async () => {
  api = await HttpStandIn.start((req) => script(req));
});
afterAll(async () => {
  await api.close();
});

describe('the Statement Execution adapter', () => {
  it('submits, polls, fetches every chunk, and types the JSON_ARRAY strings from the manifest', async () => {
    api.reset();
    let polls = 0;
    script = (req) => {
      if (req.method === 'POST' && req.path === '/api/2.0/sql/statements') return json({ statement_id: 'st-1', status: { state: 'PENDING' } });
      if (req.method === 'GET' && req.path === '/api/2.0/sql/statements/st-1') {
        polls++;
        if (polls === 1) return { status: 503, body: 'busy' };
        if (polls === 2) return json({ statement_id: 'st-1', status: { state: 'RUNNING' } });
        return json({ statement_id: 'st-1', status: { state: 'SUCCEEDED' }, manifest, result: { chunk_index: 0, row_offset: 0, row_count: 2, data_array: [['ACDC', '37', '0.25'], ['Mø', '36', null]], next_chunk_index: 1, next_chunk_internal_link: '/api/2.0/sql/statements/st-1/result/chunks/1' } });
      }
      if (req.method === 'GET' && req.path === '/api/2.0/sql/statements/st-1/result/chunks/1') return json({ chunk_index: 1, row_offset: 2, row_count: 1, data_array: [['Björk', '9007199254740993', '1.5']] });
      return json({ error_code: 'NOT_FOUND', message: `no ${req.method} ${req.path}` }, 404);
    };
    const res = await endpoint().execute('SELECT * FROM (SELECT 1) AS soundlake_answer LIMIT 11', { timeoutMs: 10_000, maxRows: 11, runId: 'ask-x' });
    expect(res.columns).toEqual([{ name: 'artist_name', type: 'string' }, { name: 'streams', type: 'bigint' }, { name: 'share', type: 'double' }]);
    expect(res.rows).toEqual([['ACDC', 37, 0.25], ['Mø', 36, null], ['Björk', '9007199254740993', 1.5]]);

    const submit = JSON.parse(api.requests[0]!.body) as Record<string, unknown>;
    expect(submit).toEqual({
      statement: 'SELECT * FROM (SELECT 1) AS soundlake_answer LIMIT 11',
      warehouse_id: 'abc123def456',
      catalog: 'soundlake',
      schema: 'gold',
      disposition: 'INLINE',
      format: 'JSON_ARRAY',
      row_limit: 11,
      wait_timeout: '5s',
      on_wait_timeout: 'CONTINUE',
    });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/2.0/sql/statements',
      'GET /api/2.0/sql/statements/st-1',
      'GET /api/2.0/sql/statements/st-1',
      'GET /api/2.0/sql/statements/st-1',
      'GET /api/2.0/sql/statements/st-1/result/chunks/1',
    ]);
    expect(api.requests.every((r) => r.headers.authorization === `Bearer ${token}`)).toBe(true);
  });

  it('cancels a statement that outlives its deadline', async () => {
    api.reset();
    script = (req) => {
      if (req.method === 'POST' && req.path === '/api/2.0/sql/statements') return json({ statement_id: 'st-2', status: { state: 'RUNNING' } });
      if (req.method === 'GET') return json({ statement_id: 'st-2', status: { state: 'RUNNING' } });
      if (req.method === 'POST' && req.path === '/api/2.0/sql/statements/st-2/cancel') return json({});
      return json({}, 404);
    };
    const err = await endpoint({ pollIntervalMs: 20 }).execute('SELECT 1', { timeoutMs: 150, maxRows: 1, runId: 'ask-y' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlExecutionError);
    expect(err).toMatchObject({ failure: 'timeout', message: expect.stringContaining('cancelled (statement st-2)') });
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/2.0/sql/statements/st-2/cancel' });
  });

  it('passes the warehouse\'s own error to the user, and never the token', async () => {
    api.reset();
    script = (req) => (req.method === 'POST'
      ? json({ statement_id: 'st-3', status: { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: '[UNRESOLVED_COLUMN] A column `plays` cannot be resolved.' } } })
      : json({}, 404));
    const err = (await endpoint().execute('SELECT plays FROM gold.fact_stream', { timeoutMs: 5_000, maxRows: 1, runId: 'ask-z' }).catch((e: unknown) => e)) as SqlExecutionError;
    expect(err).toMatchObject({ failure: 'rejected', message: expect.stringContaining('UNRESOLVED_COLUMN') });
    expect(err.message).not.toContain(token);

    script = () => json({ error_code: 'PERMISSION_DENIED', message: 'User does not have CAN_USE on warehouse' }, 403);
    const denied = (await endpoint().execute('SELECT 1', { timeoutMs: 5_000, maxRows: 1, runId: 'ask-z' }).catch((e: unknown) => e)) as SqlExecutionError;
    expect(denied).toMatchObject({ failure: 'rejected', message: expect.stringContaining('PERMISSION_DENIED') });
  });

  it("reads the schema the bundle deployed (a development target's dev_<user>_gold), in the guard and the statement", async () => {
    api.reset();
    script = (req) => {
      if (req.method === 'POST' && req.path === '/api/2.0/sql/statements') {
        return json({ statement_id: 'st-dev', status: { state: 'SUCCEEDED' }, manifest: { ...manifest, total_chunk_count: 1, total_row_count: 1 }, result: { chunk_index: 0, row_offset: 0, row_count: 1, data_array: [['ACDC', '37', '0.25']] } });
      }
      return json({ error_code: 'NOT_FOUND', message: `no ${req.method} ${req.path}` }, 404);
    };
    const settings = loadAskSettings({ ASK_ENDPOINT: 'databricks', DATABRICKS_HOST: api.origin, DATABRICKS_TOKEN: token, DATABRICKS_WAREHOUSE_ID: 'abc123def456', DATABRICKS_CATALOG: 'soundlake_dev', DATABRICKS_GOLD_SCHEMA: 'dev_jane_doe_gold' });
    const service = await createAskService(settings, createLogger({ level: 'silent' }));
    const ok = await service.ask({ sql: 'SELECT artist_name, 1 AS streams, 0.5 AS share FROM dev_jane_doe_gold.dim_artist' });
    expect(ok.status).toBe('answered');
    const submit = JSON.parse(api.requests[0]!.body) as Record<string, unknown>;
    expect(submit).toMatchObject({ catalog: 'soundlake_dev', schema: 'dev_jane_doe_gold' });
    expect(String(submit.statement)).toContain('dev_jane_doe_gold.dim_artist');
    // The production name does not exist in this deployment: refused before it reaches the warehouse.
    const before = api.requests.length;
    const refused = await service.ask({ sql: 'SELECT artist_name FROM gold.dim_artist' });
    expect(refused.status).toBe('refused');
    expect(refused.error?.message).toMatch(/schema gold is not allowed; only dev_jane_doe_gold tables/);
    expect(api.requests.length).toBe(before);
  });
});

