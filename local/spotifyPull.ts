import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { createApp } from '../shared/app/soundlakeApp.js';
import { loadPipelineConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import { runIngestion } from '../shared/ingest/runIngestion.js';
import { createLogger } from '../shared/logging/logger.js';
import { newRunId } from '../shared/run/runId.js';
import { startAzurite } from './azurite.js';
import { freePort } from './freePort.js';
import { SOURCES_PRESET, startSourceStandIns } from './sourcesDemo.js';

/**
 * One daily Spotify pull, from the demo's LOCAL STAND-IN of the Spotify Web API into a bronze
 * folder, through the real core (the preset's `spotify_tracks` table, state in a throwaway
 * in-memory Azurite): what databricks/tests/test_spotify_gold.py hands to the local medallion.
 *
 *   npx tsx local/spotifyPull.ts --bronze-dir DIR [--tracks 15]
 */
const opts = new Command()
  .name('spotify-pull')
  .requiredOption('--bronze-dir <dir>', 'bronze folder to land the pull in')
  .option('--tracks <n>', 'the demo catalogue has track ids 1..n (the stand-in shares their ISRCs)', '15')
  .parse()
  .opts<{ bronzeDir: string; tracks: string }>();

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'soundlake-spotify-pull-'));
  const preset = parse(readFileSync(SOURCES_PRESET, 'utf8')) as { version: number; sources: { name: string }[]; tables: { name: string }[] };
  const catalog = join(work, 'catalog.yaml');
  writeFileSync(catalog, stringify({ version: preset.version, sources: preset.sources.filter((s) => s.name === 'spotify'), tables: preset.tables.filter((t) => t.name === 'spotify_tracks') }));
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const azurite = await startAzurite({ ports, reuse: false });
  const standIns = await startSourceStandIns(Array.from({ length: Number(opts.tracks) }, (_, i) => i + 1), new Date().toISOString().slice(0, 10));
  try {
    const settings = loadSettings({ ...process.env, ...standIns.env, SOUNDLAKE_CONFIG: catalog, SOUNDLAKE_STORAGE: azurite.connectionString, BRONZE_DIR: resolve(opts.bronzeDir) });
    const config = await loadPipelineConfig(settings.configPath);
    const app = await createApp(settings, { logger: createLogger({ level: 'warn', fd: 2 }), config });
    try {
      const run = await runIngestion(app.ingestDeps(), app.config.tables, { runId: newRunId(), trigger: 'spotify-pull', concurrency: 1 });
      const t = run.results.find((x) => x.table === 'spotify_tracks');
      if (!t || t.status !== 'succeeded') throw new Error(`the pull did not land: ${t?.message ?? 'no result'}`);
      process.stdout.write(`${standIns.describe[1]}\nlanded spotify_tracks: ${t.rows} rows in ${resolve(opts.bronzeDir)}\n`);
    } finally {
      await app.close();
    }
  } finally {
    await Promise.all([standIns.stop(), azurite.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`spotify-pull failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
