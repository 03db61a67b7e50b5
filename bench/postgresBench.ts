import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { BlobServiceClient } from '@azure/storage-blob';
import { ParquetPartWriter } from '../shared/bronze/parquetPartWriter.js';
import type { ColumnSegment } from '../shared/bronze/columnBatch.js';
import { DEFAULT_ROW_GROUP_BYTES } from '../shared/bronze/parquetPartWriter.js';
import { BlobLake } from '../shared/lake/blobLake.js';
import { PostgresSource } from '../shared/source/postgres/postgresSource.js';
import { CopyOut } from '../shared/source/postgres/copyOut.js';
import { copyPlan } from '../shared/source/postgres/copyQuery.js';
import { typedLiteral } from '../shared/source/postgres/sqlLiteral.js';
import type { ColumnarReadRequest, TableRef } from '../shared/source/source.js';
import { startAzurite } from '../local/azurite.js';
import { freePort } from '../local/freePort.js';
import { findPostgresBin } from '../local/postgresServer.js';
import { startBenchPostgres } from './benchPostgres.js';

/**
 * The real-PostgreSQL mode of `npm run bench -- --postgres`: a PostgreSQL server of its own on a
 * free loopback port, a fact_streams-shaped table per size seeded with generate_series, then, in
 * the same run and in interleaved rounds (the order rotates each round), whole initial loads by
 *
 *   - `COPY (SELECT ... ORDER BY key) TO STDOUT (FORMAT binary)` drained by psql to /dev/null: the read limit,
 *   - soundlake: the CLI (`soundlake ingest`) into Azurite, each in its own process,
 *   - dlt with its ConnectorX and pyarrow backends into local Parquet files (pinned, .bench/venv).
 *
 * Every contender is a process of its own and is measured the same way: wall time from spawn to
 * exit, its CPU seconds (all threads; from this process's reaped-children counters), peak RSS
 * (VmHWM), and the database server's CPU spent meanwhile (the postmaster's reaped backends).
 * Azurite's CPU is counted beside soundlake's: it runs on the same cores, where dlt writes files.
 */

const root = resolve(import.meta.dirname, '../..');
const workDir = join(root, '.bench');
const python = join(workDir, 'venv/bin/python');
const MiB = 1024 * 1024;

interface Contender {
  name: string;
  /** Why it cannot run here, or null. */
  unavailable: string | null;
  run(size: Size, round: number): Promise<Measured>;
}

interface Size {
  rows: number;
  table: string;
  /** The slice's upper bound, as soundlake plans it (MAX(updated_at)). */
  high: string;
}

interface Measured {
  wall: number;
  cpu: number;
  peakRss: number;
  serverCpu: number;
  storageCpu: number;
}

/** CPU seconds of a process from /proc: its own, plus its reaped children's when asked. */
function cpuOf(pid: number | 'self', withChildren: 'own' | 'children' | 'both'): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);
    const own = f[11]! + f[12]!;
    const children = f[13]! + f[14]!;
    const ticks = withChildren === 'own' ? own : withChildren === 'children' ? children : own + children;
    return ticks / 100;
  } catch {
    return 0;
  }
}

function childCount(pid: number): number {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
  } catch {
    return -1;
  }
}

