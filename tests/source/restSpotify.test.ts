import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { parsePipelineConfig } from '../../shared/config/pipelineConfig.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { createLogger } from '../../shared/logging/logger.js';
import { newRunId } from '../../shared/run/runId.js';
import { SpotifyStandIn } from '../../local/spotifyStandIn.js';
import { createHarness, type Harness } from '../support/harness.js';

/**
 * A REST source through the real core against a loopback stand-in of Spotify's accounts
 * service and Web API: client-credentials tokens, paging, 401/429/5xx, an empty page and a page
 * that repeats. Each case asserts bronze, the table's state, the ledger and the alerts, and
 * that the client secret and tokens reach none of them (nor the log).
 */
const CLIENT_ID = 'standin-client-id';
const CLIENT_SECRET = 'S3cr3t-standin-client-secret-value';
let h: Harness;
let spotify: SpotifyStandIn;
const apps: SoundlakeApp[] = [];
let waits: number[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  h = await createHarness();
  spotify = await new SpotifyStandIn(CLIENT_ID, CLIENT_SECRET).start();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await spotify?.close();
  await h?.close();
});
beforeEach(() => {
  spotify.faults.length = 0;
  spotify.repeatFromPage = 0;
  spotify.emptyAfterPage = 0;
  waits = [];
});

const tracksTable = (name: string): string => `
  - name: ${name}
    source:
      name: spotify
      endpoint: search
      params: { q: "year:2026", type: track, market: SE, limit: 10 }
      records: tracks.items
      paginate: { type: next_url, next: tracks.next, maxPages: 10 }
      fields:
        - { name: track_id, type: string, path: id }
        - { name: track_name, type: string, path: name }
        - { name: artist_id, type: string, path: artists.0.id }
        - { name: album_id, type: string, path: album.id }
        - { name: release_date, type: date, path: album.release_date }
        - { name: duration_ms, type: int }
        - { name: explicit, type: boolean }
    primaryKey: [track_id]`;

