import type pg from 'pg';

/**
 * The demo source: a Spotify-like catalogue in Postgres, generated in SQL from a stable hash of
 * the row number, so every machine gets the same rows. The stream history runs from 2025-11-01
 * to the end of 2026-10-31; changes applied later carry the current time in `updated_at` (so they
 * land in the next incremental slice) and are streamed on the days after the history.
 *
 * A quarter of the albums (and so of the tracks) come out during the history; the rest are the
 * back catalogue. A new release is streamed from its release day on, most in its first weeks (a
 * burst that decays over about 30 days). How much a track is streamed is planted, for the hit
 * model to find: its appeal is
 *   0.8 x the artist's popularity (a hidden number; visible through the artist's streams)
 *   + 0.6 x danceability (standardised) + 0.8 if the artist's genre is pop, hip hop, k-pop or latin
 *   - 0.8 if the track lasts 300 s or more + noise (about as strong as all of that together),
 * and tracks are streamed by the rank of their appeal (a power law, as before).
 */

export interface DemoSize {
  users: number;
  artists: number;
  albums: number;
  tracks: number;
  streams: number;
}

export function demoSize(scale = 1, streams?: number): DemoSize {
  const n = (base: number): number => Math.max(1, Math.round(base * scale));
  return { users: n(20_000), artists: n(2_000), albums: n(6_000), tracks: n(30_000), streams: streams ?? n(1_000_000) };
}

// r(i, salt): a deterministic number in [0, 1) from Postgres' portable int8 hash.
const R = `CREATE OR REPLACE FUNCTION public.sl_r(i bigint, salt int) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (hashint8(i * 1000003 + salt)::bigint + 2147483648) / 4294967296.0 $$;
CREATE OR REPLACE FUNCTION public.sl_pick(i bigint, salt int, items text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT items[1 + floor(public.sl_r(i, salt) * array_length(items, 1))::int] $$;`;

/**
 * A demo track's ISRC (the recording's International Standard Recording Code, the id Spotify
 * gives in a track's `external_ids.isrc`): made up, unique per track id. `XS` is no country's
 * code, so no real recording has it. The Spotify stand-in serves some of these (local/sourcesDemo.ts),
 * which is how gold matches a pulled track to DimTrack.
 */
export function demoIsrc(trackId: number): string {
  return `XSSLK${String(Math.floor(trackId / 100_000) % 100).padStart(2, '0')}${String(trackId % 100_000).padStart(5, '0')}`;
}
const DEMO_ISRC_SQL = (id: string): string =>
  `'XSSLK' || lpad(((${id} / 100000) % 100)::text, 2, '0') || lpad((${id} % 100000)::text, 5, '0')`;

export const DEMO_SCHEMA = `
${R}
CREATE TABLE IF NOT EXISTS public.dim_users (
  user_id integer PRIMARY KEY, user_name text NOT NULL, country text, subscription_type text NOT NULL,
  signup_date date, updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS public.dim_artists (
  artist_id integer PRIMARY KEY, artist_name text NOT NULL, genre text, country text, updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS public.dim_albums (
  album_id integer PRIMARY KEY, album_name text NOT NULL, artist_id integer NOT NULL, release_date date, updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS public.dim_tracks (
  track_id integer PRIMARY KEY, track_name text NOT NULL, artist_id integer NOT NULL, album_id integer NOT NULL,
  duration_sec integer, release_date date, explicit boolean NOT NULL,
  danceability numeric(4,3), energy numeric(4,3), tempo_bpm numeric(6,2), isrc text, updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS public.fact_streams (
  stream_id bigint PRIMARY KEY, user_id integer NOT NULL, track_id integer NOT NULL, streamed_at timestamptz NOT NULL,
  ms_played integer NOT NULL, device_type text NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS fact_streams_updated_at ON public.fact_streams (updated_at);
CREATE INDEX IF NOT EXISTS dim_users_updated_at ON public.dim_users (updated_at);
CREATE INDEX IF NOT EXISTS dim_artists_updated_at ON public.dim_artists (updated_at);
CREATE INDEX IF NOT EXISTS dim_albums_updated_at ON public.dim_albums (updated_at);
CREATE INDEX IF NOT EXISTS dim_tracks_updated_at ON public.dim_tracks (updated_at);`;

