import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import { parsePipelineConfig, type TableConfig } from '../../shared/config/pipelineConfig.js';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { runIngestion } from '../../shared/ingest/runIngestion.js';
import { createLogger } from '../../shared/logging/logger.js';
import { newRunId } from '../../shared/run/runId.js';
import type { HttpSettings } from '../../shared/source/http/httpSettings.js';
import { parseVersion } from '../../shared/source/http/fileVersion.js';
import { createHarness, type Harness } from '../support/harness.js';
import { RawFileHost } from '../../local/rawFileHost.js';

/**
 * Files over HTTP through the real core: a loopback stand-in for raw.githubusercontent.com
 * serves the files, the app lands them in Azurite's bronze exactly once per content version,
 * and each case asserts bronze, the table's state, the ledger and the alerts.
 */
let h: Harness;
let host: RawFileHost;
const apps: SoundlakeApp[] = [];
const REPO = '/soundlake/charts/main';

const HTTP: HttpSettings = { allowedHosts: ['127.0.0.1'], allowPrivateAddresses: true, maxBytes: 10 * 1024 * 1024, maxRedirects: 3, timeoutMs: 1500 };

beforeAll(async () => {
  h = await createHarness();
  host = await new RawFileHost().start();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await host?.close();
  await h?.close();
});

/** An app whose catalog is `tables` (YAML) over the `github` http source pointing at the stand-in. */
async function appWith(tables: string, http: Partial<HttpSettings> = {}): Promise<SoundlakeApp> {
  const config = parsePipelineConfig(`version: 1\nsources:\n  - { name: github, kind: http, baseUrl: "${host.url}${REPO}/" }\ntables:\n${tables}`);
  const app = await createApp({ ...h.settings, http: { ...HTTP, ...http } }, { logger: createLogger({ level: 'silent' }), notifier: h.notifier, config });
  apps.push(app);
  return app;
}

function tableOf(app: SoundlakeApp, name: string): TableConfig {
  return app.config.tables.find((t) => t.name === name)!;
}

function run(app: SoundlakeApp, name: string) {
  return ingestTable(app.ingestDeps(), tableOf(app, name), { runId: newRunId(), trigger: 'test' });
}

const alertsFor = (name: string) => h.notifier.notices.filter((n) => n.subject === name);