async function appWith(tables: string, unset: string[] = []): Promise<SoundlakeApp> {
  const config = parsePipelineConfig(`version: 1
sources:
  - name: spotify
    kind: rest
    baseUrl: { setting: SPOTIFY_API_BASE_URL }
    auth: { type: client_credentials, tokenUrl: { setting: SPOTIFY_TOKEN_URL }, clientId: { setting: SPOTIFY_CLIENT_ID }, clientSecret: { setting: SPOTIFY_CLIENT_SECRET } }
tables:
${tables}`);
  const env: Record<string, string> = { SPOTIFY_API_BASE_URL: `${spotify.url}/v1/`, SPOTIFY_TOKEN_URL: `${spotify.url}/api/token`, SPOTIFY_CLIENT_ID: CLIENT_ID, SPOTIFY_CLIENT_SECRET: CLIENT_SECRET };
  for (const name of unset) delete env[name];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void logLines.push(l) } });
  const settings = { ...h.settings, http: { allowedHosts: ['127.0.0.1'], allowPrivateAddresses: true, maxBytes: 1e7, maxRedirects: 2, timeoutMs: 2000 }, setting: (n: string) => env[n] };
  const app = await createApp(settings, {
    logger,
    notifier: h.notifier,
    config,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  apps.push(app);
  return app;
}

const run = (app: SoundlakeApp, name: string) => ingestTable(app.ingestDeps(), app.config.tables.find((t) => t.name === name)!, { runId: newRunId(), trigger: 'test' });
const alertsFor = (name: string) => h.notifier.notices.filter((n) => n.subject === name);
const ledgerOf = async (app: SoundlakeApp, name: string) => (await app.ledger.recent(name, 50)).sort((a, b) => a.startedAt.localeCompare(b.startedAt));

async function expectNoSecret(app: SoundlakeApp, name: string): Promise<void> {
  const everything = JSON.stringify([await h.bronzeRows(name).catch(() => []), await h.manifests(name), await app.watermarks.get(name), await ledgerOf(app, name), alertsFor(name), logLines], (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  expect(everything).not.toContain(CLIENT_SECRET);
  expect(everything).not.toContain(Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'));
  expect(everything).not.toMatch(/standin-[0-9a-f]{16}/);
}

describe('a Spotify pull through the REST source', () => {
  it('takes a token, pages through every result (limit 10), lands one daily snapshot, and pulls nothing more that day', async () => {
    const app = await appWith(tracksTable('sp_tracks'));
    const first = await run(app, 'sp_tracks');
    expect(first).toMatchObject({ status: 'succeeded', rows: 23, slice: 's0000000001' });
    const rows = await h.bronzeRows('sp_tracks');
    expect(rows.map((r) => r.track_id)).toEqual(spotify.catalogue.tracks.map((t) => t.id));
    expect(rows[0]).toMatchObject({ track_name: 'Stand-in Track 1', artist_id: spotify.catalogue.artists[0]!.id, duration_ms: 120000, explicit: true });
    expect(new Set(rows.map((r) => r._loaded_at)).size).toBe(1);
    const searches = spotify.requests.filter((r) => r.path === '/v1/search');
    expect(searches).toHaveLength(3); // 10 + 10 + 3, following `next`
    const [m] = await h.manifests('sp_tracks');
    expect(m!.source).toEqual({ kind: 'rest', schema: 'spotify', table: 'sp_tracks' });
    expect(m!.columns.map((c) => `${c.name}:${c.parquetType}`)).toContain('release_date:DATE');
    const state = await app.watermarks.get('sp_tracks');
    expect(JSON.parse(state!.value!)).toMatchObject({ pullDate: new Date().toISOString().slice(0, 10) });

    const again = await run(app, 'sp_tracks');
    expect(again).toMatchObject({ status: 'nochange' });
    expect(again.message).toMatch(/pulled today/);
    expect(spotify.requests.filter((r) => r.path === '/v1/search')).toHaveLength(3);
    expect((await ledgerOf(app, 'sp_tracks')).map((e) => e.status)).toEqual(['succeeded', 'nochange']);
    expect(alertsFor('sp_tracks')).toEqual([]);
    await expectNoSecret(app, 'sp_tracks');
  });

  it('401 on an expired token: one fresh token, the pull goes on; 429 waits its Retry-After; 5xx retried', async () => {
    const app = await appWith(tracksTable('sp_retry'));
    spotify.faults.push({ path: '/v1/search', status: 429, retryAfter: '7' }, { path: '/v1/search', status: 503 });
    const issuedBefore = spotify.tokensIssued;
    const result = await run(app, 'sp_retry');
    expect(result).toMatchObject({ status: 'succeeded', rows: 23 });
    expect(waits).toEqual([7000, 500]);
    expect(spotify.tokensIssued - issuedBefore).toBe(1);

    // A cached token that expires between two pulls of the same source: one 401, one fresh token.
    const app2 = await appWith(tracksTable('sp_expired_a') + tracksTable('sp_expired_b'));
    expect(await run(app2, 'sp_expired_a')).toMatchObject({ status: 'succeeded' });
    spotify.expireTokens();
    const before = spotify.tokensIssued;
    const unauthorized = spotify.requests.filter((r) => r.status === 401).length;
    expect(await run(app2, 'sp_expired_b')).toMatchObject({ status: 'succeeded', rows: 23 });
    expect(spotify.tokensIssued - before).toBe(1);
    expect(spotify.requests.filter((r) => r.status === 401).length - unauthorized).toBe(1);
    expect(alertsFor('sp_expired_b')).toEqual([]);
    await expectNoSecret(app2, 'sp_expired_b');
  });

  it('the preset\'s spotify_tracks: each track\'s ISRC, popularity and its place in the pull across pages ($position)', async () => {
    const preset = parse(readFileSync('examples/sources.soundlake.yaml', 'utf8')) as { tables: { name: string }[] };
    const table = preset.tables.find((t) => t.name === 'spotify_tracks')!;
    const app = await appWith(stringify([{ ...table, name: 'sp_preset' }]).replace(/^/gm, '  '));
    expect(await run(app, 'sp_preset')).toMatchObject({ status: 'succeeded', rows: 23 });
    const rows = await h.bronzeRows('sp_preset');
    expect(rows.map((r) => [r.search_rank, r.spotify_track_id, r.isrc, r.popularity])).toEqual(
      spotify.catalogue.tracks.map((t, i) => [i + 1, t.id, t.external_ids.isrc, t.popularity]),
    );
  });

  it('offset paging: limit and offset sent by the source, the short page ends the pull', async () => {
    const app = await appWith(`
  - name: sp_offset
    source:
      name: spotify
      endpoint: search
      params: { q: "genre:pop", type: artist }
      records: artists.items
      paginate: { type: offset, limit: 3 }
      fields: [{ name: artist_id, type: string, path: id }, { name: genres, type: string }]
    primaryKey: [artist_id]`);
    const before = spotify.requests.length;
    expect(await run(app, 'sp_offset')).toMatchObject({ status: 'succeeded', rows: 7 });
    expect(spotify.requests.slice(before).filter((r) => r.path === '/v1/search')).toHaveLength(3); // 3 + 3 + 1
    expect((await h.bronzeRows('sp_offset')).map((r) => [r.artist_id, r.genres])).toEqual(spotify.catalogue.artists.map((a) => [a.id, JSON.stringify(a.genres)]));
  });

  it('an empty page ends the pull', async () => {
    spotify.emptyAfterPage = 1;
    const app = await appWith(tracksTable('sp_empty'));
    expect(await run(app, 'sp_empty')).toMatchObject({ status: 'succeeded', rows: 10 });
    expect((await h.bronzeRows('sp_empty')).length).toBe(10);
  });

  it('a missing setting fails that source\'s tables, naming the setting, and nothing else', async () => {
    const app = await appWith(tracksTable('sp_unset'), ['SPOTIFY_CLIENT_SECRET']);
    const result = await run(app, 'sp_unset');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/source spotify is not configured: [\s\S]*SPOTIFY_CLIENT_SECRET: required: the client secret of source spotify/);
    expect(alertsFor('sp_unset').map((a) => a.kind)).toEqual(['ingestion-failed']);
  });

  const failures: { name: string; arrange: () => void; error: RegExp }[] = [
    { name: 'sp_repeat', arrange: () => (spotify.repeatFromPage = 2), error: /page 3 is .* again \(the API repeats a page\)/ },
    { name: 'sp_throttled', arrange: () => spotify.faults.push({ path: '/v1/search', status: 429, retryAfter: '3600' }), error: /HTTP 429, Retry-After 3600 s exceeds/ },
    { name: 'sp_down', arrange: () => spotify.faults.push(...Array.from({ length: 4 }, () => ({ path: '/v1/search', status: 502 }))), error: /HTTP 502.*after 3 retries/ },
    { name: 'sp_badclient', arrange: () => spotify.faults.push({ path: '/api/token', status: 401 }), error: /token request failed: .*HTTP 401/ },
  ];
  for (const f of failures) {
    it(`${f.name}: the pull fails, nothing lands, alerted and recorded, no secret anywhere`, async () => {
      const app = await appWith(tracksTable(f.name));
      f.arrange();
      // A fresh client has no token: the token fault applies to its first request.
      const result = await run(app, f.name);
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(f.error);
      expect(await h.manifests(f.name)).toEqual([]);
      const state = await app.watermarks.get(f.name);
      expect(state).toMatchObject({ value: null, lease: null });
      expect(alertsFor(f.name).map((a) => a.kind)).toEqual(['ingestion-failed']);
      expect((await ledgerOf(app, f.name)).map((e) => e.status)).toEqual(['failed']);
      await expectNoSecret(app, f.name);
    });
  }
});
