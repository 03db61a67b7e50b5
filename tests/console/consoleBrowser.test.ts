import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SqlEndpoint } from '../../shared/ask/sqlEndpoint.js';
import { runIdStamp } from '../../shared/run/runId.js';
import { createLogger } from '../../shared/logging/logger.js';
import { startLocalRunner, type LocalRunner } from '../../local/localRunner.js';
import { HttpStandIn } from '../support/alertStandIns.js';
import { createHarness, testEnv, type Harness } from '../support/harness.js';
import { createGoldSchema, createPostgresSqlEndpoint } from '../support/postgresSqlEndpoint.js';

/**
 * The console in a real browser: Debian's Chromium, driven by playwright-core, against the local
 * runner (the same handlers as the Functions app) on Azurite and the embedded source, with a
 * function key the page must ask for. One browser, one runner, one page for every scenario.
 * The question box runs on a real SQL engine, not Spark: the suite's Postgres holding a small
 * gold-shaped table set, and a loopback stand-in for the model. Each scenario leaves a
 * screenshot in .soundlake/artifacts/console/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const message = `no Chromium at ${CHROMIUM}: install it (bash scripts/setup.sh does, with apt-get) or set CHROMIUM_PATH`;
  // CI must not pass by skipping the browser.
  if (process.env.CI) throw new Error(message);
  process.stderr.write(`[console browser test skipped] ${message}\n`);
}
const ARTIFACTS = resolve('.soundlake/artifacts/console');
const FUNCTION_KEY = randomBytes(24).toString('base64url');
const TOP3 = 'SELECT a.artist_name, count(*) AS streams FROM gold.fact_stream f JOIN gold.dim_artist a ON a.artist_id = f.artist_id AND a.__START_AT = f.artist_valid_from GROUP BY a.artist_name ORDER BY streams DESC, a.artist_name LIMIT 3';

let h: Harness;
let runner: LocalRunner;
let llm: HttpStandIn;
let endpoint: SqlEndpoint;
let gold: pg.Client;
let context: BrowserContext;
let page: Page;
let profile: string;
/** Requests the page made anywhere but the runner (none expected: no CDN, no fonts, no telemetry). */
const outside: string[] = [];
/** The seeded streams: artist id per stream, and the artists' names. */
const streams: { id: number; artist: number; day: string }[] = [];
const artists = ['Aurora Vale', 'Brass Monarchs', 'Cinder & Sage', 'Delta Hum', 'Echo Parade'];

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

async function seedGold(): Promise<void> {
  gold = new pg.Client({ connectionString: inject('postgresUrl') });
  await gold.connect();
  await createGoldSchema(gold);
  const since = '2026-01-01 00:00:00';
  for (const [i, name] of artists.entries()) {
    await gold.query('INSERT INTO gold.dim_artist (artist_id, artist_name, genre, country, updated_at, __start_at, __end_at) VALUES ($1, $2, $3, $4, $5, $5, NULL)', [i + 1, name, 'indie', 'SE', since]);
  }
  // A deterministic spread: artist k gets a different number of streams over three days.
  const perArtist = [5, 11, 3, 8, 1];
  let id = 0;
  perArtist.forEach((n, a) => {
    for (let s = 0; s < n; s++) streams.push({ id: ++id, artist: a + 1, day: `2026-02-0${1 + (s % 3)}` });
  });
  for (const s of streams) {
    await gold.query(
      'INSERT INTO gold.fact_stream (stream_id, date_key, streamed_at, user_id, artist_id, artist_valid_from, track_id, ms_played, device_type) VALUES ($1, $2, $3, 1, $4, $5, 1, 180000, $6)',
      [s.id, Number(s.day.replaceAll('-', '')), `${s.day} 12:00:00`, s.artist, since, 'mobile'],
    );
  }
}

