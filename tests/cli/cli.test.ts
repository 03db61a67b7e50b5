import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, testEnv, type Harness } from '../support/harness.js';
import { waitFor } from '../support/waitFor.js';

/** The `soundlake` command as a user runs it: a separate process, settings from the environment. */
const run = promisify(execFile);
let h: Harness;
let env: NodeJS.ProcessEnv;

type Outcome = { stdout: string; stderr: string; code: number };

async function soundlake(...args: string[]): Promise<Outcome> {
  return soundlakeWith({}, ...args);
}

/** The CLI with some environment settings changed, e.g. another SOUNDLAKE_CONFIG. */
async function soundlakeWith(changes: NodeJS.ProcessEnv, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/soundlake.ts', ...args], { env: { ...env, ...changes }, timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}


beforeAll(async () => {
  h = await createHarness();
  await h.db.query(`CREATE TABLE ${h.schema}.tracks (track_id integer PRIMARY KEY, title text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.tracks SELECT i, 'track ' || i, TIMESTAMPTZ '2026-02-01' + i * INTERVAL '1 hour' FROM generate_series(1, 50) i`);
  const dir = await mkdtemp(join(tmpdir(), 'soundlake-cli-'));
  const config = join(dir, 'soundlake.yaml');
  await writeFile(
    config,
    `version: 1\ndefaults:\n  lagSeconds: 0\ntables:\n  - name: tracks\n    source: { schema: ${h.schema}, table: tracks }\n    watermark: { column: updated_at, kind: timestamp }\n    primaryKey: [track_id]\n`,
  );
  env = { ...process.env, ...testEnv(h.id), SOUNDLAKE_CONFIG: config, LOG_LEVEL: 'info' };
});
afterAll(async () => {
  await h?.close();
});

describe('soundlake CLI', () => {
  it('ingest --json prints one summary per table on stdout and logs with the run id on stderr', async () => {
    const { stdout, stderr, code } = await soundlake('ingest', '--json');
    expect(code).toBe(0);
    const [summary] = JSON.parse(stdout) as Record<string, unknown>[];
    expect(summary).toMatchObject({ table: 'tracks', status: 'succeeded', rows: 50, files: 1, low: null, high: '2026-02-03 02:00:00+00' });
    const logs = stderr.trim().split('\n').map((l) => JSON.parse(l) as { runId?: string; msg: string });
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((l) => l.runId === summary!.runId)).toBe(true);
    expect(stderr).not.toMatch(/AccountKey=/);

    const again = await soundlake('ingest', '--json', '--table', 'tracks');
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ status: 'nochange', rows: 0 });
  });

  it('status shows the watermark and the recent runs', async () => {
    const { stdout, code } = await soundlake('status', '--json');
    expect(code).toBe(0);
    const status = JSON.parse(stdout) as { watermarks: { table: string; value: string; seq: number }[]; runs: { status: string }[] };
    expect(status.watermarks).toEqual([expect.objectContaining({ table: 'tracks', value: '2026-02-03 02:00:00+00', seq: 1 })]);
    expect(status.runs.map((r) => r.status)).toEqual(['nochange', 'succeeded']);
    const human = await soundlake('status');
    expect(human.stdout).toMatch(/^watermarks\ntable\s+watermark/);
  });

  it('backfill runs the window in-process and reports each chunk', async () => {
    const { stdout, code } = await soundlake('backfill', '--table', 'tracks', '--from', '2026-02-01', '--to', '2026-02-02T12:00:00Z', '--chunk', 'PT12H', '--json');
    expect(code).toBe(0);
    const status = JSON.parse(stdout) as { status: string; totals: { rows: number; chunks: number } };
    expect(status).toMatchObject({ status: 'done', totals: { rows: 35, chunks: 3 } });
  });

  it('a value no Parquet type can hold fails only its own table: the others finish, leases and ledger are settled', async () => {
    // Postgres infinities are mapped (docs/bronze-layout.md); a timestamp past 2^63-1 microseconds
    // after 1970 fits no Parquet TIMESTAMP(MICROS) and is refused inside the driver's row parsing.
    await h.db.query(`CREATE TABLE ${h.schema}.open_ended (id integer PRIMARY KEY, valid_from date, valid_to date, seen_at timestamptz, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.open_ended VALUES
      (1, '-infinity', 'infinity', '-infinity', '2026-02-01 00:00:00+00'),
      (2, '2026-01-01', '2026-12-31', 'infinity', '2026-02-01 00:00:01+00'),
      (3, NULL, NULL, '2026-01-01 00:00:00+00', '2026-02-01 00:00:02+00')`);
    await h.db.query(`CREATE TABLE ${h.schema}.far_future (id integer PRIMARY KEY, seen_at timestamptz, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.far_future SELECT i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 day', TIMESTAMPTZ '2026-02-01' + i * INTERVAL '1 second' FROM generate_series(1, 500) i`);
    await h.db.query(`UPDATE ${h.schema}.far_future SET seen_at = '294250-01-01 00:00:00+00' WHERE id = 321`);
    await h.db.query(`CREATE TABLE ${h.schema}.plain (id integer PRIMARY KEY, title text, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.plain SELECT i, 'row ' || i, TIMESTAMPTZ '2026-02-01' + i * INTERVAL '1 second' FROM generate_series(1, 300) i`);
    const dir = await mkdtemp(join(tmpdir(), 'soundlake-cli-'));
    const config = join(dir, 'soundlake.yaml');
    const entry = (name: string): string => `  - name: ${name}\n    source: { schema: ${h.schema}, table: ${name} }\n    watermark: { column: updated_at, kind: timestamp }\n    primaryKey: [id]\n`;
    await writeFile(config, `version: 1\ndefaults:\n  lagSeconds: 0\ntables:\n${entry('open_ended')}${entry('far_future')}${entry('plain')}`);

    const { stdout, code } = await soundlakeWith({ SOUNDLAKE_CONFIG: config }, 'ingest', '--json', '--concurrency', '3');
    expect(code).toBe(1);
    const results = Object.fromEntries((JSON.parse(stdout) as { table: string }[]).map((r) => [r.table, r])) as Record<string, Record<string, unknown>>;
    expect(results.plain).toMatchObject({ status: 'succeeded', rows: 300 });
    expect(results.open_ended).toMatchObject({ status: 'succeeded', rows: 3 });
    expect(results.far_future).toMatchObject({ status: 'failed', rows: 0 });
    expect(results.far_future!.error).toMatch(/column seen_at of t_\w+\.far_future: .*"294250-01-01 00:00:00\+00"/);

    // The failed table gave its lease back at once and kept its slice pending for the next run.
    const failed = await h.app.watermarks.get('far_future');
    expect(failed).toMatchObject({ value: null, lease: null });
    expect(failed!.pending).not.toBeNull();
    for (const table of ['open_ended', 'plain']) expect(await h.app.watermarks.get(table)).toMatchObject({ lease: null, pending: null });
    const ledger = await h.app.ledger.ofRun(results.plain!.runId as string);
    expect(ledger.filter((e) => e.activity === 'ingest').map((e) => [e.subject, e.status]).sort()).toEqual([
      ['far_future', 'failed'],
      ['open_ended', 'succeeded'],
      ['plain', 'succeeded'],
    ]);
  });

  it('a run killed mid-slice, twice, leaves no phantom running entry: the next run closes it as abandoned', async () => {
    await h.db.query(`CREATE TABLE ${h.schema}.crashy (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.crashy SELECT i, md5(i::text), TIMESTAMPTZ '2026-02-01' + i * INTERVAL '1 second' FROM generate_series(1, 20000) i`);
    const dir = await mkdtemp(join(tmpdir(), 'soundlake-cli-'));
    const config = join(dir, 'soundlake.yaml');
    await writeFile(config, `version: 1\ndefaults:\n  lagSeconds: 0\n  maxRowsPerFile: 400\ntables:\n  - name: crashy\n    source: { schema: ${h.schema}, table: crashy }\n    watermark: { column: updated_at, kind: timestamp }\n    primaryKey: [id]\n`);
    const changes = { SOUNDLAKE_CONFIG: config, LEASE_SECONDS: '10' };
    const parts = async (): Promise<number> => (await h.app.watermarks.get('crashy'))?.pending?.parts.length ?? 0;

    // SIGKILL, twice, each time once the run has its own ledger entry and has committed parts
    // beyond what it started from (the part count alone could already be past any fixed mark
    // when the first run was killed late).
    const killed: string[] = [];
    for (const attempt of [1, 2]) {
      const before = await parts();
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/soundlake.ts', 'ingest', '--json'], { env: { ...env, ...changes }, stdio: 'ignore' });
      await waitFor(
        `run ${attempt} to commit two parts of crashy of its own`,
        async () => (await h.app.ledger.recent('crashy')).some((e) => e.status === 'running' && !killed.includes(e.runId)) && (await parts()) >= before + 2,
        60_000,
        50,
      );
      child.kill('SIGKILL');
      await once(child, 'exit');
      const state = await h.app.watermarks.get('crashy');
      // Until a run takes over, the dead run still shows as running: nobody could close it.
      const running = (await h.app.ledger.recent('crashy')).filter((e) => e.status === 'running' && !killed.includes(e.runId));
      expect(running).toHaveLength(1);
      killed.push(running[0]!.runId);
      // The lease of a dead run is only taken over once it expires.
      await waitFor('the lease to expire', async () => Date.parse(state!.lease!.expiresAt) < Date.now(), 20_000, 50);
    }

    const { stdout, code } = await soundlakeWith(changes, 'ingest', '--json');
    expect(code).toBe(0);
    const [done] = JSON.parse(stdout) as { status: string; rows: number; runId: string }[];
    expect(done).toMatchObject({ status: 'succeeded', rows: 20000 });

    const status = JSON.parse((await soundlakeWith(changes, 'status', '--json', '--limit', '20')).stdout) as { runs: { runId: string; subject: string; status: string; abandonedBy?: string }[] };
    const crashyRuns = status.runs.filter((r) => r.subject === 'crashy');
    expect(crashyRuns.filter((r) => r.status === 'running')).toEqual([]);
    expect(crashyRuns.map((r) => [r.runId, r.status, r.abandonedBy])).toEqual([
      [done!.runId, 'succeeded', undefined],
      [killed[1], 'abandoned', done!.runId],
      [killed[0], 'abandoned', killed[1]],
    ]);
  });

  it('names the bad option and exits non-zero', async () => {
    const bad = await soundlake('backfill', '--table', 'tracks', '--from', '2026-02-03', '--to', '2026-02-01');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to must be after from/);
    const unknown = await soundlake('ingest', '--table', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown table "nope"/);
  });
});

