import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadAskSettings } from '../../shared/ask/askSettings.js';
import type { AskService } from '../../shared/ask/askService.js';
import { createAskService } from '../../shared/ask/createAskService.js';
import type { SqlEndpoint } from '../../shared/ask/sqlEndpoint.js';
import { HttpStandIn, captureLogger } from '../support/alertStandIns.js';
import { createGoldSchema, createPostgresSqlEndpoint } from '../support/postgresSqlEndpoint.js';

/**
 * Gold's Spotify daily facts exist only where the table catalog has the Spotify daily pull (the
 * bundle's catalog mutator switches them on from the same file): the question box offers them
 * in its prompt and guard exactly then, and refuses them by name otherwise. The catalog is the
 * repository's, with and without the Spotify preset's pull; a real Postgres (the suite's PGlite)
 * holds a gold-shaped schema with a few Spotify rows; a loopback server plays the model.
 */
const SCHEMA = 'gold_ask_conditional';
const POPULAR = `SELECT track_name, popularity FROM ${SCHEMA}.fact_spotify_track_daily WHERE matched ORDER BY popularity DESC`;
const ARTISTS = `SELECT f.spotify_artist_id, a.artist_name, f.best_rank FROM ${SCHEMA}.fact_spotify_artist_daily f JOIN ${SCHEMA}.dim_artist a ON a.artist_id = f.artist_id AND a.__START_AT = f.artist_valid_from ORDER BY f.best_rank`;

let work: string;
let db: pg.Client;
let endpoint: SqlEndpoint;
let llm: HttpStandIn;
const prompts: string[] = [];
const log = captureLogger();

/** soundlake.yaml with the Spotify preset's source and spotify_tracks table (examples/sources.soundlake.yaml). */
function catalogWithPull(): string {
  const base = parse(readFileSync('soundlake.yaml', 'utf8')) as { sources?: unknown[]; tables: unknown[] };
  const preset = parse(readFileSync('examples/sources.soundlake.yaml', 'utf8')) as { sources: { name: string }[]; tables: { name: string }[] };
  base.sources = preset.sources.filter((s) => s.name === 'spotify');
  base.tables.push(preset.tables.find((t) => t.name === 'spotify_tracks')!);
  return stringify(base);
}