const FIRST = `ARRAY['Ada','Bo','Chen','Dara','Eli','Fatima','Gus','Hana','Ivo','Jun','Kofi','Lena','Mateo','Nia','Omar','Priya','Quinn','Rosa','Sven','Tariq','Uma','Vera','Wen','Ximena','Yusuf','Zoe','Åsa','Søren','Chloé','Łukasz']`;
const LAST = `ARRAY['Andersen','Baker','Costa','Dubois','Eriksen','Fischer','García','Hoang','Ivanova','Jensen','Kim','López','Müller','Nakamura','Okafor','Petrov','Quispe','Rossi','Silva','Tanaka','Uddin','Varga','Wójcik','Xu','Yilmaz','Zhou']`;
const COUNTRIES = `ARRAY['US','US','US','GB','GB','DE','DE','FR','SE','NO','BR','BR','MX','IN','IN','JP','KR','NG','ZA','AU','CA','ES','IT','PL','TR']`;
const GENRES = `ARRAY['pop','rock','hip hop','electronic','jazz','classical','r&b','indie','metal','folk','latin','k-pop','country','reggae','ambient']`;
const WORDS = `ARRAY['Midnight','Neon','Velvet','Echo','Golden','Paper','Silent','Electric','Wild','Crystal','Lunar','Broken','Violet','Atlas','Ocean','Static','Northern','Honey','Glass','Fever']`;
const NOUNS = `ARRAY['Hearts','Foxes','Machines','Rivers','Kids','Ghosts','Lights','Wolves','Bloom','Tides','Club','Parade','Signal','Garden','Orchestra','Riot','Collective','Dreams','Sisters','Brothers']`;
const DECOR = `ARRAY['','','','','','','!','!!!',' & Co.','*','.','$','?',' (feat. DJ Ø)','#1',' ✨']`;
const DEVICES = `ARRAY['mobile','mobile','mobile','mobile','desktop','desktop','tablet','smart_speaker','tv','car']`;
const HISTORY_START = `TIMESTAMPTZ '2025-11-01 00:00:00+00'`;
const HISTORY_END = `TIMESTAMPTZ '2026-11-01 00:00:00+00'`;
const HISTORY_SECONDS = 365 * 86_400 - 1;
/** Share of albums released during the stream history, and how fast a release's streams decay. */
const NEW_ALBUMS = 0.25;
const DECAY_DAYS = 30;

export async function createDemoSchema(db: pg.Client): Promise<void> {
  await db.query(DEMO_SCHEMA);
}

