import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import { parquetMetadata } from 'hyparquet';
import pg from 'pg';
import { createApp } from '../shared/app/soundlakeApp.js';
import { DEFAULT_ROW_GROUP_BYTES } from '../shared/bronze/parquetPartWriter.js';
import type { TableConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import { ingestTable } from '../shared/extract/ingestTable.js';
import type { Lake } from '../shared/lake/lake.js';
import { createLogger } from '../shared/logging/logger.js';
import { newRunId } from '../shared/run/runId.js';
import { PostgresSource } from '../shared/source/postgres/postgresSource.js';
import { startAzurite } from '../local/azurite.js';
import { startEmbeddedPostgres } from '../local/embeddedPostgres.js';
import { createDemoSchema, demoSize, seedStreams } from '../local/demoData.js';
import { postgresBench } from './postgresBench.js';
import { rangedLoadCase } from './rangeLoad.js';

/**
 * Extraction throughput against merely reading the same query with the same driver, and peak
 * memory. Azurite and PGlite run as separate processes, as a real database and storage would.
 */
const opts = new Command()
  .option('-r, --rows <n>', 'stream events to extract (repeatable list: 1000000,5000000; 0 skips)', '1000000')
  .option('--rounds <n>', 'measurements per size (best is reported)', '2')
  .option('--wide <rows>x<chars>', 'wide-row case: rows of that many characters each, extracted first (0 skips it)', '1200x100000')
  .option('--postgres', 'real-PostgreSQL mode: soundlake CLI vs dlt (ConnectorX, pyarrow) vs COPY on a PostgreSQL server of its own (bench/postgresBench.ts)')
  .option('--no-breakdown', 'real-PostgreSQL mode: skip the CPU breakdown by stage')
  .option('--ranged <rows>', 'instead: a first load of that many generated rows in parallel key ranges, against --source-url (a real PostgreSQL)')
  .option('--source-url <url>', 'the PostgreSQL the ranged case generates its table in (schema bench_ranged, dropped first); default: a server of its own from Debian\'s postgresql package')
  .option('--bronze-dir <dir>', 'ranged case: bronze to this local folder (the FileLake) instead of Azurite, and every key checked once in the Parquet files')
  .option('--ranges <n>', 'key ranges of the ranged case', '8')
  .option('--concurrency <n>', 'ranges at once in the ranged case', '4')
  .parse()
  .opts<{ rows: string; rounds: string; wide: string; postgres?: boolean; breakdown: boolean; ranged?: string; sourceUrl?: string; ranges: string; concurrency: string; bronzeDir?: string }>();

const sizes = opts.rows.split(',').map((s) => Number.parseInt(s, 10)).filter((n) => n > 0);
const rounds = Number.parseInt(opts.rounds, 10);

class PeakRss {
  peak = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), 20);
  }
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    return this.peak;
  }
}

