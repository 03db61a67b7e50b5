import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { waitFor } from '../support/waitFor.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LagProbe } from '../../shared/console/tableLag.js';
import { createLogger } from '../../shared/logging/logger.js';
import { runIdStamp } from '../../shared/run/runId.js';
import { startLocalRunner, type LocalRunner } from '../../local/localRunner.js';
import type { RunDetail, TablesResponse } from '../../console/src/consoleTypes.js';
import { HttpStandIn } from '../support/alertStandIns.js';
import { createHarness, testEnv, type Harness } from '../support/harness.js';

/**
 * The console's HTTP API on the local runner (the same registrations the Functions app serves):
 * function keys, 405 with Allow, 400s naming the field, the page's own files and headers, a
 * failing table seen as failed with the alerts its run raised, and the lag probe on a real source.
 */
let h: Harness;
let runner: LocalRunner;
let webhook: HttpStandIn;
const KEY = randomBytes(16).toString('hex');

async function call(method: string, path: string, options: { body?: string; key?: string | null } = {}): Promise<{ status: number; headers: Headers; text: string; json: () => any }> {
  const key = options.key === undefined ? KEY : options.key;
  const res = await fetch(`${runner.url}${path}`, { method, headers: key ? { 'x-functions-key': key } : {}, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
  h = await createHarness();
  for (const name of ['tracks', 'listens']) {
    await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, TIMESTAMPTZ '2026-04-01 00:00:00+00' + i * INTERVAL '1 minute' FROM generate_series(1, 20) i`);
  }
  webhook = await HttpStandIn.start(() => ({ status: 200, body: 'ok' }));
  runner = await startLocalRunner({
    env: {
      ...testEnv(h.id),
      KICK_TABLE: `kick${h.id}`,
      KICK_QUEUE: `kick-${h.id}`,
      ALERT_WEBHOOK_URL: webhook.url('/hooks/console'),
      ALERT_WEBHOOK_KIND: 'slack',
      ALERT_THROTTLE_TABLE: `alerts${h.id}`,
      ALERT_RETRIES: '0',
    },
    logger: createLogger({ level: 'silent' }),
    config: { tables: [h.table('tracks'), h.table('listens'), h.table('archived', { enabled: false })] },
    port: 0,
    schedule: null,
    kickWindowSeconds: 2,
    maxDequeueCount: 2,
    retryDelaySeconds: 1,
    functionKey: KEY,
  });
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  await webhook?.close();
  await h?.close();
});

describe('the console API', () => {
  it('asks every JSON endpoint for the function key, in the header or as ?code=, and serves the page without one', async () => {
    for (const [method, path] of [['GET', '/api/tables'], ['GET', '/api/runs'], ['GET', '/api/runs/r-1'], ['GET', '/api/backfills'], ['GET', '/api/kicks'], ['POST', '/api/ingest'], ['POST', '/api/kicks/w-1/retry'], ['POST', '/api/backfill'], ['POST', '/api/ask']] as const) {
      expect((await call(method, path, { key: null })).status, `${method} ${path}`).toBe(401);
      expect((await call(method, path, { key: `${KEY}x` })).status, `${method} ${path} wrong key`).toBe(401);
    }
    expect((await call('GET', `/api/tables?code=${KEY}`, { key: null })).status).toBe(200);
    const page = await call('GET', '/api/console', { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    // Nothing from outside: no CDN, no font service, no inline script.
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const script = await call('GET', '/api/console/main.js', { key: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await call('GET', '/api/console/console.css', { key: null })).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serves only the console\'s own files', async () => {
    for (const name of ['..%2Fpackage.json', '..%2F..%2Fpackage.json', 'consoleTypes.ts', 'main.js.map', '.env', 'index.html%00.js', 'nope.js', '%2E%2E']) {
      expect((await call('GET', `/api/console/${name}`, { key: null })).status, name).toBe(404);
    }
  });

  it('answers other methods with 405 and Allow', async () => {
    for (const [method, path, allow] of [
      ['POST', '/api/console', 'GET'],
      ['DELETE', '/api/console/main.js', 'GET'],
      ['POST', '/api/tables', 'GET'],
      ['PUT', '/api/runs', 'GET'],
      ['DELETE', '/api/runs/r-1', 'GET'],
      ['POST', '/api/backfills', 'GET'],
      ['PATCH', '/api/kicks', 'GET'],
      ['GET', '/api/kicks/w-1/retry', 'POST'],
      ['GET', '/api/ingest', 'POST'],
    ] as const) {
      const res = await call(method, path);
      expect({ status: res.status, allow: res.headers.get('allow'), field: res.json().error.field }, `${method} ${path}`).toEqual({ status: 405, allow, field: 'method' });
    }
  });

  it('checks what it is asked, naming the field', async () => {
    const problems = async (method: string, path: string, body?: string) => {
      const res = await call(method, path, body === undefined ? {} : { body });
      return { status: res.status, field: res.json().error.field as string, problem: res.json().error.problem as string };
    };
    expect(await problems('POST', '/api/ingest', '')).toMatchObject({ status: 400, field: 'body' });
    expect(await problems('POST', '/api/ingest', '[1]')).toMatchObject({ status: 400, field: 'body' });
    expect(await problems('POST', '/api/ingest', '{}')).toMatchObject({ status: 400, field: 'table', problem: 'is required' });
    expect(await problems('POST', '/api/ingest', '{"table": "nope"}')).toMatchObject({ status: 400, field: 'table', problem: expect.stringContaining('unknown table "nope" (configured: tracks, listens, archived)') });
    expect(await problems('POST', '/api/ingest', '{"table": "archived"}')).toMatchObject({ status: 400, field: 'table', problem: expect.stringContaining('disabled') });
    expect(await problems('POST', '/api/ingest', '{"table": "tracks", "force": true}')).toMatchObject({ status: 400, field: 'force' });
    expect(await problems('GET', '/api/runs?limit=0')).toMatchObject({ status: 400, field: 'limit' });
    expect(await problems('GET', '/api/runs?limit=ten')).toMatchObject({ status: 400, field: 'limit' });
    expect(await problems('GET', '/api/runs?status=great')).toMatchObject({ status: 400, field: 'status', problem: expect.stringContaining('running, succeeded, nochange, partial, skipped, failed') });
    expect(await problems('GET', '/api/runs?table=nope')).toMatchObject({ status: 400, field: 'table' });
    expect(await problems('GET', '/api/runs/a%20b')).toMatchObject({ status: 400, field: 'runId' });
    expect((await call('GET', '/api/runs/r-20260101T000000Z-000000')).status).toBe(404);
    expect(await problems('GET', '/api/backfills?days=91')).toMatchObject({ status: 400, field: 'days' });
    expect(await problems('GET', '/api/kicks?hours=0')).toMatchObject({ status: 400, field: 'hours' });
    expect(await problems('POST', '/api/kicks/not-a-window/retry')).toMatchObject({ status: 400, field: 'id' });
    expect(await problems('POST', '/api/kicks/w-20260101T000000Z-abcdef/retry')).toMatchObject({ status: 404, field: 'id' });
  });

  it('shows a table whose extraction keeps failing as failed, with the run\'s attempts and the alerts it raised', async () => {
    await h.db.query(`ALTER TABLE ${h.schema}.listens RENAME TO listens_moved`);
    const started = await call('POST', '/api/ingest', { body: '{"table": "listens"}' });
    expect(started.status).toBe(202);
    const { runId, statusUrl } = started.json() as { runId: string; statusUrl: string };
    expect(started.headers.get('location')).toBe(statusUrl);
    const detail = await waitFor('the poison report', async () => {
      const d = (await call('GET', `/api/runs/${runId}`)).json() as RunDetail;
      return d.activities.some((a) => a.activity === 'poison') && d.alerts.some((a) => a.kind === 'poison-message') ? d : undefined;
    }, 45_000);
    expect(detail.activities.map((a) => `${a.subject} ${a.activity} ${a.status}`)).toEqual(['_runs plan succeeded', 'listens ingest failed', 'listens ingest failed', 'listens poison failed']);
    expect(detail.manifests).toEqual([]);
    // Every notice of the run, and what became of it: the first failure went out, its repeat was held back, the give-up went out.
    expect(detail.alerts.map((a) => [a.kind, a.outcome, a.channels.map((c) => `${c.channel}:${c.delivered}`).join()])).toEqual([
      ['ingestion-failed', 'delivered', 'webhook:slack:true'],
      ['ingestion-failed', 'throttled', ''],
      ['poison-message', 'delivered', 'webhook:slack:true'],
    ]);
    expect(webhook.to('/hooks/console').map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual([expect.stringContaining('ingestion of listens failed'), expect.stringContaining('was given up')]);

    const tables = (await call('GET', '/api/tables')).json() as TablesResponse;
    const listens = tables.tables.find((t) => t.table === 'listens')!;
    expect(listens).toMatchObject({ state: 'failed', last: { runId, status: 'failed' }, watermark: { value: null } });
    expect(listens.stateDetail).toMatch(/listens/);
    expect(tables.tables.find((t) => t.table === 'archived')).toMatchObject({ enabled: false, state: 'idle', stateDetail: 'never loaded' });
    await h.db.query(`ALTER TABLE ${h.schema}.listens_moved RENAME TO listens`);

    const failedOnly = (await call('GET', '/api/runs?status=failed')).json() as { runs: { runId: string; status: string }[] };
    expect(failedOnly.runs.length).toBe(3);
    expect(failedOnly.runs.every((r) => r.status === 'failed' && r.runId === runId)).toBe(true);
  });

  it('refuses to retry a kick that is not given up', async () => {
    const at = new Date();
    const id = `w-${runIdStamp(at)}-${randomBytes(3).toString('hex')}`;
    await runner.events.store.createWindow({ id, opensAt: at.toISOString(), closesAt: at.toISOString() });
    const open = await call('POST', `/api/kicks/${id}/retry`);
    expect(open.status).toBe(409);
    expect(open.json().error).toMatchObject({ field: 'id', problem: expect.stringContaining(`window ${id} is open`) });
    const kicks = (await call('GET', '/api/kicks')).json() as { windows: { id: string; retryable: boolean }[] };
    expect(kicks.windows.find((w) => w.id === id)).toMatchObject({ retryable: false });
  });
});

describe('the lag probe', () => {
  it('measures the committed watermark against the source, asking the source at most once per period', async () => {
    await h.db.query(`CREATE TABLE ${h.schema}.lagging (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.lagging VALUES (1, '2026-05-01 10:00:00+00'), (2, '2026-05-01 12:30:00.250+00')`);
    let now = Date.parse('2026-06-01T00:00:00Z');
    const probe = new LagProbe(h.app.sources, 30_000, () => now);
    const table = h.table('lagging');
    expect(await probe.lag(table, null)).toMatchObject({ sourceHigh: expect.stringMatching(/^2026-05-01 12:30:00\.25/), behindMs: null });
    expect(await probe.lag(table, '2026-05-01 10:00:00+00')).toMatchObject({ behindMs: 2.5 * 3_600_000 + 250 });
    await h.db.query(`INSERT INTO ${h.schema}.lagging VALUES (3, '2026-05-01 14:00:00+00')`);
    // Within the period the source is not asked again ...
    expect((await probe.lag(table, '2026-05-01 12:30:00.25+00')).behindMs).toBe(0);
    now += 31_000;
    // ... after it, it is.
    expect((await probe.lag(table, '2026-05-01 12:30:00.25+00')).behindMs).toBe(5_400_000 - 250);
    const integer = { ...h.table('lagging'), watermark: { column: 'id', kind: 'integer' as const } };
    expect(await probe.lag(integer, '1')).toMatchObject({ behindMs: null, behindValues: '2' });

    // The probe reads through a connection slot like any reader: with every slot held, it says so.
    const cap = h.app.sources.endpoint('default').maxConnections;
    const held = await Promise.all(Array.from({ length: cap }, (_, i) => h.app.sources.open('default', `holder-${i}`, 'test')));
    try {
      now += 31_000;
      expect(await probe.lag(table, null)).toMatchObject({ sourceHigh: null, error: `source default is busy: all ${cap} of its connection slots (maxConnections) are held` });
    } finally {
      await Promise.all(held.map((x) => x?.release()));
    }
    now += 31_000;
    expect((await probe.lag(table, '2026-05-01 12:30:00.25+00')).behindMs).toBe(5_400_000 - 250);
  });
});