beforeAll(async () => {
  if (!haveChromium) return;
  // The page is served from dist/console: build it from console/ (a second or two).
  execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await createHarness();
  for (const name of ['plays', 'songs']) {
    await h.db.query(`CREATE TABLE ${h.schema}.${name} (id integer PRIMARY KEY, title text, updated_at timestamptz NOT NULL)`);
    await h.db.query(`INSERT INTO ${h.schema}.${name} SELECT i, 'row ' || i, TIMESTAMPTZ '2026-03-01 00:00:00+00' + i * INTERVAL '1 hour' FROM generate_series(1, ${name === 'plays' ? 60 : 30}) i`);
  }
  await seedGold();
  endpoint = await createPostgresSqlEndpoint(inject('postgresUrl'));
  llm = await HttpStandIn.start((req) => {
    const body = JSON.parse(req.body) as { messages: { role: string; content: string }[] };
    const question = body.messages.find((m) => m.role === 'user')!.content;
    const sql = /top 3 artists/i.test(question) ? TOP3 : "SELECT 'no idea' AS answer FROM gold.dim_date LIMIT 1";
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content: sql } }] }) };
  });
  runner = await startLocalRunner({
    env: { ...testEnv(h.id), KICK_TABLE: `kick${h.id}`, KICK_QUEUE: `kick-${h.id}`, ALERT_THROTTLE_TABLE: `alerts${h.id}`, ASK_LLM_BASE_URL: llm.url('/v1'), ASK_LLM_MODEL: 'stand-in' },
    logger: createLogger({ level: 'silent' }),
    config: { tables: [h.table('plays', { maxRowsPerFile: 25, rowGroupRows: 25 }), h.table('songs', { maxRowsPerFile: 25, rowGroupRows: 25 })] },
    port: 0,
    schedule: null,
    kickWindowSeconds: 2,
    functionKey: FUNCTION_KEY,
    askEndpoint: endpoint,
  });
  profile = mkdtempSync(join(tmpdir(), 'soundlake-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  // Nothing but the runner: a request anywhere else would mean the page reaches out (a CDN, a font).
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(runner.url)) return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
}, 180_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await runner?.stop();
  await endpoint?.close();
  await llm?.close();
  await gold?.query('DROP SCHEMA IF EXISTS gold CASCADE').catch(() => undefined);
  await gold?.end();
  await h?.close();
});

const cellText = (selector: string) => page.locator(selector).allInnerTexts();
const rowOf = (tableId: string, text: string) => page.locator(`#${tableId} tbody tr`, { hasText: text });