const mb = (n: number): string => (n / 1e6).toFixed(1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** CPU seconds used so far by another process (the database), from /proc. */
const cpuOfPid = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const logger = createLogger({ level: 'warn', fd: 2 });
const MiB = 1024 * 1024;

/** A table of the embedded source with the default file and row-group sizes. */
const benchTable = (name: string, key: string): TableConfig => ({
  name,
  silverName: name,
  source: 'default',
  schema: 'public',
  table: name,
  watermark: { column: 'updated_at', kind: 'timestamp' },
  primaryKey: [key],
  enabled: true,
  maxRowsPerFile: 1_000_000,
  rowGroupRows: 65_536,
  lagSeconds: 0,
});

/** Size before compression of every row group of every file of a bronze table, from the footers. */
async function rowGroupBytes(lake: Lake, table: string): Promise<number[]> {
  const sizes: number[] = [];
  for await (const o of lake.list(`${table}/`)) {
    const bytes = (await lake.get(o.path))!;
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    sizes.push(...meta.row_groups.map((g) => Number(g.total_byte_size)));
  }
  return sizes;
}

/**
 * Wide rows: each row a long text that compresses well (the case where row groups used to grow
 * past their bound). Run first, in a fresh process, so its peak RSS is its own.
 */
async function wideCase(rows: number, chars: number): Promise<string> {
  const postgres = await startEmbeddedPostgres({ port: 25434, reuse: false });
  try {
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    await db.query(`CREATE TABLE public.wide_rows (id integer PRIMARY KEY, body text NOT NULL, updated_at timestamptz NOT NULL)`);
    // Distinct per row, 32 characters repeated: Snappy shrinks it about tenfold.
    await db.query(
      `INSERT INTO public.wide_rows SELECT i, left(repeat(md5(i::text), ceil($2::int / 32.0)::int), $2::int), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, $1::int) i`,
      [rows, chars],
    );
    await db.end();
    const table = benchTable('wide_rows', 'id');
    const settings = loadSettings({ SOUNDLAKE_STORAGE: azurite.connectionString, SOURCE_URL: postgres.url, BRONZE_CONTAINER: 'bench-wide', WATERMARK_TABLE: 'wmwide', LEDGER_TABLE: 'runswide' });
    const app = await createApp(settings, { logger, config: { tables: [table] } });
    const rss = new PeakRss();
    rss.start();
    const t = performance.now();
    const result = await ingestTable(app.ingestDeps(), table, { runId: newRunId('bench'), trigger: 'bench' });
    const seconds = (performance.now() - t) / 1000;
    const peak = rss.stop();
    if (result.status !== 'succeeded' || result.rows !== rows) throw new Error(`wide-row extraction did not succeed: ${result.message}`);
    const groups = await rowGroupBytes(app.lake, table.name);
    await app.close();
    return [
      `wide rows ${rows.toLocaleString('en')} x ${chars.toLocaleString('en')} chars`,
      `extract ${Math.round(rows / seconds).toLocaleString('en')} rows/s`,
      `${((rows * chars) / 1e6 / seconds).toFixed(1)} MB/s of text`,
      `${groups.length} row groups, largest ${(Math.max(...groups) / MiB).toFixed(1)} MiB before compression (bound ${DEFAULT_ROW_GROUP_BYTES / MiB} MiB)`,
      `peak RSS ${mb(peak)} MB`,
    ].join(' | ');
  } finally {
    await postgres.stop();
  }
}

if (opts.postgres) {
  process.stdout.write(`\n${await postgresBench({ rows: sizes, rounds, breakdown: opts.breakdown })}\n`);
  process.exit(0);
}

const azurite = await startAzurite({ ports: { blob: 22000, queue: 22001, table: 22002 }, reuse: false });
const results: string[] = [];
try {
  if (opts.ranged) {
    const rows = Number.parseInt(opts.ranged, 10);
    results.push(await rangedLoadCase({ ...(opts.sourceUrl ? { sourceUrl: opts.sourceUrl } : {}), ...(opts.bronzeDir ? { bronzeDir: opts.bronzeDir } : {}), storage: azurite.connectionString, rows, ranges: Number.parseInt(opts.ranges, 10), concurrency: Number.parseInt(opts.concurrency, 10), logger }));
    sizes.length = 0;
    opts.wide = '0x0';
  }
  const [wideRows = 0, wideChars = 0] = opts.wide.split('x').map((n) => Number.parseInt(n, 10));
  if (wideRows > 0 && wideChars > 0) results.push(await wideCase(wideRows, wideChars));
  for (const rows of sizes) {
    const postgres = await startEmbeddedPostgres({ port: 25434, reuse: false });
    try {
      const db = new pg.Client({ connectionString: postgres.url });
      await db.connect();
      await createDemoSchema(db);
      const t0 = performance.now();
      await seedStreams(db, { ...demoSize(1), streams: rows }, (m) => process.stderr.write(`seed ${m}\n`));
      process.stderr.write(`seeded ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      await db.end();

      const table = benchTable('fact_streams', 'stream_id');
      let bestRead = 0;
      let bestExtract = 0;
      // Each round reads, then extracts, back to back: their ratio is paired against drift in machine load.
      const paired: number[] = [];
      let extractMBps = 0;
      let peak = 0;
      let readCpu = { own: 0, db: 0 };
      let extractCpu = { own: 0, db: 0, storage: 0 };
      for (let round = 1; round <= rounds; round++) {
        // Baseline: the extractor's own read through the same driver and decoder, nothing written.
        const source = new PostgresSource({ url: postgres.url });
        const columns = await source.describe(table);
        const high = (await source.safeUpperBound(table, table.watermark, 0))!;
        let count = 0;
        let c0 = { own: ownCpu(), db: cpuOfPid(postgres.pid) };
        let t = performance.now();
        // The same read extraction does (binary COPY decoded into Arrow row groups), groups dropped.
        const limits = { groupRows: table.rowGroupRows, groupBytes: DEFAULT_ROW_GROUP_BYTES, partRows: table.maxRowsPerFile };
        for await (const group of source.readColumns({ table, columns, watermark: table.watermark, primaryKey: table.primaryKey, bounds: { low: null, high }, after: null, batchRows: 10_000, limits })) {
          count += group.rows;
        }
        const readRate = count / ((performance.now() - t) / 1000);
        if (readRate > bestRead) readCpu = { own: ownCpu() - c0.own, db: cpuOfPid(postgres.pid) - c0.db };
        bestRead = Math.max(bestRead, readRate);
        await source.close();

        const id = `b${round}x${rows}`;
        const settings = loadSettings({
          SOUNDLAKE_STORAGE: azurite.connectionString,
          SOURCE_URL: postgres.url,
          BRONZE_CONTAINER: `bench-${id.toLowerCase()}`,
          WATERMARK_TABLE: `wm${id}`,
          LEDGER_TABLE: `runs${id}`,
        });
        const app = await createApp(settings, { logger, config: { tables: [table] } });
        const rss = new PeakRss();
        rss.start();
        const storage0 = cpuOfPid(azurite.pid);
        c0 = { own: ownCpu(), db: cpuOfPid(postgres.pid) };
        t = performance.now();
        const result = await ingestTable(app.ingestDeps(), table, { runId: newRunId('bench'), trigger: 'bench' });
        const seconds = (performance.now() - t) / 1000;
        peak = Math.max(peak, rss.stop());
        if (result.status !== 'succeeded' || result.rows !== rows) throw new Error(`bench extraction did not succeed: ${result.message}`);
        const rate = result.rows / seconds;
        paired.push(rate / readRate);
        if (rate > bestExtract) {
          extractCpu = { own: ownCpu() - c0.own, db: cpuOfPid(postgres.pid) - c0.db, storage: cpuOfPid(azurite.pid) - storage0 };
          bestExtract = rate;
          extractMBps = result.bytes / 1e6 / seconds;
        }
        process.stderr.write(
          `round ${round}: read ${Math.round(readRate).toLocaleString('en')} rows/s, extract ${Math.round(rate).toLocaleString('en')} rows/s, ${result.files} files, ${mb(result.bytes)} MB\n`,
        );
        await app.close();
      }
      results.push(
        [
          `rows ${rows.toLocaleString('en')}`,
          `extract ${Math.round(bestExtract).toLocaleString('en')} rows/s`,
          `${extractMBps.toFixed(1)} MB/s`,
          `read-only ${Math.round(bestRead).toLocaleString('en')} rows/s`,
          `ratio ${(bestExtract / bestRead).toFixed(2)} (best/best; paired median ${median(paired).toFixed(2)} of ${paired.map((r) => r.toFixed(2)).join(' ')})`,
          `peak RSS ${mb(peak)} MB`,
        ].join(' | '),
      );
      const perM = (x: number): string => (x / (rows / 1e6)).toFixed(2);
      results.push(
        `  CPU s per 1M rows: read-only = soundlake ${perM(readCpu.own)} + database ${perM(readCpu.db)}; ` +
          `extract = soundlake ${perM(extractCpu.own)} (main + encoder thread) + database ${perM(extractCpu.db)} + storage emulator ${perM(extractCpu.storage)}; ${os.cpus().length} cores`,
      );
    } finally {
      await postgres.stop();
    }
  }
} finally {
  await azurite.stop();
}
process.stdout.write(`\nsoundlake extraction benchmark (${opts.ranged ? 'PostgreSQL' : 'PGlite'} -> ${opts.bronzeDir ? 'local files' : 'Azurite'}, Snappy Parquet by shared/bronze/parquet; node ${process.version} ${process.execArgv.join(' ')})\n${results.join('\n')}\n`);
