import { InvocationContext } from '@azure/functions';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestTimer } from '../../functions/ingest-timer.js';
import { registeredFunctions } from '../../shared/azure/functionRegistry.js';
import { createLogger } from '../../shared/logging/logger.js';
import { startLocalRunner, type LocalRunner } from '../../local/localRunner.js';
import { HttpStandIn } from '../support/alertStandIns.js';
import { createHarness, testEnv, type Harness } from '../support/harness.js';
import { waitFor } from '../support/waitFor.js';

/**
 * The local runner end to end, as a new user meets it: a scheduled run lands bronze files whose
 * BlobCreated events start Databricks once per burst; a backfill POSTed over HTTP completes
 * through its status URL and starts one more run; a failing table produces one alert.
 */
let h: Harness;
let runner: LocalRunner;
let webhook: HttpStandIn;

const tick = () =>
  ingestTimer(
    { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } },
    new InvocationContext({ functionName: 'ingest-timer', invocationId: 'tick', logHandler: () => undefined }),
  );

const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> => waitFor(what, probe, 45_000);
/** Every queue the host polls is empty (delayed messages too) and no function is running: nothing more happens by itself. */
const drained = (): Promise<true> => until('the local host to drain', async () => (await runner.host.drained()) || undefined);

/**
 * Once drained: every bronze file so far was in exactly one kick window, and every window with
 * files started exactly one Databricks run (a burst is what falls within one window; how many
 * windows a burst makes depends on how fast this machine writes it, not on the code).
 */
async function oneRunPerWindow(files: number): Promise<{ kicks: number }> {
  await drained();
  const kicks = (await h.app.ledger.recent('_databricks', 100)).filter((e) => e.activity === 'kick');
  expect(kicks.map((k) => k.status)).toEqual(kicks.map(() => 'succeeded'));
  expect(kicks.reduce((n, k) => n + (k.files ?? 0), 0)).toBe(files);
  const started = kicks.map((k) => Number(/^medallion job 1 run (\d+);/.exec(k.detail ?? '')?.[1])).sort((a, b) => a - b);
  expect(runner.databricks.runs.map((r) => r.runId).sort((a, b) => a - b)).toEqual(started);
  expect(new Set(runner.databricks.runs.map((r) => r.idempotencyToken)).size).toBe(kicks.length);
  return { kicks: kicks.length };
}

