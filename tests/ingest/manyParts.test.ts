import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runBackfillChunk } from '../../shared/backfill/runBackfillChunk.js';
import type { Checkpoint } from '../../shared/extract/faultHooks.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';
import { countById, expectExactlyOnce, ingest, InjectedCrash } from '../support/ingest.js';

/**
 * Slices of thousands of parts. The slice record counts its parts and each part is an entity of
 * its own, written in the same transaction as the record; a record that carried the list in one
 * property stopped near 300 parts (32K characters), and its failure handler could not save either.
 */
let h: Harness;
let raw: (table: string) => TableClient;

beforeAll(async () => {
  h = await createHarness((schema) => [testTable(schema, 'bf_many', { maxRowsPerFile: 1, rowGroupRows: 1 })]);
  raw = (table) => TableClient.fromConnectionString(inject('storageConnectionString'), table, { allowInsecureConnection: true });
});
afterAll(async () => {
  await h?.close();
});

async function seed(name: string, rows: number): Promise<void> {
  await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)`);
  await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, md5(i::text), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${rows}) i`);
}

/** The state table's raw entities of one partition: what a slice record and its parts cost in storage. */
async function entities(table: string, partition: string): Promise<{ rowKey: string; pending?: string }[]> {
  const out: { rowKey: string; pending?: string }[] = [];
  for await (const e of raw(table).listEntities<{ pending?: string }>({ queryOptions: { filter: `PartitionKey eq '${partition}'` } })) out.push({ rowKey: e.rowKey!, ...(e.pending ? { pending: e.pending } : {}) });
  return out;
}


describe('a slice of 2,000 parts', () => {
  const PARTS = 2_000;

  it('runs to completion through a crash loop, every row exactly once', async () => {
    const name = 'many_parts';
    await seed(name, PARTS);
    const table = h.table(name, { maxRowsPerFile: 1, rowGroupRows: 1 });
    // Each attempt dies at a different step, further into the slice; the next one resumes it.
    const crashes: { point: Checkpoint; part?: number }[] = [
      { point: 'part-committed', part: 400 },
      { point: 'rows-written', part: 900 },
      { point: 'part-recorded', part: 1_300 },
      { point: 'part-committed', part: 1_999 },
      { point: 'parts-complete' },
      { point: 'manifest-written' },
    ];
    let recorded = 0;
    for (const { point, part } of crashes) {
      const crashed = await ingest(h, table, {
        hooks: {
          checkpoint: (p, d) => {
            if (p === point && (part === undefined || d.part === part)) throw new InjectedCrash(p);
          },
        },
      });
      expect(crashed, `crash at ${point} ${part ?? ''}`).toMatchObject({ status: 'failed', error: expect.stringMatching(/injected crash/) });
      const mid = await h.app.watermarks.get(name);
      expect(mid).toMatchObject({ value: null, lease: null });
      // Progress only ever grows, and the record holds all of it.
      expect(mid!.pending!.parts.length).toBeGreaterThanOrEqual(recorded);
      expect(mid!.pending!.files).toBe(mid!.pending!.parts.length);
      expect(mid!.pending!.parts.map((p, i) => p.path.endsWith(`__p${String(i).padStart(5, '0')}.parquet`))).not.toContain(false);
      recorded = mid!.pending!.parts.length;
      // However many parts are recorded, the record itself stays small: one entity per part beside it.
      const stored = await entities(h.settings.watermarkTable, `wm|${name}`);
      expect(stored.find((e) => e.rowKey === 'state')!.pending!.length).toBeLessThan(1_000);
      expect(stored.filter((e) => e.rowKey.startsWith('~part~state~'))).toHaveLength(recorded);
    }
    expect(recorded).toBe(PARTS);

    const rerun = await ingest(h, table);
    expect(rerun).toMatchObject({ status: 'succeeded', rows: PARTS, files: PARTS, resumed: true, slice: 's0000000001' });
    await expectExactlyOnce(h, name, PARTS);
    // The committed slice's part records are gone; the listing of tables never saw them.
    expect((await entities(h.settings.watermarkTable, `wm|${name}`)).filter((e) => e.rowKey.startsWith('~part~'))).toEqual([]);
    expect((await h.app.watermarks.list()).map((s) => s.table)).toContain(name);
    expect((await h.app.watermarks.list()).every((s) => !s.table.startsWith('~'))).toBe(true);
    const ledger = await h.app.ledger.recent(name, 100);
    expect(ledger.map((e) => e.status)).toEqual(['succeeded', ...crashes.map(() => 'failed')]);
    // About 40 ms a part on a shared 2-core machine: 2,000 one-row parts take minutes, not seconds.
  }, 900_000);

  // Past the ~300 parts where a chunk record that listed its parts stopped; fewer than 2,000 to keep the suite's time down.
  it('lets a backfill chunk of 600 parts finish too', async () => {
    const name = 'bf_many';
    const CHUNK_PARTS = 600;
    await seed(name, CHUNK_PARTS);
    // Rows are one second apart from 2026-01-01 00:00:01: the window holds all of them.
    const plan = h.app.backfill.plan({ table: name, from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', chunk: 'P1D' });
    const { status } = await h.app.backfill.start(plan, { queue: false });
    const deps = { ...h.app.ingestDeps(), config: h.app.config, backfills: h.app.backfills };
    const crashed = await runBackfillChunk(deps, status.id, 0, {
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-recorded' && d.part === 450) throw new InjectedCrash(p);
        },
      },
    });
    expect(crashed).toMatchObject({ status: 'failed', files: 451 });
    const chunk = await h.app.backfills.chunk(status.id, 0);
    expect(chunk).toMatchObject({ status: 'failed', lease: null });
    expect(chunk!.pending!.parts).toHaveLength(451);

    const done = await runBackfillChunk(deps, status.id, 0, {});
    expect(done).toMatchObject({ status: 'done', rows: CHUNK_PARTS, files: CHUNK_PARTS });
    expect((await h.app.backfill.status(status.id))!.totals).toMatchObject({ done: 1, rows: CHUNK_PARTS, files: CHUNK_PARTS });
    const bronze = countById(await h.bronzeRows(name));
    expect(bronze.size).toBe(CHUNK_PARTS);
    expect([...bronze.values()].filter((n) => n !== 1)).toEqual([]);
    expect((await entities(h.settings.backfill.table, status.id)).filter((e) => e.rowKey.startsWith('~part~'))).toEqual([]);
    // The live watermark never moved.
    expect(await h.app.watermarks.get(name)).toBeNull();
  }, 300_000);
});

