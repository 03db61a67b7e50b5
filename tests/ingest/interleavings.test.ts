import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../shared/extract/faultHooks.js';
import { createHarness, type Harness } from '../support/harness.js';
import { ingest, InjectedCrash } from '../support/ingest.js';

/**
 * Random interleavings of source changes, runs, crashes at random steps and concurrent runs,
 * from a seeded generator. Afterwards bronze, manifests, watermark and ledger must agree, and
 * every row version must be in bronze at most once, every current row exactly once.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POINTS: Checkpoint[] = ['pending-recorded', 'rows-written', 'part-committed', 'part-recorded', 'parts-complete', 'manifest-written'];

describe('any interleaving of runs, crashes and changes', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`leaves bronze, manifests, watermark and ledger in agreement (seed ${seed})`, async () => {
      const r = rng(seed);
      const name = `mix_${seed}`;
      const table = h.table(name, { maxRowsPerFile: 7, rowGroupRows: 3 });
      await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, version integer NOT NULL, updated_at timestamptz NOT NULL)`);
      let clock = 0;
      let nextId = 1;
      const stamp = (): string => `TIMESTAMPTZ '2026-01-01' + ${++clock} * INTERVAL '1 second'`;

      for (let step = 0; step < 40; step++) {
        const action = r();
        if (action < 0.3) {
          const n = 1 + Math.floor(r() * 12);
          for (let i = 0; i < n; i++) await h.db.query(`INSERT INTO ${h.schema}.${name} VALUES (${nextId++}, 1, ${stamp()})`);
        } else if (action < 0.45 && nextId > 1) {
          const id = 1 + Math.floor(r() * (nextId - 1));
          await h.db.query(`UPDATE ${h.schema}.${name} SET version = version + 1, updated_at = ${stamp()} WHERE id = ${id}`);
        } else if (action < 0.75) {
          const point = POINTS[Math.floor(r() * POINTS.length)]!;
          const part = Math.floor(r() * 3);
          await ingest(h, table, {
            hooks: {
              checkpoint: (p, d) => {
                if (p === point && (d.part === undefined || d.part === part)) throw new InjectedCrash(p);
              },
            },
          });
        } else if (action < 0.9) {
          const results = await Promise.all([ingest(h, table), ingest(h, table)]);
          expect(results.filter((x) => x.status === 'succeeded' || x.status === 'nochange').length).toBeGreaterThanOrEqual(1);
        } else {
          await ingest(h, table);
        }
      }
      // Settle: run until nothing is left.
      for (let i = 0; i < 5; i++) if ((await ingest(h, table)).status === 'nochange') break;

      const bronze = await h.bronzeRows(name);
      const versions = new Map<string, number>();
      for (const row of bronze) {
        const key = `${row.id}@${row.version}`;
        versions.set(key, (versions.get(key) ?? 0) + 1);
      }
      expect([...versions.entries()].filter(([, n]) => n > 1)).toEqual([]);
      const { rows: current } = await h.db.query(`SELECT id, version FROM ${h.schema}.${name}`);
      for (const row of current) expect(versions.get(`${row.id}@${row.version}`), `row ${row.id} v${row.version}`).toBe(1);

      const manifests = await h.manifests(name);
      expect(manifests.flatMap((m) => m.files.map((f) => f.path)).sort()).toEqual((await h.bronzeFiles(name)).map((f) => f.path));
      expect(manifests.reduce((n, m) => n + m.rows, 0)).toBe(bronze.length);
      const state = await h.app.watermarks.get(name);
      expect(state).toMatchObject({ pending: null, lease: null, seq: manifests.length });
      expect(state!.value).toBe(manifests.at(-1)!.watermark.high);
      const ledger = await h.app.ledger.recent(name, 1000);
      const succeeded = ledger.filter((e) => e.status === 'succeeded');
      expect(succeeded.map((e) => e.slice).sort()).toEqual(manifests.map((m) => m.slice));
      expect(succeeded.reduce((n, e) => n + (e.rows ?? 0), 0)).toBe(bronze.length);
    });
  }
});