beforeAll(async () => {
  h = await createHarness();
  for (const name of ['songs', 'plays']) {
    await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, TIMESTAMPTZ '2026-03-01' + i * INTERVAL '1 hour' FROM generate_series(1, 60) i`);
  }
  webhook = await HttpStandIn.start(() => ({ status: 200, body: 'ok' }));
  runner = await startLocalRunner({
    env: {
      ...testEnv(h.id),
      KICK_TABLE: `kick${h.id}`,
      KICK_QUEUE: `kick-${h.id}`,
      ALERT_WEBHOOK_URL: webhook.url('/hooks/soundlake'),
      ALERT_WEBHOOK_KIND: 'slack',
      ALERT_THROTTLE_TABLE: `alerts${h.id}`,
      ALERT_RETRIES: '0',
    },
    logger: createLogger({ level: 'silent' }),
    config: { tables: ['songs', 'plays'].map((name) => h.table(name, { maxRowsPerFile: 25, rowGroupRows: 25 })) },
    port: 0,
    schedule: null,
    kickWindowSeconds: 2,
    maxDequeueCount: 3,
    retryDelaySeconds: 1,
    pollIntervalMs: 100,
  });
});
afterAll(async () => {
  await runner?.stop();
  await webhook?.close();
  await h?.close();
});

describe('the local runner', () => {
  it('serves exactly the functions the app registers, on the queues their settings name', () => {
    const id = h.id;
    expect(runner.host.served).toEqual([
      { name: 'ingest-timer', trigger: 'timer', target: 'by hand' },
      { name: 'ingest-queue', trigger: 'storageQueue', target: `ingest-${id}` },
      { name: 'ingest-poison', trigger: 'storageQueue', target: `ingest-${id}-poison` },
      { name: 'backfill-post', trigger: 'http', target: '/api/backfill' },
      { name: 'backfill-get', trigger: 'http', target: '/api/backfill/{id}' },
      { name: 'backfill-queue', trigger: 'storageQueue', target: `backfill-${id}` },
      { name: 'backfill-poison', trigger: 'storageQueue', target: `backfill-${id}-poison` },
      { name: 'bronze-blob-created', trigger: 'eventGrid', target: 'publish()' },
      { name: 'databricks-kick', trigger: 'storageQueue', target: `kick-${id}` },
      { name: 'databricks-kick-poison', trigger: 'storageQueue', target: `kick-${id}-poison` },
      { name: 'ask-post', trigger: 'http', target: '/api/ask' },
      { name: 'ingest-post', trigger: 'http', target: '/api/ingest' },
      { name: 'tables-get', trigger: 'http', target: '/api/tables' },
      { name: 'runs-get', trigger: 'http', target: '/api/runs' },
      { name: 'run-get', trigger: 'http', target: '/api/runs/{runId}' },
      { name: 'backfills-get', trigger: 'http', target: '/api/backfills' },
      { name: 'kicks-get', trigger: 'http', target: '/api/kicks' },
      { name: 'kick-retry-post', trigger: 'http', target: '/api/kicks/{id}/retry' },
      { name: 'console-get', trigger: 'http', target: '/api/console' },
      { name: 'console-asset-get', trigger: 'http', target: '/api/console/{file}' },
    ]);
    // One list: what functions/index.ts registers with the host is what is served, no more, no less.
    expect(runner.host.served.map((f) => [f.name, f.trigger])).toEqual(registeredFunctions().map((r) => [r.name, r.trigger]));
  });

  it('turns a scheduled run into bronze files and one Databricks run for the burst', async () => {
    await tick();
    await until('a Databricks run', () => (runner.databricks.runs.length > 0 ? runner.databricks.runs : undefined));
    // Six files (three parts per table), all kicked: one run for each window they fell in.
    expect((await h.bronzeFiles('songs')).length + (await h.bronzeFiles('plays')).length).toBe(6);
    const { kicks } = await oneRunPerWindow(6);
    const runNow = runner.databricks.requests.filter((r) => r.path === '/api/2.2/jobs/run-now');
    expect(runNow).toHaveLength(kicks);
    expect(runNow[0]!.headers.authorization).toBe('Bearer local-stand-in-token');
    expect(runNow[0]!.body).toMatchObject({ job_id: 1, idempotency_token: expect.stringMatching(/^soundlake-1-/) });
  });

  it('accepts a backfill over HTTP, completes it through the status URL, and kicks once more', async () => {
    const before = runner.databricks.runs.length;
    const res = await fetch(`${runner.url}/api/backfill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ table: 'plays', from: '2026-03-01T06:00:00Z', to: '2026-03-02T06:00:00Z', chunk: 'PT8H' }),
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; statusUrl: string };
    expect(res.headers.get('location')).toBe(accepted.statusUrl);
    const done = await until('the backfill to finish', async () => {
      const status = (await (await fetch(accepted.statusUrl)).json()) as { status: string; totals: { rows: number; chunks: number } };
      return status.status === 'done' ? status : undefined;
    });
    expect(done.totals).toMatchObject({ chunks: 3, rows: 24 });
    // The three chunk files start Databricks too: one more run for each window they fell in.
    expect((await oneRunPerWindow(6 + 3)).kicks).toBeGreaterThan(before);

    const bad = await fetch(`${runner.url}/api/backfill`, { method: 'POST', body: '{"table": "plays", "from": "soon"' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('body');
  });

  it('answers every bad request with a 4xx and keeps serving', async () => {
    const call = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${runner.url}${path}`, { method, signal: AbortSignal.timeout(15_000), ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      return { status: res.status, allow: res.headers.get('allow'), error: (text ? (JSON.parse(text) as { error: { field?: string; problem?: string } }) : { error: {} }).error };
    };
    // Percent-encoding that is not UTF-8, or not percent-encoding at all.
    for (const id of ['%E0%A4%A', '%ZZ', '%C3%28', '%']) {
      expect(await call('GET', `/api/backfill/${id}`), id).toMatchObject({ status: 400, error: { field: 'id', problem: expect.stringMatching(/not valid percent-encoded UTF-8/) } });
    }
    // Wrong methods: 405 naming the one that is allowed.
    expect(await call('DELETE', '/api/backfill/0123456789ab')).toMatchObject({ status: 405, allow: 'GET', error: { field: 'method' } });
    expect(await call('PUT', '/api/backfill/0123456789ab', '{}')).toMatchObject({ status: 405, allow: 'GET' });
    expect(await call('GET', '/api/backfill')).toMatchObject({ status: 405, allow: 'POST', error: { field: 'method', problem: 'GET is not allowed here; use POST' } });
    expect(await call('PATCH', '/api/backfill', '{}')).toMatchObject({ status: 405, allow: 'POST' });
    // Unknown paths, a body far over any backfill request, a malformed id.
    expect(await call('GET', '/api/nope')).toMatchObject({ status: 404, error: { field: 'url' } });
    expect(await call('GET', '/api/backfill/a/b')).toMatchObject({ status: 404 });
    expect(await call('POST', '/api/backfill', 'x'.repeat(2 << 20))).toMatchObject({ status: 413, error: { field: 'body' } });
    expect(await call('GET', '/api/backfill/not-an-id')).toMatchObject({ status: 400, error: { field: 'id' } });
    // A request line Node's parser refuses: its own 400, and the connection closes.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(runner.url).port), '127.0.0.1');
      let got = '';
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
      socket.write('GET /api/backfill/%E0%A4%A HTTP/9.9 junk\r\n\r\n');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    // Still serving.
    expect(await call('GET', '/api/backfill/0123456789ab')).toMatchObject({ status: 404 });
  });

  it('raises one alert for a failing table, however often the host retries it', async () => {
    await h.db.query(`ALTER TABLE ${h.schema}.songs RENAME TO songs_moved`);
    await tick();
    const poisoned = await until('the poison report', async () => ((await h.app.ledger.recent('songs')).find((e) => e.activity === 'poison') ? true : undefined));
    expect(poisoned).toBe(true);
    const attempts = (await h.app.ledger.recent('songs')).filter((e) => e.activity === 'ingest' && e.status === 'failed');
    expect(attempts).toHaveLength(3);
    // The poison report is handled to its end (its alert sent) and nothing else is pending.
    await drained();
    const bodies = webhook.to('/hooks/soundlake').map((r) => JSON.parse(r.body) as { text: string });
    const failures = bodies.filter((b) => b.text.includes('ingestion of songs failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.text).toMatch(/r-\d{8}T\d{6}Z-[0-9a-f]{6}/);
    // The host stand-in tried the message three times (maxDequeueCount 3), and the alert says so.
    expect(bodies.filter((b) => /given up/.test(b.text)).map((b) => b.text.replace(/ \(run .*/, ''))).toEqual([
      expect.stringMatching(/^\[soundlake\] ERROR: ingestion of songs in run r-\S+ failed 3 times and was given up$/),
    ]);
    await h.db.query(`ALTER TABLE ${h.schema}.songs_moved RENAME TO songs`);
  });
  it('serves the question box on /api/ask: the guard answers before any SQL endpoint is needed', async () => {
    const refused = await fetch(`${runner.url}/api/ask`, { method: 'POST', body: JSON.stringify({ sql: 'DELETE FROM gold.fact_stream' }) });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ status: 'refused', mode: 'sql', error: { code: 'not_select' } });
    const bad = await fetch(`${runner.url}/api/ask`, { method: 'POST', body: '{"sql": ""}' });
    expect(bad.status).toBe(400);
  });
});
