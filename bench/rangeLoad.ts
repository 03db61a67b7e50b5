import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import pg from 'pg';
import type { RunningPostgresServer } from '../local/postgresServer.js';
import { startBenchPostgres } from './benchPostgres.js';
import { createApp } from '../shared/app/soundlakeApp.js';
import type { SliceManifest } from '../shared/bronze/manifest.js';
import type { TableConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import { ingestTable } from '../shared/extract/ingestTable.js';
import { runRange } from '../shared/extract/rangeLoad.js';
import type { Logger } from '../shared/logging/logger.js';
import { newRunId } from '../shared/run/runId.js';

/**
 * A first load in parallel key ranges against a real PostgreSQL (PGlite serves one session, so
 * ranges cannot read at once there): generate a table of `rows` stream events, analyze it (so
 * the row estimate is the planner's), load it in `ranges` ranges, `concurrency` at a time, and
 * check the counts: every range committed, the slice's one manifest holding the table's rows and
 * every range's files, one watermark move.
 * Without `sourceUrl` it starts a PostgreSQL server of its own (Debian's package; bench/setup-postgres.sh
 * installs it). With `bronzeDir` bronze goes to that folder (the FileLake) and, after the load,
 * bench/peers/keys_once.py reads every key back from the Parquet files: each of 1..rows exactly once.
 */
export async function rangedLoadCase(args: { sourceUrl?: string; bronzeDir?: string; storage: string; rows: number; ranges: number; concurrency: number; logger: Logger }): Promise<string> {
  const { rows, ranges, concurrency } = args;
  const root = resolve(import.meta.dirname, '../..');
  let server: RunningPostgresServer | null = null;
  if (!args.sourceUrl) {
    server = await startBenchPostgres(root, join(root, '.bench'));
    if (!server) throw new Error('--ranged without --source-url needs a PostgreSQL server, and none is installed (Debian: apt-get install postgresql)');
    process.stderr.write(`started ${server.version} at ${server.url}\n`);
  }
  const sourceUrl = args.sourceUrl ?? server!.url;
  const db = new pg.Client({ connectionString: sourceUrl });
  await db.connect();
  try {
    return await loadAndCheck({ ...args, sourceUrl }, db, root);
  } finally {
    await db.end();
    await server?.stop();
  }
}

async function loadAndCheck(args: { sourceUrl: string; bronzeDir?: string; storage: string; rows: number; ranges: number; concurrency: number; logger: Logger }, db: pg.Client, root: string): Promise<string> {
  const { rows, ranges, concurrency } = args;
  const t0 = performance.now();
  await db.query('DROP SCHEMA IF EXISTS bench_ranged CASCADE');
  await db.query('CREATE SCHEMA bench_ranged');
  // Ten rows a second from 2020: 300M rows end in December 2020, and every row is in the past (a
  // slice never reads past the source's clock, so future-dated rows would wait for their time).
  // The key is added after the rows: one sorted index build instead of 300M b-tree inserts.
  await db.query(`CREATE TABLE bench_ranged.stream_events (stream_id bigint NOT NULL, user_id integer NOT NULL, track_id integer NOT NULL, ms_played integer NOT NULL, device_type text NOT NULL, updated_at timestamptz NOT NULL)`);
  const step = 5_000_000;
  for (let from = 1; from <= rows; from += step) {
    const to = Math.min(rows, from + step - 1);
    await db.query(
      `INSERT INTO bench_ranged.stream_events SELECT i, (i * 7919) % 20000, (i * 104729) % 30000, 30000 + (i % 180000)::int, (ARRAY['mobile','desktop','web','tv'])[1 + i % 4], TIMESTAMPTZ '2020-01-01' + i * INTERVAL '100 milliseconds' FROM generate_series($1::bigint, $2::bigint) i`,
      [from, to],
    );
    process.stderr.write(`seeded ${to.toLocaleString('en')} rows\n`);
  }
  await db.query('ALTER TABLE bench_ranged.stream_events ADD PRIMARY KEY (stream_id)');
  await db.query('ANALYZE bench_ranged.stream_events');
  process.stderr.write(`seeded and analyzed ${rows.toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const table: TableConfig = {
    name: 'stream_events',
    silverName: 'stream_events',
    source: 'default',
    schema: 'bench_ranged',
    table: 'stream_events',
    watermark: { column: 'updated_at', kind: 'timestamp' },
    primaryKey: ['stream_id'],
    enabled: true,
    maxRowsPerFile: 1_000_000,
    rowGroupRows: 65_536,
    lagSeconds: 0,
  };
  const id = `r${Date.now().toString(36)}`;
  const bronzeDir = args.bronzeDir ? join(resolve(args.bronzeDir), id) : undefined;
  const settings = loadSettings({ SOUNDLAKE_STORAGE: args.storage, SOURCE_URL: args.sourceUrl, BRONZE_CONTAINER: `bench-${id}`, WATERMARK_TABLE: `wm${id}`, LEDGER_TABLE: `runs${id}`, ...(bronzeDir ? { BRONZE_DIR: bronzeDir } : {}) });
  settings.ranges = { rowsPerRange: Math.ceil(rows / ranges), maxRanges: Math.max(2, ranges) };
  const app = await createApp(settings, { logger: args.logger, config: { tables: [table] } });
  try {
    const deps = app.ingestDeps();
    const runId = newRunId('bench');
    const t = performance.now();
    const planned = await ingestTable(deps, table, { runId, trigger: 'bench' });
    if (!planned.ranges) throw new Error(`the load was not cut into ranges: ${planned.message}`);
    const limit = pLimit(concurrency);
    let done = 0;
    const results = await Promise.all(
      planned.ranges.map((r) =>
        limit(async () => {
          const result = await runRange(deps, table, r, { runId, trigger: 'bench' });
          process.stderr.write(`range ${r}: ${result.status}, ${result.rows.toLocaleString('en')} rows; ${++done} of ${planned.ranges!.length} ranges after ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
          return result;
        }),
      ),
    );
    const seconds = (performance.now() - t) / 1000;
    const failed = results.filter((r) => r.status !== 'succeeded');
    if (failed.length > 0) throw new Error(`ranges failed: ${failed.map((r) => r.message).join('; ')}`);
    // The counts: the ranges', the slice's one manifest's and the table's agree, and the watermark moved once.
    const extracted = results.reduce((n, r) => n + r.rows, 0);
    const files = results.reduce((n, r) => n + r.files, 0);
    const manifests: SliceManifest[] = [];
    for await (const o of app.lake.list(`_manifests/${table.name}/`)) manifests.push(JSON.parse((await app.lake.get(o.path))!.toString('utf8')) as SliceManifest);
    const state = await app.watermarks.get(table.name);
    const sourceRows = Number((await db.query('SELECT count(*)::bigint AS n FROM bench_ranged.stream_events')).rows[0].n);
    const [manifest] = manifests;
    if (manifests.length !== 1 || manifest!.slice !== planned.slice || manifest!.rows !== sourceRows || manifest!.files.length !== files || extracted !== sourceRows || state?.seq !== 1 || state.pending !== null) {
      throw new Error(
        `counts disagree: source ${sourceRows}, ranges ${extracted} rows in ${files} files, ${manifests.length} manifests (${manifests.map((m) => `${m.slice}: ${m.rows} rows in ${m.files.length} files`).join('; ')}), watermark seq ${state?.seq}, pending ${state?.pending ? 'yes' : 'no'}`,
      );
    }
    let keys = '';
    if (bronzeDir) {
      // Counts can agree while one row is doubled and another lost: read every key back.
      const t1 = performance.now();
      const check = spawnSync(join(root, '.venv/bin/python'), [join(root, 'bench/peers/keys_once.py'), join(bronzeDir, table.name), 'stream_id', String(sourceRows)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const found = check.status === 0 ? (JSON.parse(check.stdout) as { files: number; rows: number; every_key_once: boolean }) : null;
      if (!found?.every_key_once) throw new Error(`keys in bronze are not 1..${sourceRows} exactly once: ${check.stdout || `keys_once.py exited ${check.status}`}`);
      keys = `, every key 1..${sourceRows.toLocaleString('en')} read back once from ${found.files} Parquet files (${((performance.now() - t1) / 1000).toFixed(0)} s)`;
    }
    return [
      `ranged first load ${rows.toLocaleString('en')} rows (real PostgreSQL)`,
      `${results.length} ranges, ${concurrency} at a time`,
      `${Math.round(rows / seconds).toLocaleString('en')} rows/s`,
      `${seconds.toFixed(1)} s`,
      `${files} files in the slice's one manifest, counts agree, watermark moved once${keys}`,
      bronzeDir ? `bronze: local folder ${bronzeDir}` : 'bronze: Azurite',
    ].join(' | ');
  } finally {
    await app.close();
  }
}