export async function dropDemoSchema(db: pg.Client): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS public.fact_streams, public.dim_tracks, public.dim_albums, public.dim_artists, public.dim_users`);
  await db.query(`DROP TABLE IF EXISTS pg_temp.sl_pick_all, pg_temp.sl_pick_catalogue`);
}

type Progress = (message: string) => void;

export async function seedDimensions(db: pg.Client, size: DemoSize, progress: Progress = () => undefined): Promise<void> {
  await db.query(
    `INSERT INTO public.dim_users
     SELECT i, public.sl_pick(i, 1, ${FIRST}) || ' ' || public.sl_pick(i, 2, ${LAST}), public.sl_pick(i, 3, ${COUNTRIES}),
            CASE WHEN public.sl_r(i, 4) < 0.55 THEN 'free' WHEN public.sl_r(i, 4) < 0.85 THEN 'premium' WHEN public.sl_r(i, 4) < 0.95 THEN 'family' ELSE 'student' END,
            DATE '2019-01-01' + floor(public.sl_r(i, 5) * 2400)::int,
            TIMESTAMPTZ '2025-10-01 00:00:00+00' + floor(public.sl_r(i, 6) * 2592000) * INTERVAL '1 second'
       FROM generate_series(1, $1::int) i`,
    [size.users],
  );
  progress(`dim_users: ${size.users.toLocaleString('en')} rows`);
  await db.query(
    `INSERT INTO public.dim_artists
     SELECT i, public.sl_pick(i, 11, ${WORDS}) || ' ' || public.sl_pick(i, 12, ${NOUNS}) || public.sl_pick(i, 13, ${DECOR}),
            public.sl_pick(i, 14, ${GENRES}), public.sl_pick(i, 15, ${COUNTRIES}),
            TIMESTAMPTZ '2025-10-01 00:00:00+00' + floor(public.sl_r(i, 16) * 2592000) * INTERVAL '1 second'
       FROM generate_series(1, $1::int) i`,
    [size.artists],
  );
  progress(`dim_artists: ${size.artists.toLocaleString('en')} rows`);
  await db.query(
    `INSERT INTO public.dim_albums
     SELECT i, public.sl_pick(i, 21, ${WORDS}) || ' ' || public.sl_pick(i, 22, ${NOUNS}),
            1 + floor(public.sl_r(i, 23) * $2::int)::int,
            CASE WHEN public.sl_r(i, 26) < ${NEW_ALBUMS} THEN DATE '2025-11-01' + floor(public.sl_r(i, 24) * 365)::int
                 ELSE DATE '1995-01-01' + floor(public.sl_r(i, 24) * 11260)::int END,
            TIMESTAMPTZ '2025-10-01 00:00:00+00' + floor(public.sl_r(i, 25) * 2592000) * INTERVAL '1 second'
       FROM generate_series(1, $1::int) i`,
    [size.albums, size.artists],
  );
  progress(`dim_albums: ${size.albums.toLocaleString('en')} rows`);
  await db.query(
    `INSERT INTO public.dim_tracks
     SELECT i, public.sl_pick(i, 31, ${WORDS}) || ' ' || public.sl_pick(i, 32, ${NOUNS}), a.artist_id, a.album_id,
            CASE WHEN public.sl_r(i, 33) < 0.003 THEN 4 + floor(public.sl_r(i, 34) * 20)::int
                 ELSE 95 + floor(public.sl_r(i, 34) * public.sl_r(i, 35) * 420)::int END,
            a.release_date, public.sl_r(i, 36) < 0.18,
            round((0.2 + public.sl_r(i, 37) * 0.75)::numeric, 3), round((0.1 + public.sl_r(i, 38) * 0.89)::numeric, 3),
            round((60 + public.sl_r(i, 39) * 120)::numeric, 2), ${DEMO_ISRC_SQL('i')},
            TIMESTAMPTZ '2025-10-01 00:00:00+00' + floor(public.sl_r(i, 40) * 2592000) * INTERVAL '1 second'
       FROM generate_series(1, $1::int) i
       JOIN public.dim_albums a ON a.album_id = 1 + floor(public.sl_r(i, 41) * $2::int)::int`,
    [size.tracks, size.albums],
  );
  progress(`dim_tracks: ${size.tracks.toLocaleString('en')} rows`);
}

// A normal-ish number (mean 0, sd 1) from three hashes.
const normal = (id: string, salt: number): string => `((public.sl_r(${id}, ${salt}) + public.sl_r(${id}, ${salt + 1}) + public.sl_r(${id}, ${salt + 2}) - 1.5) * 2)`;

/**
 * Two session tables that rank the tracks by their planted appeal: `sl_pick_all` (every track)
 * and `sl_pick_catalogue` (the back catalogue). A stream picks a rank with the same skewed
 * formula as ever, so popularity keeps its power law, now ordered by appeal.
 */
async function ensurePickTables(db: pg.Client): Promise<{ all: number; catalogue: number }> {
  const appeal = `0.8 * ${normal('a.artist_id', 61)} + 0.6 * (t.danceability - 0.575) / 0.2165
      + CASE WHEN a.genre IN ('pop', 'hip hop', 'k-pop', 'latin') THEN 0.8 ELSE 0 END
      - CASE WHEN t.duration_sec >= 300 THEN 0.8 ELSE 0 END + 1.0 * ${normal('t.track_id', 64)}`;
  await db.query(
    `CREATE TEMP TABLE IF NOT EXISTS sl_pick_all AS
     SELECT (row_number() OVER (ORDER BY ${appeal} DESC, t.track_id))::int AS pick, t.track_id,
            t.release_date >= DATE '2025-11-01' AS is_new, (t.release_date::timestamp AT TIME ZONE 'UTC') AS released_at
       FROM public.dim_tracks t JOIN public.dim_artists a ON a.artist_id = t.artist_id`,
  );
  await db.query(
    `CREATE TEMP TABLE IF NOT EXISTS sl_pick_catalogue AS
     SELECT (row_number() OVER (ORDER BY pick))::int AS pick, track_id FROM sl_pick_all WHERE NOT is_new`,
  );
  const { rows } = await db.query(`SELECT (SELECT count(*) FROM sl_pick_all)::int AS a, (SELECT count(*) FROM sl_pick_catalogue)::int AS c`);
  return { all: Number(rows[0].a), catalogue: Number(rows[0].c) };
}

/**
 * Streams with skewed popularity: a few tracks and users account for much of the listening.
 * With the catalogue seeded, tracks are picked by planted appeal and streamed only after their
 * release (a new release's stream that would fall after the history goes to the back catalogue);
 * without it (the extraction benchmark seeds streams alone), track ids are picked directly.
 */
export async function seedStreams(db: pg.Client, size: Pick<DemoSize, 'streams' | 'users' | 'tracks'>, progress: Progress = () => undefined, firstId = 1): Promise<void> {
  const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM public.dim_tracks) AS seeded`);
  const picks = rows[0].seeded ? await ensurePickTables(db) : undefined;
  const batch = 250_000;
  for (let from = firstId; from < firstId + size.streams; from += batch) {
    const to = Math.min(firstId + size.streams - 1, from + batch - 1);
    const uniform = `${HISTORY_START} + floor(public.sl_r(i, 55) * ${HISTORY_SECONDS}) * INTERVAL '1 second'`;
    const user = `1 + floor(power(public.sl_r(i, 51), 1.6) * $3::int)::int`;
    const rest = `5000 + floor(public.sl_r(i, 53) * 295000)::int, public.sl_pick(i, 54, ${DEVICES})`;
    if (!picks) {
      await db.query(
        `INSERT INTO public.fact_streams
         SELECT i, ${user}, 1 + floor(power(public.sl_r(i, 52), 2.2) * $4::int)::int, ts, ${rest}, ts
           FROM (SELECT i, ${uniform} AS ts FROM generate_series($1::bigint, $2::bigint) i) s`,
        [from, to, size.users, size.tracks],
      );
    } else {
      await db.query(
        `INSERT INTO public.fact_streams
         SELECT i, ${user}, CASE WHEN ts0 < ${HISTORY_END} THEN track0 ELSE COALESCE(c.track_id, track0) END, ts, ${rest}, ts
           FROM (SELECT i, track0, ts0, CASE WHEN ts0 < ${HISTORY_END} THEN ts0 ELSE ${uniform} END AS ts
                   FROM (SELECT i, p.track_id AS track0,
                                CASE WHEN p.is_new THEN p.released_at + floor(-ln(1 - public.sl_r(i, 57)) * ${DECAY_DAYS} * 86400) * INTERVAL '1 second'
                                     ELSE ${uniform} END AS ts0
                           FROM generate_series($1::bigint, $2::bigint) i
                           JOIN sl_pick_all p ON p.pick = 1 + floor(power(public.sl_r(i, 52), 2.2) * $4::int)::int) s0) s
           LEFT JOIN sl_pick_catalogue c ON c.pick = 1 + floor(power(public.sl_r(i, 58), 2.2) * $5::int)::int`,
        [from, to, size.users, picks.all, picks.catalogue],
      );
    }
    progress(`fact_streams: ${(to - firstId + 1).toLocaleString('en')} / ${size.streams.toLocaleString('en')} rows`);
  }
}

