import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Managed } from './childProcess.js';
import { managed, portOpen, spawnNode, waitForPorts } from './childProcess.js';

export interface EmbeddedPostgresOptions {
  port?: number;
  /** Data directory; omitted means in-memory. */
  dataDir?: string;
  maxConnections?: number;
  reuse?: boolean;
}

export interface RunningPostgres extends Managed {
  url: string;
  reused: boolean;
}

/**
 * PGlite (Postgres compiled to WebAssembly) served over the Postgres wire protocol by
 * @electric-sql/pglite-socket, in its own process: the extractor talks to it with the same
 * `pg` code it uses for a real server, and the database gets a core of its own.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const port = options.port ?? 5433;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (await portOpen(port)) {
    if (options.reuse === false) throw new Error(`port ${port} is already in use`);
    return { url, reused: true, pid: undefined, stop: async () => undefined };
  }
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(dirname(require.resolve('@electric-sql/pglite-socket')));
  const script = join(pkgDir, 'dist/scripts/server.js');
  let db = 'memory://';
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    db = resolve(options.dataDir);
  }
  const child = spawnNode(script, [`--db=${db}`, `--port=${port}`, '--host=127.0.0.1', `--max-connections=${options.maxConnections ?? 16}`]);
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitForPorts([port], 'PGlite server', child, 120_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { url, reused: false, ...managed(child) };
}
