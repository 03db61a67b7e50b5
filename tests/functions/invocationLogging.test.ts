import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext, type LogLevel, type Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestQueue } from '../../functions/ingest-queue.js';
import { ingestTimer } from '../../functions/ingest-timer.js';
import { getApp, setApp } from '../../shared/app/appSingleton.js';
import { createHarness, testEnv, type Harness } from '../support/harness.js';
import { drainQueue, queueOf } from '../support/queueDrain.js';

/**
 * Under the Functions host the core's log lines must belong to the invocation that wrote them
 * (Application Insights files context logs under the invocation; stdout it does not). The app is
 * built exactly as the host builds it (getApp() from app settings), and the handlers are given
 * real InvocationContexts whose log handler records what the host would receive.
 */
type Line = { level: LogLevel; text: string };

let h: Harness;
let dir: string;
const savedEnv = { ...process.env };
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

function context(functionName: string): { context: InvocationContext; lines: Line[] } {
  const lines: Line[] = [];
  const ctx = new InvocationContext({
    functionName,
    invocationId: `${functionName}-${lines.length}`,
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
  return { context: ctx, lines };
}

beforeAll(async () => {
  h = await createHarness();
  await h.db.query(`CREATE TABLE ${h.schema}.tracks (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.tracks SELECT i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, 250) i`);
  dir = await mkdtemp(join(tmpdir(), 'soundlake-invocation-log-'));
  const configPath = join(dir, 'soundlake.yaml');
  await writeFile(
    configPath,
    [
      'version: 1',
      'tables:',
      '  - name: tracks',
      `    source: { schema: ${h.schema}, table: tracks }`,
      '    watermark: { column: updated_at, kind: timestamp }',
      '    primaryKey: [id]',
      '    maxRowsPerFile: 100',
      '    lagSeconds: 0',
    ].join('\n'),
  );
  // The app settings of a Function App, pointed at this file's corner of Azurite and Postgres.
  Object.assign(process.env, testEnv(h.id), { SOUNDLAKE_CONFIG: configPath, LOG_LEVEL: 'info' });
  setApp(undefined);
});

afterAll(async () => {
  const app = await getApp().catch(() => undefined);
  await app?.close();
  setApp(undefined);
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('core log lines under the Functions host', () => {
  it('go through the invocation context of the handler that caused them, each with the run id', async () => {
    const planned = context('ingest-timer');
    await ingestTimer(timer, planned.context);
    const runId = /run (\S+): queued 1 tables/.exec(planned.lines.map((l) => l.text).join('\n'))?.[1];
    expect(runId).toBeDefined();
    // The core's own line (planRun), not only the handler's summary.
    expect(planned.lines).toContainEqual({ level: 'information', text: expect.stringMatching(/^run planned: 1 tables queued \{.*"runId":"/) });

    const invocations: Line[][] = [];
    const { handled, failures } = await drainQueue(queueOf(h.settings, h.settings.ingestQueue), async (payload) => {
      const { context: ctx, lines } = context('ingest-queue');
      invocations.push(lines);
      await ingestQueue(payload, ctx);
    });
    expect(failures).toEqual([]);
    expect(handled).toBe(1);
    const [lines] = invocations as [Line[]];
    const texts = lines.map((l) => l.text);
    expect(texts).toContainEqual(expect.stringMatching(/^slice planned \{"runId":"[^"]+","table":"tracks",/));
    expect(texts.filter((t) => t.startsWith('part committed '))).toHaveLength(3);
    expect(texts).toContainEqual(`run ${runId} tracks: succeeded: ${texts.at(-1)!.split(': succeeded: ')[1]}`);
    // Every line of the invocation names the run: the core's as a field, the handler's in its text.
    for (const t of texts) expect(t).toContain(runId);
  });
});
