import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDemoChanges, createDemoSchema, demoIsrc, demoSize, dropDemoSchema, seedDimensions, seedStreams } from '../../local/demoData.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../local/embeddedPostgres.js';
import { freePort } from '../../local/freePort.js';

/**
 * The demo catalogue on its own embedded Postgres: streams only after release, releases during the
 * history, and the planted signal the hit model is meant to find (local/demoData.ts).
 */
const size = demoSize(0.1, 60_000); // 2,000 users, 200 artists, 600 albums, 3,000 tracks
let postgres: RunningPostgres;
let db: pg.Client;

const one = async (sql: string): Promise<Record<string, unknown>> => (await db.query(sql)).rows[0] as Record<string, unknown>;
// A new release's streams in its first 28 days, with its planted drivers.
const WINDOWS = `
  SELECT t.track_id, t.danceability, t.duration_sec, a.genre,
         count(f.stream_id) FILTER (WHERE f.streamed_at < (t.release_date::timestamp AT TIME ZONE 'UTC') + INTERVAL '28 days') AS w
    FROM public.dim_tracks t JOIN public.dim_artists a USING (artist_id) LEFT JOIN public.fact_streams f USING (track_id)
   WHERE t.release_date BETWEEN DATE '2025-11-01' AND DATE '2026-09-30'
   GROUP BY t.track_id, t.danceability, t.duration_sec, a.genre`;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres({ port: await freePort(), reuse: false });
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await dropDemoSchema(db);
  await createDemoSchema(db);
  await seedDimensions(db, size);
  await seedStreams(db, size);
}, 180_000);

afterAll(async () => {
  await db?.end();
  await postgres?.stop();
});

describe('demo catalogue', () => {
  it('gives every track its own ISRC, the one demoIsrc computes (the Spotify stand-in serves it)', async () => {
    const { rows } = await db.query<{ track_id: number; isrc: string }>('SELECT track_id, isrc FROM public.dim_tracks ORDER BY track_id');
    expect(rows).toHaveLength(size.tracks);
    expect(rows.every((r) => r.isrc === demoIsrc(r.track_id) && /^[A-Z]{2}[A-Z0-9]{3}\d{7}$/.test(r.isrc))).toBe(true);
    expect(new Set(rows.map((r) => r.isrc)).size).toBe(size.tracks);
    expect([demoIsrc(7), demoIsrc(123_456)]).toEqual(['XSSLK0000007', 'XSSLK0123456']);
  });

  it('keeps the stream count and never streams a track before its release or outside the history', async () => {
    const r = await one(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE f.streamed_at < (t.release_date::timestamp AT TIME ZONE 'UTC'))::int AS early,
             min(f.streamed_at) >= TIMESTAMPTZ '2025-11-01 00:00:00+00' AND max(f.streamed_at) < TIMESTAMPTZ '2026-11-01 00:00:00+00' AS inside
        FROM public.fact_streams f JOIN public.dim_tracks t USING (track_id)`);
    expect(r).toEqual({ n: size.streams, early: 0, inside: true });
  });

  it('releases about a quarter of the tracks during the history, streamed most in their first weeks', async () => {
    const r = await one(`
      SELECT avg((t.release_date >= DATE '2025-11-01')::int)::float AS new_share FROM public.dim_tracks t`);
    expect(Number(r.new_share)).toBeGreaterThan(0.15);
    expect(Number(r.new_share)).toBeLessThan(0.35);
    const w = await one(`
      SELECT avg((f.streamed_at < (t.release_date::timestamp AT TIME ZONE 'UTC') + INTERVAL '28 days')::int)::float AS first_weeks
        FROM public.fact_streams f JOIN public.dim_tracks t USING (track_id)
       WHERE t.release_date BETWEEN DATE '2025-11-01' AND DATE '2026-07-01'`);
    expect(Number(w.first_weeks)).toBeGreaterThan(0.45);
  });

  it('plants the signal: danceable, pop-ish, shorter tracks of popular artists get more first-window streams', async () => {
    const r = await one(`
      WITH w AS (${WINDOWS})
      SELECT avg(w) FILTER (WHERE danceability >= 0.575)::float / avg(w) FILTER (WHERE danceability < 0.575)::float AS dance,
             avg(w) FILTER (WHERE duration_sec < 300)::float / avg(w) FILTER (WHERE duration_sec >= 300)::float AS short,
             avg(w) FILTER (WHERE genre IN ('pop', 'hip hop', 'k-pop', 'latin'))::float
               / avg(w) FILTER (WHERE genre NOT IN ('pop', 'hip hop', 'k-pop', 'latin'))::float AS genre,
             avg(w) FILTER (WHERE energy_is_noise)::float / avg(w) FILTER (WHERE NOT energy_is_noise)::float AS noise
        FROM (SELECT w.*, t.energy >= 0.545 AS energy_is_noise FROM w JOIN public.dim_tracks t USING (track_id)) w`);
    expect(Number(r.dance)).toBeGreaterThan(1.3);
    expect(Number(r.short)).toBeGreaterThan(1.15);
    expect(Number(r.genre)).toBeGreaterThan(1.3);
    expect(Math.abs(Number(r.noise) - 1)).toBeLessThan(0.25);
  });

  it('streams a day of changes on the day after the history, with the current updated_at', async () => {
    const before = Number((await one(`SELECT count(*)::int AS n FROM public.fact_streams`)).n);
    const changes = await applyDemoChanges(db, 1, size);
    const r = await one(`
      SELECT count(*)::int AS n, min(streamed_at) >= TIMESTAMPTZ '2026-11-01 00:00:00+00' AS from_ok,
             max(streamed_at) < TIMESTAMPTZ '2026-11-02 00:00:00+00' AS to_ok, min(updated_at) > now() - INTERVAL '5 minutes' AS fresh
        FROM public.fact_streams WHERE stream_id > ${before}`);
    expect(r).toEqual({ n: changes.newStreams, from_ok: true, to_ok: true, fresh: true });
  });
});