function service(catalogPath: string): Promise<AskService> {
  const settings = loadAskSettings({
    ASK_ENDPOINT: 'databricks',
    DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net',
    DATABRICKS_TOKEN: ['dapi', '0'.repeat(32)].join(''),
    DATABRICKS_WAREHOUSE_ID: 'abcdef123456',
    DATABRICKS_GOLD_SCHEMA: SCHEMA,
    ASK_LLM_BASE_URL: llm.url('/v1'),
    ASK_LLM_MODEL: 'stand-in',
    SOUNDLAKE_CONFIG: catalogPath,
  });
  return createAskService(settings, log.logger, { endpoint });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ask-spotify-'));
  writeFileSync(join(work, 'with-pull.yaml'), catalogWithPull());
  db = new pg.Client({ connectionString: inject('postgresUrl') });
  await db.connect();
  await createGoldSchema(db, SCHEMA);
  const pull = ['20261119', '2026-11-19', '2026-11-19 18:00:00'];
  const since = '2026-11-01 00:00:00';
  for (const [track, isrc, rank, popularity, trackId, artistId, spArtist, name, artist, matched] of [
    ['sp1', 'XSSLK0000001', 2, 81, 1, 10, 'spA', 'One', 'A', true],
    ['sp2', 'XSSLK0000002', 1, 55, 2, 12, 'spB', 'Two', 'B', true],
    ['sp9', 'XSSTI2600009', 3, 99, -1, -1, 'spA', 'Nine', 'A', false],
  ] as const) {
    await db.query(
      `INSERT INTO ${SCHEMA}.fact_spotify_track_daily (date_key, pull_date, pulled_at, spotify_track_id, isrc, search_rank, popularity, track_id, track_valid_from, artist_id, artist_valid_from, spotify_artist_id, track_name, artist_name, matched) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [...pull, track, isrc, rank, popularity, trackId, matched ? since : null, artistId, matched ? since : null, spArtist, name, artist, matched],
    );
  }
  for (const [spArtist, best, artistId] of [['spA', 2, 10], ['spB', 1, 12]] as const) {
    await db.query(`INSERT INTO ${SCHEMA}.fact_spotify_artist_daily (date_key, pull_date, spotify_artist_id, best_rank, artist_id, artist_valid_from, matched) VALUES ($1, $2, $3, $4, $5, $6, true)`, [pull[0], pull[1], spArtist, best, artistId, since]);
    await db.query(`INSERT INTO ${SCHEMA}.dim_artist (artist_id, artist_name, __start_at, __end_at) VALUES ($1, $2, $3, NULL)`, [artistId, `Artist ${artistId}`, since]);
  }
  endpoint = await createPostgresSqlEndpoint(inject('postgresUrl'));
  llm = await HttpStandIn.start((req) => {
    const body = JSON.parse(req.body) as { messages: { role: string; content: string }[] };
    prompts.push(body.messages.find((m) => m.role === 'system')!.content);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content: POPULAR } }] }) };
  });
});

afterAll(async () => {
  await llm?.close();
  await endpoint?.close();
  await db?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Spotify gold tables in the question box', () => {
  it('are in the prompt and the allow-list when the catalog has the Spotify pull, and queries on them run', async () => {
    const ask = await service(join(work, 'with-pull.yaml'));
    prompts.length = 0;
    const answer = await ask.ask({ question: 'Which of our tracks are most popular on Spotify?' });
    expect(answer.error).toBeNull();
    expect(answer.status).toBe('answered');
    // the unmatched track (popularity 99) is filtered out by the engine, not here
    expect(answer.rows).toEqual([['One', 81], ['Two', 55]]);
    const prompt = prompts[0]!;
    for (const t of ['fact_spotify_track_daily', 'fact_spotify_artist_daily', 'spotify_daily_quality']) {
      expect(prompt).toContain(`TABLE ${SCHEMA}.${t} -- `);
    }
    expect(prompt).toMatch(/^ {2}popularity int -- Spotify popularity 0 to 100/m);
    const joined = await ask.ask({ sql: ARTISTS });
    expect(joined.error).toBeNull();
    expect(joined.rows).toEqual([['spB', 'Artist 12', 1], ['spA', 'Artist 10', 2]]);
  });

  it('are refused, naming why, and left out of the prompt when the catalog has no Spotify pull', async () => {
    const ask = await service('soundlake.yaml');
    prompts.length = 0;
    const answer = await ask.ask({ question: 'Which of our tracks are most popular on Spotify?' });
    expect(answer.status).toBe('refused');
    expect(answer.rows).toEqual([]);
    expect(answer.error).toEqual({
      code: 'table_not_allowed',
      message: `${SCHEMA}.fact_spotify_track_daily does not exist in this deployment: it is built only where the table catalog has the silver table spotify_tracks, and this deployment's catalog has none`,
    });
    expect(prompts.length).toBeGreaterThan(0);
    for (const p of prompts) expect(p).not.toMatch(/spotify/i);
    expect(prompts[0]).toContain(`TABLE ${SCHEMA}.fact_stream -- `);
    const sql = await ask.ask({ sql: `SELECT count(*) FROM ${SCHEMA}.spotify_daily_quality` });
    expect(sql.status).toBe('refused');
    expect(sql.error?.message).toMatch(/spotify_daily_quality does not exist in this deployment: .*silver table spotify_tracks/);
    // the tables every deployment has are still answered
    expect((await ask.ask({ sql: `SELECT count(*) AS n FROM ${SCHEMA}.dim_artist` })).rows).toEqual([[2]]);
  });
});