async function ledgerOf(app: SoundlakeApp, name: string) {
  return (await app.ledger.recent(name, 50)).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

const CHARTS_V1 = 'track_id,track_name,streams,chart_date\n1,"Hello, World",1200,2026-11-01\n2,"Say ""hi""",900,2026-11-01\n3,Ünïcödé,50,2026-11-01\n';
const CHARTS_V2 = `${CHARTS_V1}4,New one,10,2026-11-02\n`;

describe('a CSV file on the raw host', () => {
  it('lands once, lands nothing on 304, lands a new slice when the file changes, and nothing when only the validators change', async () => {
    host.set(`${REPO}/charts.csv`, { body: CHARTS_V1, lastModified: new Date('2026-11-01T00:00:00Z') });
    const app = await appWith(`
  - name: gh_charts
    source:
      name: github
      urls: [charts.csv]
      format: csv
      fields: [{ name: track_id, type: bigint }, { name: track_name, type: string }, { name: streams, type: int }, { name: chart_date, type: date }]
    primaryKey: [track_id]`);

    const first = await run(app, 'gh_charts');
    expect(first).toMatchObject({ status: 'succeeded', rows: 3, files: 1, slice: 's0000000001' });
    const rows = await h.bronzeRows('gh_charts');
    expect(rows.map((r) => r.track_name)).toEqual(['Hello, World', 'Say "hi"', 'Ünïcödé']);
    expect(rows[0]).toMatchObject({ track_id: 1n, streams: 1200, _source_url: `${host.url}${REPO}/charts.csv` });
    const manifests = await h.manifests('gh_charts');
    expect(manifests).toHaveLength(1);
    expect(manifests[0]!.source).toEqual({ kind: 'http', schema: 'github', table: 'gh_charts' });
    expect(manifests[0]!.columns.map((c) => `${c.name}:${c.parquetType}`)).toEqual(['track_id:INT64', 'track_name:STRING', 'streams:INT32', 'chart_date:DATE', '_source_url:STRING', '_loaded_at:TIMESTAMP(MICROS,UTC)']);
    const state1 = await app.watermarks.get('gh_charts');
    const v1 = parseVersion(state1!.value)!;
    expect(v1.files).toEqual([expect.objectContaining({ url: `${host.url}${REPO}/charts.csv`, etag: expect.stringMatching(/^"/), lastModified: 'Sun, 01 Nov 2026 00:00:00 GMT', bytes: Buffer.byteLength(CHARTS_V1) })]);
    expect(state1).toMatchObject({ pending: null, lease: null, seq: 1 });

    // Unchanged: the conditional GET gets a 304 and nothing lands.
    const second = await run(app, 'gh_charts');
    expect(second).toMatchObject({ status: 'nochange', rows: 0 });
    expect(host.requestsFor(`${REPO}/charts.csv`).at(-1)).toMatchObject({ status: 304, ifNoneMatch: v1.files[0]!.etag, ifModifiedSince: v1.files[0]!.lastModified });
    expect(await h.manifests('gh_charts')).toHaveLength(1);
    expect((await app.watermarks.get('gh_charts'))!.value).toBe(state1!.value);

    // Changed: a new slice with the whole new file.
    host.set(`${REPO}/charts.csv`, { body: CHARTS_V2, lastModified: new Date('2026-11-02T00:00:00Z') });
    const third = await run(app, 'gh_charts');
    expect(third).toMatchObject({ status: 'succeeded', rows: 4, slice: 's0000000002' });
    const after = await h.manifests('gh_charts');
    expect(after.map((m) => [m.slice, m.kind, m.rows])).toEqual([['s0000000001', 'initial', 3], ['s0000000002', 'incremental', 4]]);
    expect((await h.bronzeRows('gh_charts')).length).toBe(7);

    // Same bytes, new ETag (a host whose validators move): hashed, found equal, nothing lands; the new ETag is kept.
    host.set(`${REPO}/charts.csv`, { body: CHARTS_V2, etag: '"moved"', lastModified: new Date('2026-11-03T00:00:00Z') });
    const fourth = await run(app, 'gh_charts');
    expect(fourth).toMatchObject({ status: 'nochange' });
    expect(fourth.message).toMatch(/same SHA-256/);
    expect(await h.manifests('gh_charts')).toHaveLength(2);
    expect(parseVersion((await app.watermarks.get('gh_charts'))!.value)!.files[0]!.etag).toBe('"moved"');

    const ledger = await ledgerOf(app, 'gh_charts');
    expect(ledger.map((e) => [e.status, e.rows ?? 0])).toEqual([['succeeded', 3], ['nochange', 0], ['succeeded', 4], ['nochange', 0]]);
    expect(alertsFor('gh_charts')).toEqual([]);
  });

  it('follows a redirect to a gzip body, reads a latin-1 file with another delimiter, and holds inferred columns', async () => {
    const latin1 = Buffer.from('id;name\n1;café\n2;"a;b"\n', 'latin1');
    host.set(`${REPO}/old/artists.csv`, { redirectTo: `${REPO}/artists.csv` });
    host.set(`${REPO}/artists.csv`, { body: latin1, gzip: true, contentType: 'text/csv' });
    const app = await appWith(`
  - name: gh_artists
    source: { name: github, urls: [old/artists.csv], format: csv, csv: { delimiter: ";", encoding: latin1 } }
    primaryKey: [id]`);
    const first = await run(app, 'gh_artists');
    expect(first).toMatchObject({ status: 'succeeded', rows: 2 });
    expect(host.requestsFor(`${REPO}/old/artists.csv`).map((r) => r.status)).toContain(302);
    const rows = await h.bronzeRows('gh_artists');
    expect(rows.map((r) => [r.id, r.name])).toEqual([['1', 'café'], ['2', 'a;b']]);

    // A column appears: drift is reported like SQL drift, the new column lands, the held ones keep their type.
    host.set(`${REPO}/artists.csv`, { body: Buffer.from('id;name;genre\n1;café;pop\n', 'latin1'), gzip: true, contentType: 'text/csv' });
    const second = await run(app, 'gh_artists');
    expect(second).toMatchObject({ status: 'succeeded', rows: 1, drift: { added: ['genre'], removed: [], changed: [] } });
    expect(alertsFor('gh_artists').map((a) => [a.kind, a.detail])).toEqual([['schema-drift', 'added genre']]);
    const m = await h.manifests('gh_artists');
    expect(m[1]!.columns.map((c) => c.name)).toEqual(['id', 'name', 'genre', '_source_url', '_loaded_at']);
  });

  it('JSON lines, JSON arrays and Parquet land with inferred types', async () => {
    host.set(`${REPO}/tracks.jsonl`, { body: '{"id":1,"name":"a","score":1.5,"explicit":true,"tags":["x"]}\n\n{"id":2,"name":"b","score":2,"explicit":false,"tags":[]}\n', contentType: 'application/x-ndjson' });
    host.set(`${REPO}/albums.json`, { body: '[{"id":10,"title":"A"},{"id":11,"title":"B","year":2020}]', contentType: 'application/json; charset=utf-8' });
    const { parquetBytes } = await import('../support/parquetWriter.js');
    host.set(`${REPO}/plays.parquet`, { body: await parquetBytes(), contentType: 'application/octet-stream' });
    const app = await appWith(`
  - name: gh_tracks
    source: { name: github, urls: [tracks.jsonl], format: jsonl }
    primaryKey: [id]
  - name: gh_albums
    source: { name: github, urls: [albums.json], format: json }
    primaryKey: [id]
  - name: gh_plays
    source: { name: github, urls: [plays.parquet], format: parquet }
    primaryKey: [id]`);
    expect(await run(app, 'gh_tracks')).toMatchObject({ status: 'succeeded', rows: 2 });
    expect(await run(app, 'gh_albums')).toMatchObject({ status: 'succeeded', rows: 2 });
    expect(await run(app, 'gh_plays')).toMatchObject({ status: 'succeeded', rows: 3 });
    const [t] = await h.manifests('gh_tracks');
    expect(t!.columns.map((c) => `${c.name}:${c.sourceType}`).slice(0, 5)).toEqual(['id:bigint', 'name:string', 'score:double', 'explicit:boolean', 'tags:string']);
    expect((await h.bronzeRows('gh_tracks')).map((r) => [r.id, r.score, r.explicit, r.tags])).toEqual([[1n, 1.5, true, '["x"]'], [2n, 2, false, '[]']]);
    expect((await h.bronzeRows('gh_albums')).map((r) => [r.id, r.title, r.year])).toEqual([[10n, 'A', null], [11n, 'B', 2020n]]);
    expect((await h.bronzeRows('gh_plays')).map((r) => [r.id, r.track])).toEqual([[1n, 'x'], [2n, 'y'], [3n, 'z']]);
  });
});

describe('a crash in the middle of a file slice', () => {
  for (const point of ['part-recorded', 'part-committed', 'manifest-written'] as const) {
    it(`resumes after a crash at ${point}: every record once, the same names, the validators kept`, async () => {
      const name = `crash_${point.replace('-', '_')}`;
      host.set(`${REPO}/${name}.csv`, { body: 'a,b\n1,1\n2,2\n3,3\n4,4\n5,5\n' });
      const app = await appWith(`
  - name: ${name}
    source: { name: github, urls: [${name}.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]
    maxRowsPerFile: 2`);
      const crashed = await ingestTable(app.ingestDeps(), tableOf(app, name), {
        runId: newRunId(),
        trigger: 'test',
        hooks: {
          checkpoint: (p, d) => {
            if (p === point && (d.part === undefined || d.part === 1)) throw new Error(`injected crash at ${p}`);
          },
        },
      });
      expect(crashed.status).toBe('failed');
      expect((await app.watermarks.get(name))!.pending).not.toBeNull();
      const rerun = await run(app, name);
      expect(rerun).toMatchObject({ status: 'succeeded', resumed: true, rows: 5, files: 3, slice: 's0000000001' });
      // An unfinished slice is probed again (304: same version) before resuming; a finished one (all parts in) just commits.
      expect(host.requestsFor(`${REPO}/${name}.csv`).some((r) => r.status === 304)).toBe(point !== 'manifest-written');
      expect((await h.bronzeRows(name)).map((r) => r.a)).toEqual([1n, 2n, 3n, 4n, 5n]);
      const [m] = await h.manifests(name);
      expect(m!.files.map((f) => f.path)).toEqual((await h.bronzeFiles(name)).map((f) => f.path));
      expect(await app.watermarks.get(name)).toMatchObject({ pending: null, lease: null, seq: 1, value: m!.watermark.high });
      expect((await ledgerOf(app, name)).map((e) => e.status)).toEqual(['failed', 'succeeded']);
    });
  }
});

describe('a file that fails', () => {
  const cases: { name: string; file: Parameters<RawFileHost['set']>[1]; error: RegExp; http?: Partial<HttpSettings> }[] = [
    { name: 'missing', file: { status: 404 }, error: /HTTP 404/ },
    { name: 'server_error', file: { status: 503 }, error: /HTTP 503/ },
    { name: 'truncated', file: { body: CHARTS_V1.repeat(50), truncateAt: 100 }, error: /truncated|body failed|terminated|closed/i },
    { name: 'html', file: { body: '<html>sign in</html>', contentType: 'text/html; charset=utf-8' }, error: /content type text\/html/ },
    { name: 'bad_row', file: { body: 'a,b\n1,2\n3,4,5\n' }, error: /charts_bad_row\.csv at line 3: .*(Invalid Record Length|record)/i },
    { name: 'bad_quote', file: { body: 'a,b\n1,"2\n' }, error: /charts_bad_quote\.csv at line \d+/ },
    { name: 'bad_value', file: { body: 'a,b\n1,2\nx,4\n' }, error: /charts_bad_value\.csv at line 3: field a: "x" is not a bigint/ },
    { name: 'too_big', file: { body: CHARTS_V1 }, error: /larger than 20 bytes \(HTTP_MAX_BYTES\)/, http: { maxBytes: 20 } },
    { name: 'timeout', file: { body: '', hang: true }, error: /timeout/i },
    { name: 'redirect_loop', file: { redirectTo: `${REPO}/charts_redirect_loop.csv` }, error: /more than 3 redirects/ },
  ];
  for (const c of cases) {
    it(`${c.name}: fails that table alone, naming the URL; nothing lands; alerted and recorded; the other table of the run lands`, async () => {
      const name = `bad_${c.name}`;
      host.set(`${REPO}/charts_${c.name}.csv`, c.file);
      host.set(`${REPO}/ok_${c.name}.csv`, { body: 'a,b\n1,2\n' });
      const app = await appWith(
        `
  - name: ${name}
    source: { name: github, urls: [charts_${c.name}.csv], format: csv${c.name.startsWith('bad_') ? ', fields: [{ name: a, type: bigint }, { name: b, type: bigint }]' : ''} }
    primaryKey: [a]
  - name: ok_${c.name}
    source: { name: github, urls: [ok_${c.name}.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]`,
        c.http,
      );
      const summary = await runIngestion(app.ingestDeps(), app.config.tables, { runId: newRunId(), trigger: 'test', concurrency: 2 });
      const bad = summary.results.find((r) => r.table === name)!;
      expect(bad.status).toBe('failed');
      expect(bad.error).toMatch(c.error);
      expect(bad.error).toContain(`charts_${c.name}.csv`);
      expect(summary.results.find((r) => r.table === `ok_${c.name}`)).toMatchObject({ status: 'succeeded', rows: 1 });
      expect(await h.bronzeFiles(name)).toEqual([]);
      expect(await h.manifests(name)).toEqual([]);
      expect(await app.watermarks.get(name)).toMatchObject({ value: null, pending: null, lease: null, seq: 0 });
      const alerts = alertsFor(name);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ kind: 'ingestion-failed', severity: 'error' });
      expect(alerts[0]!.detail).toMatch(c.error);
      expect((await ledgerOf(app, name)).map((e) => e.status)).toEqual(['failed']);
    });
  }

  it('one of two files malformed: the good one lands once (validators kept), the bad one is recorded and alerted naming URL and line; fixed, the next run lands only it', async () => {
    const good = `${REPO}/split_good.csv`;
    const bad = `${REPO}/split_bad.csv`;
    host.set(good, { body: 'a,b\n1,1\n2,2\n' });
    host.set(bad, { body: 'a,b\n10,10\n11,x\n' });
    const app = await appWith(`
  - name: split
    source: { name: github, urls: [split_good.csv, split_bad.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]`);

    const summary = await runIngestion(app.ingestDeps(), [tableOf(app, 'split')], { runId: newRunId(), trigger: 'test', concurrency: 1 });
    // The run is not ok, though its table landed what it could: whoever ran it (the CLI's exit code, a scheduler) sees the file left behind.
    expect(summary.ok).toBe(false);
    const first = summary.results[0]!;
    expect(first).toMatchObject({ status: 'succeeded', rows: 2, slice: 's0000000001' });
    expect(first.error).toMatch(/1 of 2 file\(s\) of split failed.*split_bad\.csv at line 3: field b: "x" is not a bigint/);
    expect((await h.bronzeRows('split')).map((r) => [r.a, r._source_url])).toEqual([[1n, `${host.url}${good}`], [2n, `${host.url}${good}`]]);
    const s1 = await app.watermarks.get('split');
    expect(s1).toMatchObject({ pending: null, lease: null, seq: 1 });
    expect(parseVersion(s1!.value)!.files.map((f) => f.url)).toEqual([`${host.url}${good}`]);
    expect(parseVersion(s1!.value)!.files[0]!.etag).toBeTruthy();
    expect((await ledgerOf(app, 'split')).map((e) => [e.activity, e.status])).toEqual([['ingest', 'succeeded'], ['ingest-files', 'failed']]);
    expect((await ledgerOf(app, 'split'))[1]!.error).toContain(`${host.url}${bad} at line 3`);
    const alerts = alertsFor('split');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'ingestion-failed', severity: 'error', title: 'ingestion of split: 1 file(s) failed' });
    expect(alerts[0]!.detail).toContain(`${host.url}${bad} at line 3`);

    // Still bad: nothing lands, the good file answers 304, the failure is recorded again.
    const second = await run(app, 'split');
    expect(second.status).toBe('nochange');
    expect(second.error).toMatch(/split_bad\.csv at line 3/);
    expect(host.requestsFor(good).at(-1)!.status).toBe(304);
    expect(await h.manifests('split')).toHaveLength(1);

    host.set(bad, { body: 'a,b\n10,10\n11,11\n' });
    const third = await run(app, 'split');
    expect(third).toMatchObject({ status: 'succeeded', rows: 2, slice: 's0000000002' });
    expect(third.error).toBeUndefined();
    expect(host.requestsFor(good).at(-1)!.status).toBe(304);
    const rows = await h.bronzeRows('split');
    expect(rows.map((r) => [r.a, r.b])).toEqual([[1n, 1n], [2n, 2n], [10n, 10n], [11n, 11n]]);
    const manifests = await h.manifests('split');
    expect(manifests.map((m) => m.rows)).toEqual([2, 2]);
    const s3 = await app.watermarks.get('split');
    expect(parseVersion(s3!.value)!.files.map((f) => f.url)).toEqual([`${host.url}${good}`, `${host.url}${bad}`]);
    expect(parseVersion(s3!.value)!.read).toEqual([`${host.url}${bad}`]);
    expect(alertsFor('split')).toHaveLength(2);
    expect((await ledgerOf(app, 'split')).map((e) => [e.activity, e.status])).toEqual([
      ['ingest', 'succeeded'], ['ingest-files', 'failed'], ['ingest', 'nochange'], ['ingest-files', 'failed'], ['ingest', 'succeeded'],
    ]);
    expect(await run(app, 'split')).toMatchObject({ status: 'nochange' });
  });

  it('a crash while landing the changed file of two: the rerun resumes that slice and lands only it, once', async () => {
    host.set(`${REPO}/pair_a.csv`, { body: 'a,b\n1,1\n2,2\n' });
    host.set(`${REPO}/pair_b.csv`, { body: 'a,b\n10,10\n' });
    const app = await appWith(`
  - name: pair
    source: { name: github, urls: [pair_a.csv, pair_b.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]
    maxRowsPerFile: 1`);
    expect(await run(app, 'pair')).toMatchObject({ status: 'succeeded', rows: 3 });
    host.set(`${REPO}/pair_b.csv`, { body: 'a,b\n10,100\n11,110\n12,120\n' });
    const crashed = await ingestTable(app.ingestDeps(), tableOf(app, 'pair'), {
      runId: newRunId(),
      trigger: 'test',
      hooks: {
        checkpoint: (p, d) => {
          if (p === 'part-committed' && d.part === 1) throw new Error('injected crash');
        },
      },
    });
    expect(crashed.status).toBe('failed');
    const resumed = await run(app, 'pair');
    expect(resumed).toMatchObject({ status: 'succeeded', resumed: true, rows: 3, slice: 's0000000002' });
    expect((await h.bronzeRows('pair')).map((r) => [r.a, r.b])).toEqual([[1n, 1n], [2n, 2n], [10n, 10n], [10n, 100n], [11n, 110n], [12n, 120n]]);
    const [, m2] = await h.manifests('pair');
    expect(m2!.files.map((f) => f.path)).toEqual((await h.bronzeFiles('pair')).map((f) => f.path).filter((p) => p.includes('s0000000002')));
  });

  it('every file of a multi-file table failing fails the table, naming each; nothing lands', async () => {
    host.set(`${REPO}/both_a.csv`, { status: 404 });
    host.set(`${REPO}/both_b.csv`, { body: 'a,b\n1,"2\n' });
    const app = await appWith(`
  - name: both_bad
    source: { name: github, urls: [both_a.csv, both_b.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]`);
    const result = await run(app, 'both_bad');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/every file of both_bad failed: .*both_a\.csv.*HTTP 404.*; .*both_b\.csv at line \d+/);
    expect(await h.bronzeFiles('both_bad')).toEqual([]);
    expect(await app.watermarks.get('both_bad')).toMatchObject({ value: null, pending: null, seq: 0 });
    expect(alertsFor('both_bad')).toHaveLength(1);
  });

  it('changed between planning and reading: nothing commits; the next run restarts the slice on the new content and lands it once', async () => {
    let served = 0;
    const v1 = 'a,b\n1,1\n2,2\n3,3\n';
    const v2 = 'a,b\n1,10\n2,20\n';
    // The probe reads v1, the read gets v2; from then on v2.
    host.set(`${REPO}/moving.csv`, { body: () => (served++ === 0 ? v1 : v2), noConditional: true });
    const app = await appWith(`
  - name: moving
    source: { name: github, urls: [moving.csv], format: csv, fields: [{ name: a, type: bigint }, { name: b, type: bigint }] }
    primaryKey: [a]
    maxRowsPerFile: 1`);
    const first = await run(app, 'moving');
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/moving\.csv changed while the slice was read/);
    expect(await h.manifests('moving')).toEqual([]);
    const mid = await app.watermarks.get('moving');
    expect(mid).toMatchObject({ value: null, lease: null });
    expect(mid!.pending).not.toBeNull();

    const second = await run(app, 'moving');
    expect(second).toMatchObject({ status: 'succeeded', rows: 2, files: 2, slice: 's0000000001' });
    expect((await h.bronzeRows('moving')).map((r) => [r.a, r.b])).toEqual([[1n, 10n], [2n, 20n]]);
    const [m] = await h.manifests('moving');
    expect(m!.files.map((f) => f.path)).toEqual((await h.bronzeFiles('moving')).map((f) => f.path));
    expect((await ledgerOf(app, 'moving')).map((e) => e.status)).toEqual(['failed', 'succeeded']);
    expect(alertsFor('moving').map((a) => a.kind)).toEqual(['ingestion-failed']);
  });
});