describe('a pending slice recorded before parts were entities', () => {
  it('is resumed: its inline parts become entities, every row exactly once', async () => {
    const name = 'legacy_record';
    await seed(name, 50);
    const table = h.table(name, { maxRowsPerFile: 10, rowGroupRows: 10 });
    const crashed = await ingest(h, table, {
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-recorded' && d.part === 2) throw new InjectedCrash(p);
        },
      },
    });
    expect(crashed.status).toBe('failed');
    // Rewrite the record as the previous release stored it: in the shared `watermark` partition
    // (row key = table), the parts inline, no totals, no part entities.
    const client = raw(h.settings.watermarkTable);
    const { etag: _e, timestamp: _t, partitionKey: _p, rowKey: _r0, table: _n, ...entity } = await client.getEntity<{ pending: string; table: string; timestamp?: string }>(`wm|${name}`, 'state');
    const { files: _f, rows: _r, bytes: _b, ...plan } = JSON.parse(entity.pending) as Record<string, unknown>;
    const parts = (await h.app.watermarks.get(name))!.pending!.parts;
    expect(parts).toHaveLength(3);
    for (let i = 0; i < 3; i++) await client.deleteEntity(`wm|${name}`, `~part~state~s0000000001~p${String(i).padStart(6, '0')}`);
    await client.deleteEntity(`wm|${name}`, 'state');
    await client.createEntity({ ...entity, partitionKey: 'watermark', rowKey: name, pending: JSON.stringify({ ...plan, parts }) });

    const listed = (await h.app.watermarks.list()).find((s) => s.table === name)!;
    expect(listed.pending).toMatchObject({ files: 3, rows: 30 });
    const rerun = await ingest(h, table);
    expect(rerun).toMatchObject({ status: 'succeeded', resumed: true, rows: 50, files: 5 });
    await expectExactlyOnce(h, name, 50);
  });
});

describe('a slice record that cannot be saved', () => {
  it('fails with the reason named and gives the lease back', async () => {
    // A primary-key value too long for the record's keyset cursor (Postgres compresses long keys
    // inside its index, so such a key is legal there).
    const name = 'long_key';
    await h.db.query(`CREATE TABLE ${h.schema}.${name} (id text PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.${name} VALUES (repeat('k', 40000), TIMESTAMPTZ '2026-01-01'), ('z', TIMESTAMPTZ '2026-01-02')`);
    const table = h.table(name, { maxRowsPerFile: 1, rowGroupRows: 1 });
    const failed = await ingest(h, table);
    const state = await h.app.watermarks.get(name);
    // The lease is free at once (not held until it expires), with the progress that was recorded.
    expect(state).toMatchObject({ value: null, lease: null });
    expect(state!.pending).toMatchObject({ slice: 's0000000001', files: 0, parts: [] });
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/pending slice of long_key cannot be recorded: .* keyset cursor/) });
    // So the next run is not turned away by a lease: it gets as far and fails the same clear way.
    const again = await ingest(h, table);
    expect(again).toMatchObject({ status: 'failed', resumed: true, error: failed.error });
  });
});
