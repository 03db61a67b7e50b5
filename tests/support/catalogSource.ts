import { createInterface } from 'node:readline';
import pg from 'pg';
import { startAzurite } from '../../local/azurite.js';
import { createDemoSchema, demoSize, seedDimensions, seedStreams } from '../../local/demoData.js';
import { startEmbeddedPostgres } from '../../local/embeddedPostgres.js';
import { freePort } from '../../local/freePort.js';

/**
 * Servers for a Python test that drives the real ingestion: Azurite (in memory) and the embedded
 * source (PGlite), on free ports, the source seeded with a tiny demo catalogue. Used by
 * databricks/tests/test_catalog_e2e.py, which runs the `soundlake` CLI against them and the
 * local medallion on what lands in bronze.
 *
 *   npx tsx tests/support/catalogSource.ts [--users N --streams N]
 *
 * Prints one JSON line {"storage": <connection string>, "postgres": <url>} when ready, then runs
 * each line of stdin as SQL on the source and answers {"ok": true} or {"error": "..."}. Stops
 * both servers when stdin closes.
 */
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const azurite = await startAzurite({ ports: { blob: await freePort(), queue: await freePort(), table: await freePort() }, reuse: false });
const postgres = await startEmbeddedPostgres({ port: await freePort(), reuse: false });
const db = new pg.Client({ connectionString: postgres.url });
try {
  await db.connect();
  await db.query(`SET TIME ZONE 'UTC'`);
  await createDemoSchema(db);
  const size = { ...demoSize(0.001), users: arg('users', 20), streams: arg('streams', 200) };
  await seedDimensions(db, size);
  await seedStreams(db, size);
  process.stdout.write(`${JSON.stringify({ storage: azurite.connectionString, postgres: postgres.url, size })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      await db.query(line);
      process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    }
  }
} finally {
  await db.end().catch(() => undefined);
  await Promise.all([azurite.stop(), postgres.stop()]);
}
