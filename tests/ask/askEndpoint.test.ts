import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askPost } from '../../functions/ask-post.js';
import { loadAskSettings } from '../../shared/ask/askSettings.js';
import { AskService } from '../../shared/ask/askService.js';
import { createAskService, deploymentCatalog, setAskService } from '../../shared/ask/createAskService.js';
import { createThriftSqlEndpoint } from '../../shared/ask/thriftSqlEndpoint.js';
import { freePort } from '../../local/freePort.js';
import { HttpStandIn, captureLogger } from '../support/alertStandIns.js';
import { readParquetBytes } from '../support/parquetReader.js';
import { GOOD_QUERIES, HOSTILE_CASES } from './sqlCases.js';
import functions from '@azure/functions';

/**
 * The question box end to end on one machine: the local SQL endpoint (Spark's Thrift server,
 * one JVM for the whole file) over a demo gold built from demo bronze in the same process, a
 * real HiveServer2 client, and a loopback HTTP server playing an OpenAI-compatible model.
 * Answers are checked against the bronze files read with another Parquet reader and counted
 * here in plain TypeScript; refused SQL is looked for in the endpoint's own query log.
 */
const python = resolve('.venv/bin/python');
const haveSpark = existsSync(python);
const { HttpRequest, InvocationContext } = functions;

let endpoint: ChildProcess | undefined;
let work: string;
let port: number;
let queryLog: string;
let llm: HttpStandIn;
const log = captureLogger();
let service: AskService;

