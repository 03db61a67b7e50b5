import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite.js';
import { startEmbeddedPostgres } from '../../local/embeddedPostgres.js';

/**
 * Real servers for the whole suite: Azurite (in memory, ports of its own so a developer's
 * Azurite is left alone) and PGlite over the wire protocol, unless TEST_POSTGRES_URL names
 * a real PostgreSQL to use instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite({ ports: { blob: 21000, queue: 21001, table: 21002 }, reuse: false });
  const postgres = process.env.TEST_POSTGRES_URL
    ? { url: process.env.TEST_POSTGRES_URL, stop: async () => undefined }
    : await startEmbeddedPostgres({ port: 25433, reuse: false });
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