describe.skipIf(!haveChromium)('the console in Chromium', () => {
  it('asks for the function key, then shows the tables and their runs after an ingest started from the page', async () => {
    await page.goto(`${runner.url}/api/console`);
    // The page and its scripts are anonymous; the API is not, so the page asks for the key.
    let refused = 0;
    page.on('response', (r) => {
      if (r.status() === 401) refused++;
    });
    await page.locator('#key-dialog[open]').waitFor({ timeout: 15_000 });
    await shot('0-key-prompt');
    // Cancelled: the page says why it shows nothing, keeps trying on its timer, and does not ask again.
    await page.click('#key-dialog button[value="cancel"]');
    await expect.poll(async () => page.locator('#live').innerText(), { timeout: 15_000 }).toMatch(/not updated: a function key is needed/);
    const after = refused;
    await expect.poll(() => refused, { timeout: 15_000 }).toBeGreaterThan(after);
    expect(await page.locator('#key-dialog[open]').count()).toBe(0);
    // The header button asks for it.
    await page.click('#key-button');
    await page.locator('#key-dialog[open]').waitFor({ timeout: 15_000 });
    await page.fill('#key-input', FUNCTION_KEY);
    await page.click('#key-dialog button[value="save"]');
    await rowOf('tables', 'plays').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('soundlake.functionKey'))).toBe(FUNCTION_KEY);
    expect(await page.content()).not.toContain(FUNCTION_KEY);
    expect(await rowOf('tables', 'plays').innerText()).toMatch(/idle[\s\S]*\(none\)[\s\S]*never run/);

    for (const table of ['plays', 'songs']) await page.click(`button[aria-label="Ingest ${table} now"]`);
    // Live refresh: the rows appear without reloading the page.
    await expect.poll(async () => rowOf('tables', 'plays').innerText(), { timeout: 45_000, interval: 500 }).toMatch(/\t60\t[\s\S]*succeeded/);
    await expect.poll(async () => rowOf('tables', 'songs').innerText(), { timeout: 45_000, interval: 500 }).toMatch(/\t30\t[\s\S]*succeeded/);
    const plays = await rowOf('tables', 'plays').innerText();
    expect(plays).toContain('2026-03-03 12:00:00'); // the watermark: the newest updated_at
    expect(plays).toMatch(/up to date/);
    expect(await page.locator('figure[data-chart="Rows per run"] circle').count()).toBeGreaterThanOrEqual(2);
    await shot('1-pipeline-after-ingest');

    await page.click('nav a[data-view="runs"]');
    await rowOf('runs', 'plays').first().waitFor({ timeout: 15_000 });
    const ledger = await h.app.ledger.recent('plays');
    const runId = ledger.find((e) => e.activity === 'ingest')!.runId;
    expect(await rowOf('runs', runId).first().innerText()).toMatch(/plays\s+ingest\s+http\s+succeeded/);
    // Filter by table and status: only plays, only succeeded.
    await page.selectOption('#filter-table', 'plays');
    await page.waitForURL(/#runs\?table=plays/);
    await page.selectOption('#filter-status', 'succeeded');
    await expect.poll(async () => (await cellText('#runs tbody tr td:nth-child(3)')).join(','), { timeout: 15_000 }).toBe('plays');
    await shot('2-runs-filtered');

    await page.click(`#runs a[href="#run/${runId}"]`);
    await page.locator('details.manifest').first().waitFor({ timeout: 15_000 });
    const manifest = await page.locator('details.manifest').first().innerText();
    expect(manifest).toMatch(/plays s0000000001 \(initial\): 60 rows/);
    expect(manifest).toContain('in 3 files');
    expect(await page.locator('details.manifest table').first().locator('tbody tr').count()).toBe(3);
    await shot('3-run-detail');
    expect(outside).toEqual([]);
  });

  it('starts a backfill and shows its chunks until it is done', async () => {
    await page.click('nav a[data-view="backfills"]');
    await page.locator('#bf-table option[value="plays"]').waitFor({ state: 'attached', timeout: 15_000 });
    await page.selectOption('#bf-table', 'plays');
    await page.fill('#bf-from', '2026-03-01T06:00:00Z');
    await page.fill('#bf-to', '2026-03-02T06:00:00Z');
    await page.fill('#bf-chunk', 'PT8H');
    await page.click('form.backfill-form button[type="submit"]');
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM ${h.schema}.plays WHERE updated_at >= '2026-03-01T06:00:00Z' AND updated_at < '2026-03-02T06:00:00Z'`);
    const card = page.locator('article.backfill', { hasText: 'plays' }).first();
    await expect.poll(async () => card.innerText(), { timeout: 60_000, interval: 500 }).toMatch(new RegExp(`done[\\s\\S]*3 of 3 chunks done · ${rows[0].n} rows in 3 files`));
    expect(await card.locator('.progress .chunk.s-done').count()).toBe(3);
    await shot('4-backfill-done');
  });

  it('shows the API\'s field error next to the field for a bad date', async () => {
    await page.fill('#bf-from', '2026-02-30');
    await page.fill('#bf-to', '2026-03-02');
    await page.fill('#bf-chunk', '');
    await page.click('form.backfill-form button[type="submit"]');
    const error = page.locator('#bf-from-error');
    await expect.poll(async () => error.innerText(), { timeout: 15_000 }).not.toBe('');
    // The same words as the API's 400 for that body.
    const api = await fetch(`${runner.url}/api/backfill`, { method: 'POST', headers: { 'x-functions-key': FUNCTION_KEY }, body: JSON.stringify({ table: 'plays', from: '2026-02-30', to: '2026-03-02' }) });
    const body = (await api.json()) as { error: { field: string; problem: string } };
    expect(api.status).toBe(400);
    expect(body.error.field).toBe('from');
    expect(await error.innerText()).toBe(body.error.problem);
    expect(await page.getAttribute('#bf-from', 'aria-invalid')).toBe('true');
    expect(await page.locator('#bf-to-error').innerText()).toBe('');
    await shot('5-backfill-field-error');
  });

  it('lists the Databricks kick windows and retries a given-up kick', async () => {
    await expect.poll(() => runner.databricks.runs.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    // A window the host gave up on, as the poison handler leaves it: files waiting, no run.
    const windowId = `w-${runIdStamp(new Date(Date.now() - 60_000))}-${randomBytes(3).toString('hex')}`;
    const at = new Date(Date.now() - 60_000).toISOString();
    await runner.events.store.createWindow({ id: windowId, opensAt: at, closesAt: at });
    await runner.events.store.addMember(windowId, { eventId: 'e-given-up', eventTime: at, path: 'plays/load_date=2026-03-01/x.parquet', table: 'plays' });
    await runner.events.store.updateWindow(windowId, { status: 'given-up', files: 1, tables: ['plays'] });
    const before = runner.databricks.runs.length;

    await page.click('nav a[data-view="databricks"]');
    await rowOf('kicks', windowId).waitFor({ timeout: 15_000 });
    expect(await rowOf('kicks', 'kicked').count()).toBeGreaterThanOrEqual(1);
    expect(await rowOf('kicks', windowId).innerText()).toContain('given-up');
    await shot('6-kicks-given-up');
    await page.click(`button[aria-label="Retry kick ${windowId}"]`);
    await expect.poll(async () => rowOf('kicks', windowId).innerText(), { timeout: 30_000, interval: 500 }).toMatch(/kicked/);
    expect(runner.databricks.runs.length).toBe(before + 1);
    expect(await rowOf('kicks', windowId).innerText()).toContain(String(runner.databricks.runs.at(-1)!.runId));
    await shot('7-kicks-retried');
  });

  it('answers a question with the generated SQL, the right rows and a ranking chart, and runs your own SELECT as a time series', async () => {
    await page.click('nav a[data-view="ask"]');
    await page.fill('#ask-text', 'who are the top 3 artists by streams?');
    await page.click('form.ask-form button[type="submit"]');
    await page.locator('#answer[data-status="answered"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#answer-sql').innerText()).toBe(TOP3);
    // The expected answer, counted here from the seeded streams.
    const counts = new Map<number, number>();
    for (const s of streams) counts.set(s.artist, (counts.get(s.artist) ?? 0) + 1);
    const expected = [...counts].map(([a, n]) => [artists[a - 1]!, String(n)]).sort((x, y) => Number(y[1]) - Number(x[1]) || x[0]!.localeCompare(y[0]!)).slice(0, 3);
    const shown = await page.locator('#answer-rows tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(shown).toEqual(expected);
    expect(await page.locator('#answer figure[data-chart="streams by artist_name"] rect.bar').count()).toBe(3);
    await shot('8-ask-question');

    await page.check('#mode-sql');
    const perDaySql = 'SELECT CAST(streamed_at AS DATE) AS day, count(*) AS streams FROM gold.fact_stream GROUP BY CAST(streamed_at AS DATE) ORDER BY day';
    await page.fill('#ask-text', perDaySql);
    await page.click('form.ask-form button[type="submit"]');
    await expect.poll(async () => page.locator('#answer-sql').innerText(), { timeout: 30_000 }).toBe(perDaySql);
    expect(await page.locator('#answer-rows tbody tr').count()).toBe(3);
    expect(await page.locator('#answer figure[data-chart="streams by day"] polyline').count()).toBe(1);
    const perDay = await page.locator('#answer-rows tbody tr td:nth-child(2)').allInnerTexts();
    expect(perDay.map(Number).reduce((a, b) => a + b, 0)).toBe(streams.length);
    await shot('9-ask-sql-time-series');

    // The guard still decides: a statement that is not a query is refused, and the page says why.
    await page.fill('#ask-text', 'DROP TABLE gold.dim_artist');
    await page.click('form.ask-form button[type="submit"]');
    await page.locator('#answer[data-status="refused"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#answer').innerText()).toMatch(/not_select/);
    expect((await gold.query('SELECT count(*)::int AS n FROM gold.dim_artist')).rows[0].n).toBe(artists.length);
  });
});