/** What the stand-in model answers, by question (and, for retries, by what the prompt says). */
const TOP3 = 'SELECT f.artist_id, max_by(a.artist_name, a.__START_AT) AS artist_name, count(*) AS streams FROM gold.fact_stream f JOIN gold.dim_artist a ON a.artist_id = f.artist_id AND a.__START_AT = f.artist_valid_from GROUP BY f.artist_id ORDER BY streams DESC, f.artist_id LIMIT 3';
const PER_PLAN = GOOD_QUERIES[1]!;
const CHANGED = GOOD_QUERIES[2]!;
function model(messages: { role: string; content: string }[]): string {
  const question = messages.find((m) => m.role === 'user')!.content;
  const retried = messages.length > 2;
  if (/top 3 artists/i.test(question)) return `\`\`\`sql\n${TOP3}\n\`\`\``;
  if (/subscription type last month/i.test(question)) return PER_PLAN;
  if (/changed subscription this year/i.test(question)) return CHANGED;
  if (/plays per device/i.test(question)) return retried ? 'SELECT device_type, count(*) AS plays FROM gold.fact_stream GROUP BY device_type ORDER BY device_type' : 'SELECT device_type, sum(plays) FROM gold.fact_stream GROUP BY device_type';
  if (/always wrong/i.test(question)) return 'SELECT total_plays FROM gold.fact_stream';
  if (/streams per device/i.test(question)) return retried ? 'SELECT device_type, count(*) AS streams FROM gold.fact_stream GROUP BY device_type ORDER BY device_type' : 'SELECT device_type, count(*) AS streams FROM gold.fact_stream';
  const hostile = /^hostile case (\S+)$/.exec(question);
  if (hostile) return HOSTILE_CASES.find((c) => c.id === hostile[1])!.sql;
  return "SELECT 'cannot answer' AS answer FROM gold.dim_date LIMIT 1";
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (endpoint?.exitCode !== null && endpoint?.exitCode !== undefined) throw new Error(`${what}: the SQL endpoint exited with ${endpoint.exitCode}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

function parquetFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? parquetFiles(p) : p.endsWith('.parquet') ? [p] : [];
  });
}

async function bronze(table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const f of parquetFiles(join(work, 'lake', 'demo-bronze', table))) rows.push(...(await readParquetBytes(readFileSync(f))).rows);
  return rows;
}

const micros = (v: unknown): number => Number(v as bigint) / 1000;

describe.skipIf(!haveSpark)('the question box over the local SQL endpoint', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'soundlake-ask-'));
    port = await freePort();
    endpoint = spawn(python, ['-m', 'soundlake.local.sql_endpoint', '--demo', '--lake-dir', join(work, 'lake'), '--port', String(port), '--query-timeout', '300'], {
      env: { ...process.env, PYTHONPATH: resolve('databricks/src') },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const info = await waitFor('the SQL endpoint', () => {
      const f = join(work, 'sql-endpoint', 'endpoint.json');
      return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { queryLog: string; port: number }) : undefined;
    }, 900_000);
    queryLog = info.queryLog;
    llm = await HttpStandIn.start((req) => {
      const body = JSON.parse(req.body) as { messages: { role: string; content: string }[] };
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content: model(body.messages) } }] }) };
    });
    const settings = loadAskSettings({ SQL_ENDPOINT_PORT: String(port), ASK_LLM_BASE_URL: llm.url('/v1'), ASK_LLM_MODEL: 'stand-in', ASK_LLM_API_KEY: 'sk-test-not-a-secret', ASK_STATEMENT_TIMEOUT_SECONDS: '150' });
    service = await createAskService(settings, log.logger);
  }, 960_000);

  afterAll(async () => {
    setAskService(undefined);
    await llm?.close();
    if (endpoint && endpoint.exitCode === null) {
      const exited = new Promise((r) => endpoint!.once('exit', r));
      endpoint.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (endpoint.exitCode === null) endpoint.kill('SIGKILL');
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('serves every gold table under its Unity Catalog name with the generated columns and types', async () => {
    const client = createThriftSqlEndpoint({ port });
    // The repository's catalog has no Spotify pull: its gold has every table but the Spotify facts.
    const deployed = await deploymentCatalog('soundlake.yaml');
    expect(deployed.absent?.map((a) => a.name)).toEqual(['fact_spotify_track_daily', 'fact_spotify_artist_daily', 'spotify_daily_quality']);
    for (const t of deployed.tables) {
      const res = await client.execute(`SELECT * FROM gold.${t.name} LIMIT 0`, { timeoutMs: 150_000, maxRows: 1, runId: 'catalogue' });
      expect(res.columns.map((c) => c.name.toLowerCase()), t.name).toEqual(t.columns.map((c) => c.name.toLowerCase()));
      expect(res.columns.map((c) => c.type), t.name).toEqual(t.columns.map((c) => c.type.replace(/\(.*$/, '')));
    }
  });

  it('is read-only for its own clients: statements the guard would refuse are refused by the server too', async () => {
    const info = JSON.parse(readFileSync(join(work, 'sql-endpoint', 'endpoint.json'), 'utf8')) as { readOnly: boolean };
    expect(info.readOnly).toBe(true);
    const client = createThriftSqlEndpoint({ port });
    const run = (sql: string) => client.execute(sql, { timeoutMs: 150_000, maxRows: 50, runId: 'read-only' });
    const before = (await run('SELECT count(*) FROM gold.fact_stream')).rows;
    // Refused by the analyzer check, which names itself.
    for (const sql of [
      'DELETE FROM gold.fact_stream WHERE stream_id > 0',
      'INSERT INTO gold.dim_date SELECT * FROM gold.dim_date LIMIT 1',
      'DROP TABLE gold.dim_user',
      'CREATE TABLE gold.ro_copy AS SELECT 1 AS x',
      'SET spark.sql.runSQLOnFiles=true',
      "SELECT reflect('java.lang.System', 'getProperty', 'user.home')",
      'CREATE TEMPORARY VIEW ro_view AS SELECT 1',
      'CACHE TABLE gold.dim_date',
    ]) {
      await expect(run(sql), sql).rejects.toMatchObject({ failure: 'rejected', message: expect.stringContaining('read-only') });
    }
    // Files by path: refused by the check or, before it, by spark.sql.runSQLOnFiles=false.
    for (const sql of [`SELECT * FROM delta.\`${join(work, 'lake', 'silver', 'users')}\``, `SELECT * FROM parquet.\`${join(work, 'lake', 'demo-bronze', 'dim_users')}\``]) {
      await expect(run(sql), sql).rejects.toMatchObject({ failure: 'rejected' });
    }
    expect((await run('SELECT count(*) FROM gold.fact_stream')).rows).toEqual(before);
    expect((await run('SHOW TABLES IN gold')).rows.length).toBe((await deploymentCatalog('soundlake.yaml')).tables.length);
  });

  it('answers the star-schema question "top 3 artists by streams" with the bronze counts', async () => {
    const tracks = new Map((await bronze('dim_tracks')).map((t) => [t.track_id as number, t.artist_id as number]));
    const perArtist = new Map<number, number>();
    for (const s of await bronze('fact_streams')) {
      const a = tracks.get(s.track_id as number)!;
      perArtist.set(a, (perArtist.get(a) ?? 0) + 1);
    }
    const expected = [...perArtist].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 3);

    const answer = await service.ask({ question: 'Who are the top 3 artists by streams?' });
    expect(answer, JSON.stringify(answer.error)).toMatchObject({ status: 'answered', mode: 'question', sql: TOP3, model: 'stand-in' });
    expect(answer.rows.map((r) => [r[0], r[2]])).toEqual(expected);
    expect(answer.summary).toMatch(/^3 rows; first: artist_id \d+, artist_name .+, streams \d+\.$/);
  });

  it('answers streams per subscription type last month, as of stream time', async () => {
    const now = new Date();
    const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const versions = new Map<number, [number, string][]>();
    for (const u of await bronze('dim_users')) {
      const v = versions.get(u.user_id as number) ?? [];
      v.push([micros(u.updated_at), u.subscription_type as string]);
      versions.set(u.user_id as number, v);
    }
    for (const v of versions.values()) v.sort((a, b) => a[0] - b[0]);
    const expected = new Map<string, number>();
    for (const s of await bronze('fact_streams')) {
      const at = micros(s.streamed_at);
      if (at < from || at >= to) continue;
      const v = versions.get(s.user_id as number)!;
      const plan = [...v].reverse().find((x) => x[0] <= at)?.[1] ?? v[0]![1];
      expected.set(plan, (expected.get(plan) ?? 0) + 1);
    }
    expect([...expected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const answer = await service.ask({ question: 'How many streams per subscription type last month?' });
    expect(answer, JSON.stringify(answer.error)).toMatchObject({ status: 'answered', sql: PER_PLAN });
    expect(new Map(answer.rows.map((r) => [r[0] as string, r[1] as number]))).toEqual(expected);
  });

  it('answers how many users changed subscription this year', async () => {
    const year = new Date().getUTCFullYear();
    const versions = new Map<number, [number, string][]>();
    for (const u of await bronze('dim_users')) {
      const v = versions.get(u.user_id as number) ?? [];
      v.push([micros(u.updated_at), u.subscription_type as string]);
      versions.set(u.user_id as number, v);
    }
    let changed = 0;
    for (const v of versions.values()) {
      v.sort((a, b) => a[0] - b[0]);
      if (v.some((x, i) => i > 0 && x[1] !== v[i - 1]![1] && new Date(x[0]).getUTCFullYear() === year)) changed++;
    }
    const answer = await service.ask({ question: 'How many users changed subscription this year?' });
    expect(answer, JSON.stringify(answer.error)).toMatchObject({ status: 'answered', rowCount: 1, summary: `users = ${changed}.` });
    expect(answer.rows).toEqual([[changed]]);
  });

  it('sends an unknown column back to the model once with the error, and reports it clearly when the model persists', async () => {
    const fixed = await service.ask({ question: 'plays per device type?' });
    expect(fixed.status).toBe('answered');
    expect(fixed.attempts.map((a) => a.outcome)).toEqual(['refused', 'answered']);
    expect(fixed.attempts[0]).toMatchObject({ code: 'unknown_column', message: expect.stringContaining('unknown column plays') });
    const retry = JSON.parse(llm.requests[llm.requests.length - 1]!.body) as { messages: { role: string; content: string }[] };
    expect(retry.messages.at(-1)!.content).toContain('unknown column plays');
    expect(retry.messages[0]!.content).toContain('TABLE gold.fact_stream');
    expect(llm.requests.at(-1)!.headers.authorization).toBe('Bearer sk-test-not-a-secret');

    // The guard passes it, Spark refuses it (no GROUP BY): the engine's own message goes back.
    const engine = await service.ask({ question: 'streams per device?' });
    expect(engine.status, JSON.stringify(engine.attempts)).toBe('answered');
    expect(engine.attempts[0]).toMatchObject({ outcome: 'failed', code: 'engine', message: expect.stringMatching(/MISSING_(GROUP_BY|AGGREGATION)/) });
    expect(JSON.parse(llm.requests.at(-1)!.body).messages.at(-1).content).toMatch(/MISSING_(GROUP_BY|AGGREGATION)/);

    const wrong = await service.ask({ question: 'always wrong: total plays' });
    expect(wrong).toMatchObject({ status: 'refused', error: { code: 'unknown_column', message: expect.stringContaining('unknown column total_plays') } });
    expect(wrong.attempts).toHaveLength(2);
  });

  it('refuses every hostile answer of the model for the right reason, and none reaches the endpoint', async () => {
    const before = readFileSync(queryLog, 'utf8');
    expect(before).toContain('soundlake_answer');
    for (const c of HOSTILE_CASES) {
      const answer = await service.ask({ question: `hostile case ${c.id}` });
      expect(answer.status, c.sql).toBe('refused');
      expect(answer.attempts[0], c.sql).toMatchObject({ outcome: 'refused', code: c.code });
    }
    // The refused SQL in the SQL mode as well, through the HTTP function.
    setAskService(service);
    for (const c of HOSTILE_CASES.filter((x) => x.sql !== '')) {
      const res = await askPost(new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/ask', body: { string: JSON.stringify({ sql: c.sql }) } }), new InvocationContext({ functionName: 'ask-post', invocationId: c.id, logHandler: () => undefined }));
      expect(res.status, c.sql).toBe(422);
      expect((res.jsonBody as { error: { code: string } }).error.code, c.sql).toBe(c.code);
    }
    const logText = readFileSync(queryLog, 'utf8');
    for (const c of HOSTILE_CASES) {
      const marker = /hx\d\d/.exec(c.sql)?.[0];
      if (marker) expect(logText, `${c.id} reached the endpoint`).not.toContain(marker);
    }
    // Every question was logged with its run id, SQL and verdict, and no rows or key.
    const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('ask '));
    expect(lines.length).toBeGreaterThanOrEqual(HOSTILE_CASES.length + 5);
    for (const l of lines) expect(l).toMatchObject({ runId: expect.stringMatching(/^ask-/), verdict: expect.any(String), rows: expect.any(Number), durationMs: expect.any(Number) });
    expect(log.text()).not.toContain('sk-test-not-a-secret');
  });

  it('runs a user\'s own SELECT without any LLM, and says what to set for questions', async () => {
    const sqlOnly = await createAskService(loadAskSettings({ SQL_ENDPOINT_PORT: String(port) }), log.logger);
    setAskService(sqlOnly);
    const ctx = new InvocationContext({ functionName: 'ask-post', invocationId: 'sql', logHandler: () => undefined });
    const ok = await askPost(new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/ask', body: { string: JSON.stringify({ sql: 'SELECT count(*) AS streams FROM gold.fact_stream' }) } }), ctx);
    expect(ok.status).toBe(200);
    const n = (await bronze('fact_streams')).length;
    expect(ok.jsonBody).toMatchObject({ status: 'answered', mode: 'sql', rows: [[n]], summary: `streams = ${n}.`, model: null });
    const noLlm = await askPost(new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/ask', body: { string: JSON.stringify({ question: 'top artists?' }) } }), ctx);
    expect(noLlm.status).toBe(503);
    expect(JSON.stringify(noLlm.jsonBody)).toContain('ASK_LLM_BASE_URL');
    const bad = await askPost(new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/ask', body: { string: '{"question": "a", "sql": "SELECT 1"}' } }), ctx);
    expect(bad.status).toBe(400);
  });
});