/**
 * The CLI as `npm run build` ships it (scripts/bundle-cli.mjs): the CommonJS launcher, the bundle
 * run from its code cache, the encoder thread found beside it. What runs from source above
 * cannot show a bundling fault (a module the bundle cannot require, the worker's path, a cache
 * that does not load). Needs the build, which `bash scripts/test.sh` runs first.
 */
const built = join(import.meta.dirname, '../../dist/cli');
describe.skipIf(!existsSync(join(built, 'soundlake.cjs')))('the built CLI (dist/cli)', () => {
  async function builtCli(entry: string, changes: NodeJS.ProcessEnv, ...args: string[]): Promise<Outcome> {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(built, entry), ...args], { env: { ...env, ...changes }, timeout: 60_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }

  it('ingests an initial and an incremental slice, writes its code cache beside the bundle, and reports status', async () => {
    // State of its own: the table loads from scratch here, whatever the tests above did.
    const own = { BRONZE_CONTAINER: `bronze-built-${h.id}`, WATERMARK_TABLE: `wmbuilt${h.id}`, LEDGER_TABLE: `runsbuilt${h.id}`, SOURCE_SLOT_TABLE: `slotsbuilt${h.id}` };
    const first = await builtCli('soundlake.cjs', own, 'ingest', '--json');
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject([{ table: 'tracks', status: 'succeeded', rows: 50, files: 1 }]);
    expect(existsSync(join(built, 'soundlake-bundle.cjs.ingest.cache'))).toBe(true);
    await h.db.query(`UPDATE ${h.schema}.tracks SET updated_at = updated_at + INTERVAL '10 days' WHERE track_id <= 3`);
    const second = await builtCli('soundlake.cjs', own, 'ingest', '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject([{ table: 'tracks', status: 'succeeded', rows: 3, files: 1 }]);
    const status = await builtCli('soundlake.cjs', own, 'status', '--json');
    expect(status.code).toBe(0);
    const { runs } = JSON.parse(status.stdout) as { runs: { subject: string; status: string }[] };
    expect(runs.filter((r) => r.subject === 'tracks').map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('runs from the old entry point too, and refuses a bad option the same way', async () => {
    const help = await builtCli('soundlake.js', {}, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: soundlake/);
    const bad = await builtCli('soundlake.cjs', {}, 'ingest', '--table', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown table "nope"/);
  });
});
