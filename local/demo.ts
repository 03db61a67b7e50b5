import { spawn } from 'node:child_process';
import { watermarkLabel } from '../shared/source/watermarkLabel.js';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { bytes, table } from '../cli/format.js';
import { createApp, type SoundlakeApp } from '../shared/app/soundlakeApp.js';
import { loadPipelineConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import type { RunSummary } from '../shared/ingest/runIngestion.js';
import { runIngestion } from '../shared/ingest/runIngestion.js';
import { mergeCatalogs, SOURCES_PRESET, startSourceStandIns } from './sourcesDemo.js';
import { createLogger } from '../shared/logging/logger.js';
import { newRunId } from '../shared/run/runId.js';
import { startAzurite } from './azurite.js';
import { portOpen } from './childProcess.js';
import { applyDemoChanges, createDemoSchema, demoSize, dropDemoSchema, seedDimensions, seedStreams } from './demoData.js';
import { startEmbeddedPostgres } from './embeddedPostgres.js';
import { freePort } from './freePort.js';

/**
 * The whole product on one machine: Azurite and an embedded Postgres seeded with the demo
 * catalogue, an initial load, a day of source changes, an incremental pass, an idle pass, then
 * the medallion on local Spark and the hit model on its gold. Same core and same code paths as
 * the Functions.
 */
const opts = new Command()
  .name('demo')
  .option('--scale <n>', 'size of the catalogue (1 = 20k users, 30k tracks)', '1')
  .option('--streams <n>', 'stream events in the source (default 1,000,000 x scale)')
  .option('--no-medallion', 'stop after bronze (skip local Spark)')
  .option('--no-hit', 'skip the hit model after gold')
  .option('--keep', 'leave Azurite and the source running afterwards (Ctrl-C to stop)')
  .parse()
  .opts<{ scale: string; streams?: string; medallion: boolean; hit: boolean; keep?: boolean }>();

const t0 = Date.now();
const say = (msg: string): void => {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
};
const root = resolve('.soundlake');

function printRun(title: string, summary: RunSummary): void {
  say(`${title}: run ${summary.runId}`);
  process.stdout.write(
    `${table(
      ['table', 'status', 'rows', 'files', 'size', 'watermark low', 'watermark high'],
      summary.results.map((r) => [r.table, r.status, r.rows.toLocaleString('en'), r.files, bytes(r.bytes), watermarkLabel(r.low), watermarkLabel(r.high)]),
    )}\n`,
  );
  const failed = summary.results.filter((r) => r.status === 'failed');
  if (failed.length > 0) throw new Error(failed.map((r) => r.message).join('\n'));
}

async function bronzeReport(app: SoundlakeApp): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const t of app.config.tables) {
    let files = 0;
    let size = 0;
    let count = 0;
    const slices: string[] = [];
    for await (const o of app.lake.list(`_manifests/${t.name}/`)) {
      const m = JSON.parse((await app.lake.get(o.path))!.toString('utf8')) as { slice: string; kind: string; rows: number; bytes: number; files: unknown[] };
      files += m.files.length;
      size += m.bytes;
      count += m.rows;
      slices.push(`${m.slice}(${m.kind})`);
    }
    rows.push([t.name, slices.length, files, count.toLocaleString('en'), bytes(size), slices.join(' ')]);
  }
  say(`what landed in bronze (${app.lake.location})`);
  process.stdout.write(`${table(['table', 'slices', 'files', 'rows', 'size', 'manifests'], rows)}\n`);
}

