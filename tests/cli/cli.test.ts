import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, testEnv, type Harness } from '../support/harness.js';

/** The `soundlake` command as a user runs it: a separate process, settings from the environment. */
const run = promisify(execFile);
let h: Harness;
let env: NodeJS.ProcessEnv;

async function soundlake(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/soundlake.ts', ...args], { env, timeout: 60_000 });
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
    `version: 1\ndefaults:\n  lagSeconds: 0\ntables:\n  - name: tracks\n    schema: ${h.schema}\n    table: tracks\n    watermark: { column: updated_at, kind: timestamp }\n    primaryKey: [track_id]\n`,
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

  it('names the bad option and exits non-zero', async () => {
    const bad = await soundlake('backfill', '--table', 'tracks', '--from', '2026-02-03', '--to', '2026-02-01');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to must be after from/);
    const unknown = await soundlake('ingest', '--table', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown table "nope"/);
  });
});