/** Waits (with a deadline) until the server has reaped the backends a contender used. */
async function serverSettled(pid: number, baseline: number): Promise<void> {
  const until = Date.now() + 5_000;
  while (childCount(pid) > baseline && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/**
 * The environment every contender runs in: this process's, less NODE_EXTRA_CA_CERTS. Where that
 * variable names a file, Node 20 reads and parses every certificate in it as each process starts,
 * before any of its code runs; on the bench machine it names the system's whole CA bundle (144
 * certificates: some 400M instructions, about 0.1 CPU-second, per process). That is a tax of the
 * machine's set-up on Node processes, and no contender talks TLS here (loopback PostgreSQL and
 * Azurite): the report says when it was left out.
 */
function contenderEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * How the CLI is started: without V8 flags. With a heap-size flag (`--max-old-space-size=192` was
 * used here before) V8 refuses the code cache Node 20 carries for its own modules, which records
 * the flags it was made with, and every process compiles them from source: 400M more
 * instructions in a 1,000-row ingest under callgrind (1.38G against 0.98G, both without
 * NODE_EXTRA_CA_CERTS). The memory the CLI holds is bounded by its
 * own limits (row groups, the buffer pool, the upload's blocks), which the peak RSS column shows.
 */
const cli = (root: string, ...args: string[]): string[] => [join(root, 'dist/cli/soundlake.cjs'), ...args];

const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs a command to completion, measured; throws with its stderr if it fails. */
async function measure(file: string, args: string[], env: NodeJS.ProcessEnv, ids: { server: number; storage?: number }, stdoutTo?: string): Promise<Measured & { stdout: string }> {
  const baseline = childCount(ids.server);
  const server0 = cpuOf(ids.server, 'both');
  const storage0 = ids.storage ? cpuOf(ids.storage, 'own') : 0;
  const children0 = cpuOf('self', 'children');
  const out = stdoutTo ? openSync(stdoutTo, 'w') : 'pipe';
  const t0 = performance.now();
  const child = spawn(file, args, { env: contenderEnv(env), stdio: ['ignore', out, 'pipe'] });
  let peakRss = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakRss = Math.max(peakRss, Number(m[1]) * 1024);
    } catch {
      // exited between polls
    }
  }, 20);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
  const wall = (performance.now() - t0) / 1000;
  clearInterval(poll);
  if (typeof out === 'number') closeSync(out);
  await serverSettled(ids.server, baseline);
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code}:\n${stderr}`);
  return {
    wall,
    cpu: cpuOf('self', 'children') - children0,
    peakRss,
    serverCpu: cpuOf(ids.server, 'both') - server0,
    storageCpu: ids.storage ? cpuOf(ids.storage, 'own') - storage0 : 0,
    stdout,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The fact_streams shape of the issue: bigint key, two ints, two timestamptz with microseconds,
 * an int, a short text. Values are drawn from hashes of the key (uniform ids, play times and
 * devices; times in key order give or take ten minutes, updates a millisecond): no column is an
 * arithmetic progression, which a delta encoding would store in a few bits and make the bench's
 * files smaller than real data would give.
 */
function seedSql(table: string, rows: number): string {
  return `
    DROP TABLE IF EXISTS public.${table};
    CREATE TABLE public.${table} (stream_id bigint PRIMARY KEY, user_id integer NOT NULL, track_id integer NOT NULL,
      streamed_at timestamptz NOT NULL, ms_played integer NOT NULL, device_type text NOT NULL, updated_at timestamptz NOT NULL);
    INSERT INTO public.${table}
    SELECT i, 1 + (h[1] & 2147483647) % 200000, 1 + (h[2] & 2147483647) % 300000,
           TIMESTAMPTZ '2026-01-01 00:00:00+00' + (i * 1000003 + (h[3] & 2147483647) % 600000000) * INTERVAL '1 microsecond',
           5000 + (h[4] & 2147483647) % 295000,
           (ARRAY['mobile','desktop','tablet','smart_speaker','tv','car','web'])[1 + (h[5] & 2147483647) % 7],
           TIMESTAMPTZ '2026-01-01 00:00:00+00' + (i * 7 + (h[6] & 2147483647) % 1000) * INTERVAL '1 microsecond'
      FROM generate_series(1::bigint, ${rows}::bigint) i,
           LATERAL (SELECT ARRAY[hashint8extended(i, 1), hashint8extended(i, 2), hashint8extended(i, 3), hashint8extended(i, 4), hashint8extended(i, 5), hashint8extended(i, 6)] AS h) r;
    CREATE INDEX ON public.${table} (updated_at);`;
}

const COLUMNS = 'stream_id, user_id, track_id, streamed_at, ms_played, device_type, updated_at';

export interface PostgresBenchOptions {
  rows: number[];
  rounds: number;
  breakdown: boolean;
}

/** The report, or the reason this mode cannot run here. */
export async function postgresBench(options: PostgresBenchOptions): Promise<string> {
  mkdirSync(workDir, { recursive: true });
  const server = await startBenchPostgres(root, workDir);
  const bin = findPostgresBin();
  if (!server || !bin) return 'real-PostgreSQL mode skipped: no PostgreSQL server is installed and apt-get could not install one (Debian: apt-get install postgresql)';
  const psql = existsSync(join(bin, 'psql')) ? join(bin, 'psql') : 'psql';
  const port = Number(new URL(server.url).port);
  const azurite = await startAzurite({ ports: { blob: await freePort(), queue: await freePort(), table: await freePort() }, reuse: false });
  const lines: string[] = [];
  const load0 = loadAverage();
  try {
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    const sizes: Size[] = [];
    for (const rows of options.rows) {
      const table = `fact_streams_${rows}`;
      const t0 = performance.now();
      await db.query(seedSql(table, rows));
      // Its own statement: VACUUM cannot run inside the implicit transaction of a multi-statement query.
      await db.query(`VACUUM (FREEZE, ANALYZE) public.${table}`);
      const { rows: r } = await db.query(`SELECT MAX(updated_at)::text AS high FROM public.${table}`);
      sizes.push({ rows, table, high: r[0].high as string });
      process.stderr.write(`seeded ${table} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    // A small table of the same shape, for the run that writes the CLI's code cache.
    const warm = 'fact_streams_warm';
    await db.query(seedSql(warm, 1000));
    await db.end();

    const config = join(workDir, 'bench-postgres.yaml');
    writeFileSync(
      config,
      `version: 1\ndefaults: { maxRowsPerFile: 1000000, rowGroupRows: 65536, lagSeconds: 0 }\ntables:\n${[...sizes.map((s) => s.table), warm]
        .map((t) => `  - name: ${t}\n    source: { schema: public, table: ${t} }\n    watermark: { column: updated_at, kind: timestamp }\n    primaryKey: [stream_id]\n`)
        .join('')}`,
    );
    const ids = { server: server.pid };
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const venvReason = existsSync(python) ? null : 'no bench venv (.bench/venv): python3 or PyPI unavailable';
    const dltPeer = (backend: string): Contender => ({
      name: `dlt 1.31 + ${backend === 'connectorx' ? 'ConnectorX' : 'pyarrow'} -> local Parquet`,
      unavailable: venvReason,
      run: async (size, round) => {
        const out = join(workDir, `dlt-${backend}-${round}`);
        rmSync(out, { recursive: true, force: true });
        try {
          const m = await measure(python, [join(root, 'bench/peers/dlt_load.py'), backend, server.url.replace('postgres://', 'postgresql://'), 'public', size.table, out], {}, ids);
          const result = JSON.parse(m.stdout.trim().split('\n').at(-1)!) as { rows: number };
          if (result.rows !== size.rows) throw new Error(`dlt ${backend} loaded ${result.rows} rows, not ${size.rows}`);
          return m;
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      },
    });
    const contenders: Contender[] = [
      {
        name: 'COPY TO STDOUT (binary) -> /dev/null (psql)',
        unavailable: null,
        run: async (size) =>
          measure(
            psql,
            ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', `COPY (SELECT ${COLUMNS} FROM public.${size.table} WHERE (updated_at <= ${typedLiteral(size.high, 'timestamp with time zone')} OR updated_at IS NULL) ORDER BY stream_id) TO STDOUT (FORMAT binary)`],
            {},
            ids,
            '/dev/null',
          ),
      },
      {
        name: 'soundlake CLI -> Azurite',
        unavailable: null,
        run: async (size, round) => {
          const id = `r${round}x${size.rows}`;
          const env = {
            SOUNDLAKE_STORAGE: azurite.connectionString,
            SOURCE_URL: server.url,
            SOUNDLAKE_CONFIG: config,
            BRONZE_CONTAINER: `bench-${id}`,
            WATERMARK_TABLE: `wm${id}`,
            LEDGER_TABLE: `runs${id}`,
            LOG_LEVEL: 'warn',
          };
          try {
            const m = await measure(process.execPath, cli(root, 'ingest', '--table', size.table, '--json'), env, { ...ids, storage: azurite.pid });
            const [result] = JSON.parse(m.stdout) as { status: string; rows: number; message: string }[];
            if (result?.status !== 'succeeded' || result.rows !== size.rows) throw new Error(`soundlake: ${JSON.stringify(result)}`);
            return m;
          } finally {
            await blobs.getContainerClient(env.BRONZE_CONTAINER).deleteIfExists();
          }
        },
      },
      {
        name: 'soundlake CLI -> local files (BRONZE_DIR)',
        unavailable: null,
        run: async (size, round) => {
          const id = `f${round}x${size.rows}`;
          const dir = join(workDir, `lake-${id}`);
          rmSync(dir, { recursive: true, force: true });
          // State still in Table Storage (Azurite), which a run touches a few dozen times; the data goes to files, as dlt's does.
          const env = { SOUNDLAKE_STORAGE: azurite.connectionString, SOURCE_URL: server.url, SOUNDLAKE_CONFIG: config, BRONZE_DIR: dir, WATERMARK_TABLE: `wm${id}`, LEDGER_TABLE: `runs${id}`, LOG_LEVEL: 'warn' };
          try {
            const m = await measure(process.execPath, cli(root, 'ingest', '--table', size.table, '--json'), env, { ...ids, storage: azurite.pid });
            const [result] = JSON.parse(m.stdout) as { status: string; rows: number }[];
            if (result?.status !== 'succeeded' || result.rows !== size.rows) throw new Error(`soundlake (files): ${JSON.stringify(result)}`);
            return m;
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      },
      dltPeer('connectorx'),
      dltPeer('pyarrow'),
    ];
    const runnable = contenders.filter((c) => !c.unavailable);
    for (const c of contenders) if (c.unavailable) lines.push(`${c.name}: skipped, ${c.unavailable}`);

    // The CLI writes its code cache (cli/codeCache.ts, one per command) in the command's first
    // run after a build, as the peers' Python wrote its bytecode caches when installed: made
    // once here by an ingest of the small table, with the flags the rounds use, so no round pays for it.
    const warmEnv = { SOUNDLAKE_STORAGE: azurite.connectionString, SOURCE_URL: server.url, SOUNDLAKE_CONFIG: config, BRONZE_CONTAINER: 'bench-warm', WATERMARK_TABLE: 'wmwarm', LEDGER_TABLE: 'runswarm', LOG_LEVEL: 'warn' };
    const warmRun = spawnSync(process.execPath, cli(root, 'ingest', '--table', warm, '--json'), { env: contenderEnv(warmEnv), encoding: 'utf8' });
    if (warmRun.status !== 0) throw new Error(`the warm-up ingest failed: ${warmRun.stderr}`);
    await blobs.getContainerClient('bench-warm').deleteIfExists();
    for (const size of sizes) {
      const results = new Map<string, Measured[]>(runnable.map((c) => [c.name, []]));
      // Warm the table into the page cache once, so no contender pays for the first read from disk.
      await measure(psql, ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', `COPY public.${size.table} TO STDOUT`], {}, ids, '/dev/null');
      for (let round = 1; round <= options.rounds; round++) {
        // Interleaved: each round in another order, so drift in the machine's load spreads over all.
        const order = runnable.map((_, i) => runnable[(i + round - 1) % runnable.length]!);
        for (const c of order) {
          const m = await c.run(size, round);
          results.get(c.name)!.push(m);
          process.stderr.write(`${size.rows} rows, round ${round}: ${c.name} ${m.wall.toFixed(2)} s, ${m.cpu.toFixed(2)} CPU s, ${(m.peakRss / 1e6).toFixed(0)} MB (load ${loadAverage()})\n`);
        }
      }
      lines.push(report(size, results, options.rounds));
    }
    if (options.breakdown && sizes.length > 0) lines.push(await breakdown(server.url, sizes[0]!, azurite.connectionString, azurite.pid));
  } finally {
    await azurite.stop();
    await server.stop();
  }
  return [
    `soundlake vs peers on a real PostgreSQL (${server.version}, 127.0.0.1:${port}); node ${process.version}; ${os.cpus().length} cores; load average at start ${load0}, at end ${loadAverage()}`,
    ...(process.env.NODE_EXTRA_CA_CERTS ? [`NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS}) left out of every contender's environment: no contender uses TLS here`] : []),
    ...lines,
  ].join('\n');
}

function report(size: Size, results: Map<string, Measured[]>, rounds: number): string {
  const perM = (x: number): string => (x / (size.rows / 1e6)).toFixed(2);
  const rows: string[][] = [['', 'wall s', 'rows/s', 'CPU s/1M own', 'db CPU s/1M', 'Azurite CPU s/1M', 'peak RSS MB']];
  for (const [name, ms] of results) {
    const wall = median(ms.map((m) => m.wall));
    rows.push([
      name,
      wall.toFixed(2),
      Math.round(size.rows / wall).toLocaleString('en'),
      perM(median(ms.map((m) => m.cpu))),
      perM(median(ms.map((m) => m.serverCpu))),
      name.startsWith('soundlake') ? perM(median(ms.map((m) => m.storageCpu))) : '',
      (Math.max(...ms.map((m) => m.peakRss)) / 1e6).toFixed(0),
    ]);
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const table = rows.map((r) => `  ${r.map((v, j) => (j === 0 ? v.padEnd(widths[j]!) : v.padStart(widths[j]!))).join('  ')}`).join('\n');
  const walls = (prefix: string): number[] | undefined => [...results.entries()].find(([n]) => n.startsWith(prefix))?.[1].map((m) => m.wall);
  const sl = walls('soundlake CLI -> Azurite');
  const ratios: string[] = [];
  const paired = (other: number[] | undefined, label: string, goal: string): void => {
    if (!sl || !other) return;
    const each = sl.map((t, i) => other[i]! / t);
    ratios.push(`${label} ${median(each).toFixed(2)}x (goal ${goal}; rounds ${each.map((r) => r.toFixed(2)).join(' ')})`);
  };
  paired(walls('dlt 1.31 + ConnectorX'), 'soundlake speed / dlt+ConnectorX', '>= 1.25');
  paired(walls('COPY'), 'soundlake rate / COPY rate', '>= 0.6');
  paired(walls('dlt 1.31 + pyarrow'), 'soundlake speed / dlt+pyarrow', 'none');
  const files = walls('soundlake CLI -> local files');
  const cx = walls('dlt 1.31 + ConnectorX');
  const copy = walls('COPY');
  if (files && cx) ratios.push(`soundlake -> files speed / dlt+ConnectorX -> files ${median(files.map((t, i) => cx[i]! / t)).toFixed(2)}x (rounds ${files.map((t, i) => (cx[i]! / t).toFixed(2)).join(' ')})`);
  if (files && copy) ratios.push(`soundlake -> files rate / COPY rate ${median(files.map((t, i) => copy[i]! / t)).toFixed(2)}x (rounds ${files.map((t, i) => (copy[i]! / t).toFixed(2)).join(' ')})`);
  return [`rows ${size.rows.toLocaleString('en')}: median of ${rounds} interleaved rounds; peak RSS is the highest of the rounds`, table, `  ${ratios.join('\n  ')}`].join('\n');
}

/**
 * Where soundlake's CPU goes, stage by stage, over the same rows in this process: each stage run
 * alone and measured by CPU seconds (main thread and encoder thread together; nothing else runs).
 */
async function breakdown(url: string, size: Size, storage: string, storagePid: number | undefined): Promise<string> {
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const table: TableRef = { schema: 'public', table: size.table };
  const source = new PostgresSource({ url });
  const columns = await source.describe(table);
  const request: ColumnarReadRequest = {
    table,
    columns,
    watermark: { column: 'updated_at', kind: 'timestamp' },
    primaryKey: ['stream_id'],
    bounds: { low: null, high: size.high },
    after: null,
    batchRows: 10_000,
    limits: { groupRows: 65_536, groupBytes: DEFAULT_ROW_GROUP_BYTES, partRows: size.rows },
  };
  // 1. The COPY stream alone: socket, protocol framing, chunks dropped.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`SET TIME ZONE 'UTC'`);
  const plan = await copyPlan(client as unknown as pg.PoolClient, request);
  let c0 = cpu();
  let bytes = 0;
  for await (const _ of client.query(new CopyOut(plan.sql)).run((_b, start, end) => (bytes += end - start))) continue;
  const read = cpu() - c0;
  await client.end();
  // 2. Read and decode into Arrow row groups (kept for the next stages).
  const groups: ColumnSegment[] = [];
  c0 = cpu();
  for await (const g of source.readColumns(request)) groups.push(g);
  const decode = cpu() - c0 - read;
  await source.close();
  // 3. Parquet encoding (the encoder thread) into memory.
  const chunks: Uint8Array[] = [];
  c0 = cpu();
  const writer = new ParquetPartWriter(columns, { stage: async (b) => void chunks.push(b), commit: async () => chunks.reduce((n, b) => n + b.length, 0) }, 65_536);
  for (const g of groups) await writer.addGroup(g);
  const fileBytes = await writer.finish();
  const encode = cpu() - c0;
  // 4. Upload: the same blocks staged to Azurite and committed.
  const lake = new BlobLake({ container: BlobServiceClient.fromConnectionString(storage).getContainerClient('bench-breakdown') });
  await lake.ensure();
  const s0 = storagePid ? cpuOf(storagePid, 'own') : 0;
  c0 = cpu();
  const upload = lake.upload('breakdown.parquet');
  for (const b of chunks) await upload.stage(b);
  await upload.commit('application/vnd.apache.parquet');
  const uploadCpu = cpu() - c0;
  const azuriteCpu = storagePid ? cpuOf(storagePid, 'own') - s0 : 0;
  await BlobServiceClient.fromConnectionString(storage).getContainerClient('bench-breakdown').deleteIfExists();
  const perM = (x: number): string => (x / (size.rows / 1e6)).toFixed(2);
  return [
    `where soundlake's CPU goes, per 1M rows (${size.rows.toLocaleString('en')} rows, each stage alone in one process; ${(bytes / MiB).toFixed(0)} MiB of COPY data, ${(fileBytes / MiB).toFixed(1)} MiB of Parquet):`,
    `  read (socket + COPY framing) ${perM(read)} | decode into Arrow columns ${perM(decode)} | Parquet encode (worker) ${perM(encode)} | upload (client) ${perM(uploadCpu)} | Azurite receiving ${perM(azuriteCpu)}`,
  ].join('\n');
}