export interface DemoChanges {
  newStreams: number;
  subscriptionChanges: number;
  genreChanges: number;
  newUsers: number;
}

/**
 * A day in the life of the source: new streams, users changing subscription, artists changing
 * genre, a few sign-ups. `updated_at` is the database's current time less a few seconds, so the
 * next incremental pass (lag permitting) picks them up. The streams are played on day `round`
 * after the history (arriving late, as streams do), so the history stays without gaps: a gap
 * would look like tracks nobody played, and the hit model would learn that.
 */
export async function applyDemoChanges(db: pg.Client, round: number, size: DemoSize): Promise<DemoChanges> {
  const salt = 1000 * round;
  const stamp = `now() - INTERVAL '10 seconds'`;
  const users = await db.query(
    `UPDATE public.dim_users
        SET subscription_type = CASE subscription_type WHEN 'free' THEN 'premium' WHEN 'premium' THEN 'family' WHEN 'family' THEN 'premium' ELSE 'free' END,
            updated_at = ${stamp}
      WHERE public.sl_r(user_id, $1::int) < 0.01`,
    [salt + 1],
  );
  const artists = await db.query(
    `UPDATE public.dim_artists SET genre = public.sl_pick(artist_id, $1::int, ${GENRES}), updated_at = ${stamp}
      WHERE public.sl_r(artist_id, $2::int) < 0.02`,
    [salt + 2, salt + 3],
  );
  const { rows } = await db.query(`SELECT COALESCE(MAX(user_id), 0) AS u, COALESCE(MAX(stream_id), 0) AS s FROM public.dim_users, (SELECT MAX(stream_id) AS stream_id FROM public.fact_streams) f`);
  const maxUser = Number(rows[0].u);
  const maxStream = Number(rows[0].s);
  const newUsers = Math.max(1, Math.round(size.users * 0.005));
  await db.query(
    `INSERT INTO public.dim_users
     SELECT i, public.sl_pick(i, 1, ${FIRST}) || ' ' || public.sl_pick(i, 2, ${LAST}), public.sl_pick(i, 3, ${COUNTRIES}), 'free', CURRENT_DATE, ${stamp}
       FROM generate_series($1::int, $2::int) i`,
    [maxUser + 1, maxUser + newUsers],
  );
  const newStreams = Math.max(1, Math.round(size.streams * 0.02));
  const picks = await ensurePickTables(db);
  await db.query(
    `INSERT INTO public.fact_streams
     SELECT i, 1 + floor(power(public.sl_r(i, 51), 1.6) * $3::int)::int, p.track_id,
            ${HISTORY_END} + ($5::int - 1) * INTERVAL '1 day' + floor(public.sl_r(i, 56) * 86400) * INTERVAL '1 second',
            5000 + floor(public.sl_r(i, 53) * 295000)::int, public.sl_pick(i, 54, ${DEVICES}), ${stamp}
       FROM generate_series($1::bigint, $2::bigint) i
       JOIN sl_pick_all p ON p.pick = 1 + floor(power(public.sl_r(i, 52), 2.2) * $4::int)::int`,
    [maxStream + 1, maxStream + newStreams, maxUser + newUsers, picks.all, round],
  );
  return { newStreams, subscriptionChanges: users.rowCount ?? 0, genreChanges: artists.rowCount ?? 0, newUsers };
}
