#!/usr/bin/env node
import '../shared/config/zodJitless.js';
import { watermarkLabel } from '../shared/source/watermarkLabel.js';
import { Command, Option } from 'commander';
import type { AppOverrides, SoundlakeApp } from '../shared/app/soundlakeApp.js';
import { prewarmEncoder } from '../shared/bronze/parquetEncoderPool.js';
import { createLogger } from '../shared/logging/logger.js';
import { redactSecrets } from '../shared/logging/redact.js';
import { newRunId } from '../shared/run/runId.js';
import { sliceTotals } from '../shared/extract/slice.js';
import { RequestError } from '../shared/http/requestError.js';
import { bytes, table } from './format.js';

/**
 * `soundlake`: the same core as the Functions, without the host. Results go to stdout (JSON with
 * --json), logs to stderr.
 */
async function withApp<T>(fn: (app: SoundlakeApp) => Promise<T>, ensure: AppOverrides['ensure'] = 'all'): Promise<T> {
  // The app's modules (the Azure SDKs, the drivers) load here, after a command that extracts has
  // started its Parquet encoder thread, which loads its own meanwhile on the other core.
  const [{ createApp }, { loadSettings }] = await Promise.all([import('../shared/app/soundlakeApp.js'), import('../shared/config/settings.js')]);
  const settings = loadSettings();
  const app = await createApp(settings, { logger: createLogger({ level: settings.logLevel, fd: 2 }), ensure });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const program = new Command()
  .name('soundlake')
  .description('Metadata-driven, exactly-once extraction from SQL into bronze Parquet')
  .showHelpAfterError();

program
  .command('ingest')
  .description('run one incremental pass over the configured tables (or the named ones)')
  .option('-t, --table <name>', 'only this table (repeatable)', collect)
  .option('--json', 'print the per-table summary as JSON')
  .addOption(new Option('-c, --concurrency <n>', 'tables extracted at once').argParser((v) => Number.parseInt(v, 10)))
  .action(async (opts: { table?: string[]; json?: boolean; concurrency?: number }) => {
    prewarmEncoder();
    const [{ selectTables }, { runIngestion }] = await Promise.all([import('../shared/config/pipelineConfig.js'), import('../shared/ingest/runIngestion.js')]);
    await withApp(async (app) => {
      const tables = selectTables(app.config, opts.table);
      const runId = newRunId();
      app.logger.info({ runId, tables: tables.map((t) => t.name) }, 'ingest started');
      const summary = await runIngestion(app.ingestDeps(), tables, { runId, trigger: 'cli', concurrency: opts.concurrency ?? app.settings.concurrency });
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            summary.results.map((r) => ({ table: r.table, status: r.status, rows: r.rows, files: r.files, bytes: r.bytes, low: r.low, high: r.high, slice: r.slice ?? null, runId: r.runId, message: r.message, ...(r.error ? { error: r.error } : {}) })),
            null,
            2,
          )}\n`,
        );
      } else {
        process.stdout.write(`run ${runId}\n`);
        process.stdout.write(
          `${table(
            ['table', 'status', 'rows', 'files', 'size', 'low', 'high'],
            summary.results.map((r) => [r.table, r.status, r.rows, r.files, bytes(r.bytes), watermarkLabel(r.low), watermarkLabel(r.high)]),
          )}\n`,
        );
        for (const r of summary.results) if (r.status === 'failed' || r.status === 'skipped' || r.error !== undefined) process.stdout.write(`${r.table}: ${r.message}\n`);
      }
      if (!summary.ok) process.exitCode = 1;
    }, 'extraction');
  });

program
  .command('status')
  .description('print watermarks, slices in flight and recent runs')
  .option('--json', 'print as JSON')
  .addOption(new Option('-n, --limit <n>', 'recent runs to show').default(10).argParser((v) => Number.parseInt(v, 10)))
  .action(async (opts: { json?: boolean; limit: number }) => {
    await withApp(async (app) => {
      const states = (await app.watermarks.list()).sort((a, b) => a.table.localeCompare(b.table));
      const runs = (await app.ledger.recent(undefined, opts.limit * 4)).filter((r) => !r.subject.startsWith('_')).slice(0, opts.limit);
      if (opts.json) {
        const watermarks = states.map(({ etag: _e, ...s }) => s);
        process.stdout.write(`${JSON.stringify({ watermarks, runs }, null, 2)}\n`);
        return;
      }
      process.stdout.write('watermarks\n');
      process.stdout.write(
        `${table(
          ['table', 'watermark', 'slices', 'in flight', 'lease', 'committed'],
          states.map((s) => [
            s.table,
            s.value,
            s.seq,
            s.pending ? `${s.pending.slice}: ${s.pending.files} parts, ${sliceTotals(s.pending).rows} rows` : null,
            s.lease && new Date(s.lease.expiresAt) > new Date() ? `${s.lease.owner} until ${s.lease.expiresAt}` : null,
            s.committedAt,
          ]),
        )}\n\nrecent runs\n`,
      );
      process.stdout.write(
        `${table(
          ['started', 'run', 'table', 'status', 'rows', 'files', 'ms', 'detail'],
          runs.map((r) => [r.startedAt, r.runId, r.subject, r.status, r.rows, r.files, r.durationMs, (r.error ?? r.detail ?? '').slice(0, 80)]),
        )}\n`,
      );
    }, 'extraction');
  });

program
  .command('backfill')
  .description('re-extract a window of a table (from <= watermark < to) into bronze, without moving its watermark')
  .requiredOption('-t, --table <name>', 'table to backfill')
  .requiredOption('--from <iso>', 'window start (ISO-8601, UTC unless an offset is given)')
  .requiredOption('--to <iso>', 'window end, exclusive')
  .option('--chunk <duration>', 'chunk size as an ISO-8601 duration (P1D, PT6H), or auto: chunks of about INGEST_RANGE_ROWS rows by the source\'s row estimates (default: BACKFILL_DEFAULT_CHUNK)')
  .option('--request-id <id>', 'idempotency key: the same id is the same backfill')
  .option('--json', 'print the final status as JSON')
  .action(async (opts: { table: string; from: string; to: string; chunk?: string; requestId?: string; json?: boolean }) => {
    prewarmEncoder();
    await withApp(async (app) => {
      const body = { table: opts.table, from: opts.from, to: opts.to, ...(opts.chunk ? { chunk: opts.chunk } : {}), ...(opts.requestId ? { requestId: opts.requestId } : {}) };
      let plan;
      try {
        plan = app.backfill.plan(body);
      } catch (err) {
        if (err instanceof RequestError) throw new Error(`--${err.field === 'requestId' ? 'request-id' : err.field} ${err.problem}`);
        throw err;
      }
      const { status: started, created } = await app.backfill.start(plan, { queue: false });
      app.logger.info({ runId: started.runId, backfillId: started.id, chunks: started.totals.chunks }, created ? 'backfill started' : 'backfill resumed');
      const status = await app.backfill.runAll(started.id, {
        onChunk: (r) => app.logger.info({ runId: started.runId, backfillId: r.backfillId, chunk: r.chunk, status: r.status, rows: r.rows }, r.message),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        process.stdout.write(`backfill ${status.id} (run ${status.runId}) of ${status.table} [${status.from}, ${status.to}): ${status.status}${status.sizing ? ` (${status.sizing})` : ''}\n`);
        process.stdout.write(`${table(['chunk', 'low', 'high', 'status', 'rows', 'files', 'error'], status.chunks.map((c) => [c.chunk, c.low, c.high, c.status, c.rows, c.files, c.error]))}\n`);
      }
      if (status.status !== 'done') process.exitCode = 1;
    });
  });

program
  .command('ask')
  .description('answer a question over gold (an OpenAI-compatible LLM writes the SQL), or run your own SELECT with --sql; both through the SQL guard')
  .argument('[question]', 'a question in English')
  .option('--sql <select>', 'run this SELECT instead (no LLM needed)')
  .option('--json', 'print the whole answer as JSON')
  .action(async (question: string | undefined, opts: { sql?: string; json?: boolean }) => {
    // Loaded here, not at start: the SQL parser and the Databricks client cost every other command startup time.
    const [{ loadAskSettings }, { parseAskRequest }, { createAskService }] = await Promise.all([
      import('../shared/ask/askSettings.js'),
      import('../shared/ask/askService.js'),
      import('../shared/ask/createAskService.js'),
    ]);
    const settings = loadAskSettings();
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', fd: 2 });
    let request;
    try {
      request = parseAskRequest({ ...(question !== undefined ? { question } : {}), ...(opts.sql !== undefined ? { sql: opts.sql } : {}) });
    } catch (err) {
      if (err instanceof RequestError) throw new Error(`${err.field === 'sql' ? '--sql' : 'question'} ${err.problem}`);
      throw err;
    }
    const service = await createAskService(settings, logger);
    let answer;
    try {
      answer = await service.ask(request);
    } catch (err) {
      if (err instanceof RequestError) throw new Error(err.problem.replace('send {"sql": "SELECT ..."}', 'or pass --sql "SELECT ..."'));
      throw err;
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    } else {
      process.stdout.write(`${answer.sql ? `SQL:\n  ${answer.sql}\n\n` : ''}`);
      if (answer.status === 'answered') process.stdout.write(`${table(answer.columns.map((c) => c.name), answer.rows.map((r) => r.map((v) => (v === null ? null : typeof v === 'object' ? JSON.stringify(v) : (v as string | number))))) }\n\n`);
      process.stdout.write(`${answer.summary}\n(run ${answer.runId}, ${answer.durationMs} ms)\n`);
    }
    if (answer.status !== 'answered') process.exitCode = 1;
  });

let settled = false;
// Node exits, with code 0, when nothing is left to wait for, even while a promise is pending: a
// command stuck on a reply that can never come (a worker that died unseen) would look like a
// success to whatever scheduled it. It fails instead, saying so.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('soundlake: the command stopped before it finished (nothing left to wait for); its work is incomplete\n');
  process.exitCode = 1;
});
program
  .parseAsync()
  .catch((err: unknown) => {
    process.stderr.write(`soundlake: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`);
    process.exitCode = 2;
  })
  .finally(() => {
    settled = true;
  });
