import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite.js';
import { startEmbeddedPostgres } from '../../local/embeddedPostgres.js';
import { freePort } from '../../local/freePort.js';
import { startPostgresServer } from '../../local/postgresServer.js';

/**
 * Real servers for the whole suite: Azurite (in memory, on free ports of its own) and PGlite over the wire protocol, unless TEST_POSTGRES_URL names
 * a real PostgreSQL to use instead, or TEST_POSTGRES=server asks for a PostgreSQL server of the suite's own (Debian's package; a fresh
 * cluster on a free loopback port, removed afterwards).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Ports picked at start, so several suites (and a developer's own Azurite) can run side by side.
  const azurite = await startAzurite({ ports: { blob: await freePort(), queue: await freePort(), table: await freePort() }, reuse: false });
  const port = await freePort();
  const postgres = process.env.TEST_POSTGRES_URL
    ? { url: process.env.TEST_POSTGRES_URL, stop: async () => undefined }
    : process.env.TEST_POSTGRES === 'server'
      ? await startPostgresServer({ port, dir: join(tmpdir(), `soundlake-test-pg-${port}`) })
      : await startEmbeddedPostgres({ port, reuse: false });
  project.provide('storageConnectionString', azurite.connectionString);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.all([azurite.stop(), postgres.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
    postgresUrl: string;
  }
}