function runPython(title: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const python = resolve('.venv/bin/python');
  if (!existsSync(python)) {
    say(`${title} skipped: no .venv (run scripts/setup.sh, or pass --no-medallion)`);
    return Promise.resolve();
  }
  return new Promise((done, fail) => {
    // This checkout's Python code, whichever checkout the venv was installed from (worktrees share one).
    const child = spawn(python, args, { stdio: 'inherit', env: { ...process.env, ...env, PYTHONPATH: resolve('databricks/src'), PYTHONUNBUFFERED: '1' } });
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${title} exited with code ${code}`))));
    child.on('error', fail);
  });
}

function runMedallion(connectionString: string, container: string, catalog: string): Promise<void> {
  say('medallion: bronze (Azurite) -> silver -> gold on local Spark + Delta');
  return runPython('medallion', ['-m', 'soundlake.local.medallion', '--lake-dir', resolve(root, 'lake'), '--container', container, '--catalog', catalog], {
    AZURE_STORAGE_CONNECTION_STRING: connectionString,
  });
}

function runHitModel(): Promise<void> {
  say('hit model: train on gold, register in the local MLflow store (.soundlake/mlflow), score open windows');
  return runPython('hit model', ['-m', 'soundlake.local.hit', '--lake-dir', resolve(root, 'lake'), '--mlflow-dir', resolve(root, 'mlflow')]);
}

async function main(): Promise<void> {
  const scale = Number(opts.scale);
  const size = demoSize(scale, opts.streams ? Number(opts.streams) : undefined);
  // A fresh lake every time: the source is re-seeded, so old bronze and watermarks would lie.
  for (const dir of ['azurite', 'lake']) rmSync(resolve(root, dir), { recursive: true, force: true });

  const defaultPorts = { blob: 10000, queue: 10001, table: 10002 };
  const busy = (await Promise.all(Object.values(defaultPorts).map((p) => portOpen(p)))).some(Boolean);
  const ports = busy ? { blob: await freePort(), queue: await freePort(), table: await freePort() } : defaultPorts;
  say(`starting Azurite on 127.0.0.1:${ports.blob}-${ports.table} (telemetry off, data in .soundlake/azurite)`);
  const azurite = await startAzurite({ location: resolve(root, 'azurite'), ports, reuse: false });
  const pgPort = (await portOpen(5433)) ? await freePort() : 5433;
  say(`starting the embedded source (PGlite over the Postgres wire protocol) on 127.0.0.1:${pgPort}`);
  const postgres = await startEmbeddedPostgres({ port: pgPort, reuse: false });
  let stopStandIns = async (): Promise<void> => undefined;
  let catalogPath = 'soundlake.yaml';
  const stopAll = async (): Promise<void> => {
    await Promise.all([azurite.stop(), postgres.stop(), stopStandIns()]);
  };
  try {
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    await dropDemoSchema(db);
    await createDemoSchema(db);
    say(`seeding the source: ${size.users.toLocaleString('en')} users, ${size.artists.toLocaleString('en')} artists, ${size.tracks.toLocaleString('en')} tracks, ${size.streams.toLocaleString('en')} streams`);
    await seedDimensions(db, size, (m) => say(`  ${m}`));
    await seedStreams(db, size, (m) => say(`  ${m}`));

    // The preset of other sources (files over HTTP, a Spotify pull) joins the catalog, against local stand-ins.
    const standIns = await startSourceStandIns(Array.from({ length: size.tracks }, (_, i) => i + 1), new Date().toISOString().slice(0, 10));
    stopStandIns = standIns.stop;
    for (const line of standIns.describe) say(line);
    catalogPath = mergeCatalogs(process.env.SOUNDLAKE_CONFIG ?? 'soundlake.yaml', SOURCES_PRESET, resolve(root, 'catalog-with-sources.yaml'));
    const settings = loadSettings({ ...process.env, ...standIns.env, SOUNDLAKE_CONFIG: catalogPath, SOUNDLAKE_STORAGE: azurite.connectionString, SOURCE_KIND: 'postgres', SOURCE_URL: postgres.url });
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', fd: 2 });
    const config = await loadPipelineConfig(settings.configPath);
    const app = await createApp(settings, { logger, config });
    try {
      const ingest = (): Promise<RunSummary> => runIngestion(app.ingestDeps(), app.config.tables, { runId: newRunId(), trigger: 'demo', concurrency: settings.concurrency });
      say(`initial load of ${config.tables.length} tables from ${settings.configPath}`);
      printRun('initial load', await ingest());

      const changes = await applyDemoChanges(db, 1, size);
      say(
        `source changes: ${changes.newStreams.toLocaleString('en')} new streams, ${changes.subscriptionChanges} subscription changes, ` +
          `${changes.genreChanges} genre changes, ${changes.newUsers} sign-ups`,
      );
      // Changes carry now - 10 s; the lag (soundlake.yaml) is 5 s, so they are safe to take at once.
      printRun('incremental pass', await ingest());
      printRun('idle pass (nothing changed)', await ingest());
      await bronzeReport(app);
    } finally {
      await app.close();
      await db.end();
    }
    if (opts.medallion) await runMedallion(azurite.connectionString, settings.bronzeContainer, catalogPath);
    if (opts.medallion && opts.hit) await runHitModel();
    if (opts.keep) {
      say(`still running. In another shell:\n  export SOUNDLAKE_STORAGE='${azurite.connectionString}'\n  export SOURCE_URL='${postgres.url}'\n  node dist/cli/soundlake.cjs status\nCtrl-C to stop.`);
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
  } finally {
    await stopAll();
  }
  say('demo finished');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
