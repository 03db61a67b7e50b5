import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { azuriteConnectionString } from '../shared/azure/storageClients.js';
import type { Managed } from './childProcess.js';
import { managed, portOpen, spawnNode, waitForPorts } from './childProcess.js';

export interface AzuriteOptions {
  /** Workspace folder; omitted means in-memory (nothing survives the process). */
  location?: string;
  ports?: { blob: number; queue: number; table: number };
  /** Use an Azurite already listening on the ports instead of failing (default true). */
  reuse?: boolean;
}

export interface RunningAzurite extends Managed {
  connectionString: string;
  reused: boolean;
}

const DEFAULT_PORTS = { blob: 10000, queue: 10001, table: 10002 };

/**
 * Azurite for Blob, Queue and Table on 127.0.0.1 only, telemetry off. Bronze goes through the
 * Blob API because Azurite has no Data Lake (DFS) endpoint.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const ports = options.ports ?? DEFAULT_PORTS;
  const connectionString = azuriteConnectionString('127.0.0.1', ports);
  const busy = await Promise.all([ports.blob, ports.queue, ports.table].map((p) => portOpen(p)));
  if (busy.every(Boolean) && options.reuse !== false) {
    return { connectionString, reused: true, pid: undefined, stop: async () => undefined };
  }
  if (busy.some(Boolean)) throw new Error(`Azurite ports ${ports.blob}/${ports.queue}/${ports.table} are partly in use by something else`);
  const require = createRequire(import.meta.url);
  const script = join(dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  const args = [
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    '--blobHost', '127.0.0.1',
    '--queueHost', '127.0.0.1',
    '--tableHost', '127.0.0.1',
    '--blobPort', String(ports.blob),
    '--queuePort', String(ports.queue),
    '--tablePort', String(ports.table),
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawnNode(script, args);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout?.resume();
  try {
    await waitForPorts([ports.blob, ports.queue, ports.table], 'Azurite', child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { connectionString, reused: false, ...managed(child) };
}
