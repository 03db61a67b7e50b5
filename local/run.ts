import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { createLogger } from '../shared/logging/logger.js';
import { startAzurite } from './azurite.js';
import { portOpen } from './childProcess.js';
import { applyDemoChanges, createDemoSchema, demoSize, seedDimensions, seedStreams } from './demoData.js';
import { startEmbeddedPostgres } from './embeddedPostgres.js';
import { freePort } from './freePort.js';
import { startLocalRunner } from './localRunner.js';

/**
 * `npm run local`: the Functions app running on this machine, event-driven end to end. The
 * timer ingests on INGEST_SCHEDULE, bronze commits raise BlobCreated, each burst starts one
 * "Databricks" run (the stand-in runs the medallion on local Spark), backfills are served on
 * http://127.0.0.1:7071/api/backfill, the console on http://127.0.0.1:7071/api/console. Ctrl-C
 * stops everything.
 */
const opts = new Command()
  .name('local')
  .option('--schedule <ncrontab>', 'ingest timer', process.env.INGEST_SCHEDULE ?? '0 */2 * * * *')
  .option('--port <n>', 'HTTP port for /api', '7071')
  .option('--scale <n>', 'demo catalogue size when seeding', '0.2')
  .option('--changes-every <seconds>', 'apply a round of demo source changes this often (0: never)', '0')
  .option('--kick-window <seconds>', 'debounce window for Databricks runs', '15')
  .option('--no-medallion', 'the Databricks stand-in only records runs')
  .option('--function-key <key>', 'ask for this function key on every non-anonymous route, as Azure does (default: none, like func start)', process.env.LOCAL_FUNCTION_KEY)
  .parse()
  .opts<{ schedule: string; port: string; scale: string; changesEvery: string; kickWindow: string; medallion: boolean; functionKey?: string }>();

const say = (msg: string): void => {
  process.stdout.write(`[local ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

async function main(): Promise<void> {
  const root = resolve('.soundlake');
  const defaultPorts = { blob: 10000, queue: 10001, table: 10002 };
  const busy = (await Promise.all(Object.values(defaultPorts).map((p) => portOpen(p)))).some(Boolean);
  // The embedded source is in memory and seeded afresh, so state and lake from an earlier session would lie.
  for (const dir of ['azurite', 'lake']) rmSync(resolve(root, dir), { recursive: true, force: true });
  const azurite = await startAzurite({ location: resolve(root, 'azurite'), ports: busy ? { blob: await freePort(), queue: await freePort(), table: await freePort() } : defaultPorts });
  say(`Azurite ${azurite.reused ? 'reused' : 'started'}: ${azurite.connectionString.match(/BlobEndpoint=([^;]+)/)![1]}`);
  const postgres = await startEmbeddedPostgres({ port: (await portOpen(5433)) ? await freePort() : 5433 });
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await createDemoSchema(db);
  const size = demoSize(Number(opts.scale));
  const { rows } = await db.query('SELECT count(*)::int AS n FROM public.dim_users');
  if (rows[0].n === 0) {
    say(`seeding the embedded source (${postgres.url}) at scale ${opts.scale}`);
    await seedDimensions(db, size, (m) => say(`  ${m}`));
    await seedStreams(db, size, (m) => say(`  ${m}`));
  }

  const python = resolve('.venv/bin/python');
  let medallion: Promise<void> = Promise.resolve();
  const runMedallion = (): Promise<void> => {
    // Runs are serialised, like a Databricks job with max_concurrent_runs 1 and queueing.
    medallion = medallion.then(
      () =>
        new Promise<void>((done) => {
          say('Databricks run -> local medallion (bronze -> silver -> gold)');
          const child = spawn(python, ['-m', 'soundlake.local.medallion', '--lake-dir', resolve(root, 'lake')], {
            stdio: 'inherit',
            env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
          });
          child.on('exit', (code) => {
            say(`medallion finished with code ${code}`);
            done();
          });
        }),
    );
    return medallion;
  };
  const withMedallion = opts.medallion && existsSync(python);
  const runner = await startLocalRunner({
    env: { ...process.env, SOUNDLAKE_STORAGE: azurite.connectionString, SOURCE_KIND: 'postgres', SOURCE_URL: postgres.url },
    logger: createLogger({ level: process.env.LOG_LEVEL ?? 'info', fd: 2 }),
    port: Number(opts.port),
    schedule: opts.schedule,
    kickWindowSeconds: Number(opts.kickWindow),
    ...(opts.functionKey ? { functionKey: opts.functionKey } : {}),
    onDatabricksRun: async (run) => {
      say(`Databricks stand-in: run ${run.runId} of job ${run.jobId} (token ${run.idempotencyToken})`);
      if (withMedallion) void runMedallion();
    },
  });
  say(`functions on ${runner.url}; Databricks stand-in on ${runner.databricks.url}; ingest schedule "${opts.schedule}"`);
  say(`console: ${runner.url}/api/console${opts.functionKey ? ' (it asks for the function key you passed)' : ''}`);
  say(`try: curl -s -X POST ${runner.url}/api/backfill -d '{"table":"fact_streams","from":"2026-10-01","to":"2026-10-03","chunk":"PT12H"}'`);
  say(`then: curl -s ${runner.url}/api/backfill/<id>`);
  say(`ask (with npm run sql-endpoint running): curl -s -X POST ${runner.url}/api/ask -d '{"sql":"SELECT count(*) AS streams FROM gold.fact_stream"}'`);
  const every = Number(opts.changesEvery);
  let round = 0;
  const changes = every > 0 ? setInterval(() => void applyDemoChanges(db, ++round, size).then((c) => say(`source changes: ${JSON.stringify(c)}`)), every * 1000) : undefined;

  await new Promise<void>((r) => process.once('SIGINT', () => r()));
  say('stopping');
  if (changes) clearInterval(changes);
  await runner.stop();
  await medallion;
  await db.end();
  await Promise.all([postgres.stop(), azurite.stop()]);
}

main().catch((err: unknown) => {
  process.stderr.write(`local runner failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
