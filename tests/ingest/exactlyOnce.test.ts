import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApp } from '../../shared/app/soundlakeApp.js';
import type { Checkpoint } from '../../shared/extract/faultHooks.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { PostgresSource } from '../../shared/source/postgres/postgresSource.js';
import { newRunId } from '../../shared/run/runId.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createHarness, type Harness } from '../support/harness.js';
import { expectExactlyOnce as expectAllOnce, ingest, InjectedCrash } from '../support/ingest.js';
import { TcpProxy } from '../support/tcpProxy.js';
import { refusingTableService } from '../support/refusingTables.js';
import { WatermarkStore } from '../../shared/state/watermarkStore.js';
import { tableClient } from '../../shared/azure/storageClients.js';

/**
 * A crash at every step of a slice, then a rerun: every source row is in bronze exactly once,
 * and the ledger, watermark and manifests agree with the files.
 */
let h: Harness;
const ROWS = 1000;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

async function seed(name: string): Promise<void> {
  await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, md5(i::text), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) i`);
}

const parts = { maxRowsPerFile: 300, rowGroupRows: 100 };

const expectExactlyOnce = (name: string, expectedRows = ROWS): Promise<void> => expectAllOnce(h, name, expectedRows);

const crashPoints: { point: Checkpoint; part?: number }[] = [
  { point: 'pending-recorded' },
  { point: 'rows-written', part: 1 },
  { point: 'part-committed', part: 1 },
  { point: 'part-recorded', part: 2 },
  { point: 'part-committed', part: 3 },
  { point: 'parts-complete' },
  { point: 'manifest-written' },
];

describe('a crash at any step, then a rerun', () => {
  for (const [i, { point, part }] of crashPoints.entries()) {
    it(`is exactly-once after a crash at ${point}${part === undefined ? '' : ` of part ${part}`}`, async () => {
      const name = `crash_${i}`;
      await seed(name);
      const table = h.table(name, parts);
      const crashed = await ingest(h, table, {
        hooks: {
          checkpoint: (p, d) => {
            if (p === point && (part === undefined || d.part === part)) throw new InjectedCrash(p);
          },
        },
      });
      expect(crashed.status).toBe('failed');
      expect(crashed.error).toMatch(/injected crash/);
      const mid = await h.app.watermarks.get(name);
      expect(mid).toMatchObject({ value: null, lease: null });
      expect(mid!.pending).not.toBeNull();

      const rerun = await ingest(h, table);
      expect(rerun).toMatchObject({ status: 'succeeded', rows: ROWS, files: 4, resumed: true, slice: 's0000000001' });
      await expectExactlyOnce(name);
      const ledger = await h.app.ledger.recent(name);
      expect(ledger.map((e) => e.status)).toEqual(['succeeded', 'failed']);
      expect(ledger[0]!.rows).toBe(ROWS);
    });
  }

  it('removes parts of an earlier attempt that the rerun no longer produces', async () => {
    const name = 'shrinking';
    await seed(name);
    const table = h.table(name, parts);
    // The last part (ids 901-1000) reaches the lake, then the run dies before recording it.
    const crashed = await ingest(h, table, {
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-committed' && d.part === 3) throw new InjectedCrash(p);
        },
      },
    });
    expect(crashed.status).toBe('failed');
    expect(await h.bronzeFiles(name)).toHaveLength(4);
    // Meanwhile those rows change: they now belong to a later slice.
    await h.db.query(`UPDATE ${h.schema}.${name} SET payload = 'v2', updated_at = TIMESTAMPTZ '2026-06-01' + id * INTERVAL '1 ms' WHERE id > 900`);
    const rerun = await ingest(h, table);
    expect(rerun).toMatchObject({ status: 'succeeded', rows: 900, files: 3 });
    expect(await h.bronzeFiles(name)).toHaveLength(3);
    const next = await ingest(h, table);
    expect(next).toMatchObject({ status: 'succeeded', rows: 100, slice: 's0000000002' });
    await expectExactlyOnce(name);
    expect((await h.bronzeRows(name)).filter((r) => r.payload === 'v2')).toHaveLength(100);
  });
});

describe('the last part of a slice', () => {
  // A full last part is closed while the read looks past it (and finds the end); a short one after the read ended.
  for (const [shape, maxRowsPerFile] of [['short', 300], ['full', 250]] as const) {
    it(`records the slice as read out in the same write as itself (${shape} last part)`, async () => {
      const name = `last_part_${shape}`;
      await seed(name);
      const table = h.table(name, { maxRowsPerFile, rowGroupRows: 50 });
      const crashed = await ingest(h, table, {
        hooks: {
          checkpoint: (p, d) => {
            if (p === 'part-recorded' && d.part === 3) throw new InjectedCrash(p);
          },
        },
      });
      expect(crashed.status).toBe('failed');
      const mid = await h.app.watermarks.get(name);
      expect(mid!.pending).toMatchObject({ exhausted: true, rows: ROWS, files: 4 });
      expect(mid!.pending!.parts).toHaveLength(4);

      const rerun = await ingest(h, table);
      expect(rerun).toMatchObject({ status: 'succeeded', rows: ROWS, files: 4, resumed: true, slice: 's0000000001' });
      await expectExactlyOnce(name);
    });
  }
});

describe('upgrading from one watermark partition to one per table', () => {
  it('moves a table found in the legacy partition, pending slice and all, and resumes it exactly once', async () => {
    const name = 'legacy_layout';
    await seed(name);
    const table = h.table(name, parts);
    const crashed = await ingest(h, table, {
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-recorded' && d.part === 1) throw new InjectedCrash(p);
        },
      },
    });
    expect(crashed.status).toBe('failed');
    // Put the state where the layout before kept it: partition `watermark`, the table as row key.
    const raw = tableClient(h.settings.storage, h.settings.watermarkTable);
    const current = await raw.getEntity<Record<string, unknown>>(`wm|${name}`, 'state');
    const { etag: _e, timestamp: _t, partitionKey: _p, rowKey: _r, table: _n, ...fields } = current as Record<string, unknown>;
    await raw.createEntity({ ...fields, partitionKey: 'watermark', rowKey: name });
    await raw.deleteEntity(`wm|${name}`, 'state');
    expect((await h.app.watermarks.list()).find((s) => s.table === name)?.pending).not.toBeNull();

    // Two instances reading it at once both get the moved state.
    const [a, b] = await Promise.all([new WatermarkStore(raw).get(name), new WatermarkStore(tableClient(h.settings.storage, h.settings.watermarkTable)).get(name)]);
    expect(a!.pending).toEqual(b!.pending);
    expect(a!.pending!.parts).toHaveLength(2);
    await expect(raw.getEntity('watermark', name)).rejects.toMatchObject({ statusCode: 404 });

    const rerun = await ingest(h, table);
    expect(rerun).toMatchObject({ status: 'succeeded', rows: ROWS, resumed: true, slice: 's0000000001' });
    await expectExactlyOnce(name);
    expect(await raw.getEntity(`wm|${name}`, 'state')).toMatchObject({ table: name, seq: 1 });
  });
});

describe('two runs of one table at once', () => {
  it('lets one work while the other skips cleanly', async () => {
    const name = 'concurrent';
    await seed(name);
    const table = h.table(name, parts);
    const [a, b] = await Promise.all([ingest(h, table), ingest(h, table)]);
    expect([a.status, b.status].sort()).toEqual(['skipped', 'succeeded']);
    const skipped = a.status === 'skipped' ? a : b;
    expect(skipped.message).toMatch(/another run \(r-.*\) holds concurrent/);
    await expectExactlyOnce(name);
  });

  it('lets one of two deliveries of the same message (one run id) work, and the other skip', async () => {
    const name = 'redelivered';
    await seed(name);
    const table = h.table(name, parts);
    const runId = newRunId();
    const [a, b] = await Promise.all([ingest(h, table, { runId }), ingest(h, table, { runId })]);
    expect([a.status, b.status].sort()).toEqual(['skipped', 'succeeded']);
    expect([a.error, b.error]).toEqual([undefined, undefined]);
    await expectExactlyOnce(name);
    // One ledger row for the work, one for the skip; neither left running.
    expect((await h.app.ledger.recent(name)).map((e) => e.status).sort()).toEqual(['skipped', 'succeeded']);
  });

  it('takes over from a run that stalls past its lease, and the stalled run cannot write after', async () => {
    const name = 'zombie';
    await seed(name);
    const table = h.table(name, parts);
    const stalledApp = await h.newApp();
    const deps = { ...stalledApp.ingestDeps(), leaseMs: 1_000 };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stalledAt: () => void;
    const reached = new Promise<void>((r) => (stalledAt = r));
    const zombie = ingestTable(deps, table, {
      runId: newRunId('zombie'),
      trigger: 'test',
      hooks: {
        checkpoint: async (p) => {
          if (p === 'pending-recorded') {
            stalledAt();
            await gate;
          }
        },
      },
    });
    await reached;
    // The rescuer's clock reads past the stalled run's 1 s lease: the lease has expired for it.
    const later = (): number => Date.now() + 2_000;
    const rescuer = await ingestTable({ ...h.app.ingestDeps(), leaseMs: 60_000, now: later }, table, { runId: newRunId('rescue'), trigger: 'test' });
    expect(rescuer).toMatchObject({ status: 'succeeded', resumed: true, rows: ROWS });
    // Seen from outside, the stalled run is dead: the rescuer closed its entry.
    const [zombieEntry] = (await h.app.ledger.recent(name)).filter((e) => e.runId.startsWith('zombie'));
    expect(zombieEntry).toMatchObject({ status: 'abandoned', abandonedBy: rescuer.runId });
    expect(zombieEntry!.detail).toMatch(new RegExp(`run ${rescuer.runId} \\(lease owner ingest@`));
    release();
    const late = await zombie;
    expect(late.status).toBe('failed');
    expect(late.error).toMatch(/lease lost/);
    await expectExactlyOnce(name);
    // The stalled run, back, reports its own end over the abandoned mark; nothing stays running.
    expect((await h.app.ledger.recent(name)).map((e) => e.status).sort()).toEqual(['failed', 'succeeded']);
  });
});

describe('state storage that refuses every request', () => {
  it('fails the run with an alert and a result; nothing rejects', async () => {
    const name = 'refused';
    await seed(name);
    const refusing = await refusingTableService();
    try {
      const result = await ingestTable({ ...h.app.ingestDeps(), watermarks: new WatermarkStore(refusing.client('wm')) }, h.table(name, parts), { runId: newRunId(), trigger: 'test' });
      expect(result).toMatchObject({ status: 'failed', rows: 0, error: expect.stringMatching(/not authorized/) });
      expect(result.message).toMatch(new RegExp(`^ingestion of ${name} failed: `));
      expect(h.notifier.notices.at(-1)).toMatchObject({ kind: 'ingestion-failed', runId: result.runId, subject: name, key: 'ingest' });
      // The attempt is in the ledger, as a failure (the ledger itself is reachable).
      expect((await h.app.ledger.recent(name)).map((e) => [e.status, e.error])).toEqual([['failed', result.error]]);
    } finally {
      await refusing.close();
    }
    expect(await h.bronzeFiles(name)).toEqual([]);
  });
});

// Both ways the Postgres source reads: a cursor (fetch by fetch), and binary COPY (one stream). A
// COPY of small rows arrives whole before any part is committed, so its table has rows wide
// enough (64 KB: 25 MB after the cut, more than loopback socket buffers hold) that the stream is
// still on its way when the connection is cut; how much of it was already buffered decides
// whether the failure comes in the third part or the fourth.
for (const mode of [
  { name: 'cursor', copy: false, payload: 'md5(i::text)' },
  { name: 'COPY', copy: true, payload: 'repeat(md5(i::text), 2000)' },
]) {
  describe(`a source that goes away mid-stream (${mode.name})`, () => {
    it('fails with a clear error, leaves the watermark alone, and the next run recovers', async () => {
      const name = `flaky_${mode.name.toLowerCase()}`;
      await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
      await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, ${mode.payload}, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) i`);
      const target = new URL(inject('postgresUrl'));
      const proxy = new TcpProxy(target.hostname, Number(target.port));
      await proxy.start();
      const url = new URL(inject('postgresUrl'));
      url.port = String(proxy.port);
      const source = new PostgresSource({ url: url.toString(), connectTimeoutMs: 2_000, copy: mode.copy });
      const app = await createApp(h.settings, { source, notifier: h.notifier, logger: createLogger({ level: 'silent' }), config: { tables: [] } });
      const table = h.table(name, parts);
      try {
        const broken = await ingestTable(app.ingestDeps(), table, {
          runId: newRunId(),
          trigger: 'test',
          batchRows: 100,
          hooks: {
            checkpoint: (p, d) => {
              if (p === 'part-recorded' && d.part === 1) proxy.cut();
            },
          },
        });
        expect(broken.status).toBe('failed');
        expect(broken.error).toMatch(new RegExp(`^postgres source: reading t_\\w+\\.${name} failed: `));
        const state = await h.app.watermarks.get(name);
        expect(state!.value).toBeNull();
        const committed = state!.pending!.parts.length;
        expect(committed).toBeGreaterThanOrEqual(2);
        expect(committed).toBeLessThan(mode.copy ? 4 : 3);
        expect(h.notifier.notices.some((n) => n.kind === 'ingestion-failed' && n.subject === name && n.runId === broken.runId)).toBe(true);

        // Still away: the next run fails fast and changes nothing.
        const stillDown = await ingestTable(app.ingestDeps(), table, { runId: newRunId(), trigger: 'test' });
        expect(stillDown.status).toBe('failed');
        expect((await h.app.watermarks.get(name))!.pending!.parts).toHaveLength(committed);

        proxy.restore();
        const recovered = await ingestTable(app.ingestDeps(), table, { runId: newRunId(), trigger: 'test' });
        expect(recovered).toMatchObject({ status: 'succeeded', resumed: true, rows: ROWS });
        await expectExactlyOnce(name);
      } finally {
        await app.close();
        await proxy.stop();
      }
    });
  });
}
