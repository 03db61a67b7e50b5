import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import '../../functions/index.js';
import { LocalHost, resolveBinding } from '../../local/localHost.js';
import { registeredFunctions } from '../../shared/azure/functionRegistry.js';
import { queueClient } from '../../shared/azure/storageClients.js';
import { createLogger } from '../../shared/logging/logger.js';

/**
 * One list of functions: what functions/index.ts registers with the Functions host is what the
 * local runner serves (tests/local/localRunner.test.ts checks the served list against it), and
 * every file under functions/ is in it, registered the one way that keeps it there.
 */
const dir = new URL('../../functions/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'index.ts');

describe('function registrations', () => {
  it('every function file is imported by functions/index.ts and registers one function, named after the file', () => {
    const index = readFileSync(new URL('index.ts', dir), 'utf8');
    for (const f of files) expect(index, f).toContain(`import './${f.replace(/\.ts$/, '.js')}';`);
    expect(registeredFunctions().map((r) => r.name).sort()).toEqual(files.map((f) => f.replace(/\.ts$/, '')).sort());
  });

  it('registers through register.* only: a direct app.* call would reach Azure but not the local runner', () => {
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      expect([...text.matchAll(/\bapp\.(http|get|post|storageQueue|timer|eventGrid|generic)\s*\(/g)].map((m) => m[0]), f).toEqual([]);
      expect(text.match(/\bregister\.(http|storageQueue|timer|eventGrid)\(/g), f).toHaveLength(1);
    }
  });

  it('resolves %SETTING% expressions as the host does, and names the function and setting it cannot resolve', () => {
    const settings: Record<string, string> = { INGEST_QUEUE: 'renamed-ingest' };
    expect(resolveBinding('ingest-poison', '%INGEST_QUEUE%-poison', (n) => settings[n])).toBe('renamed-ingest-poison');
    expect(() => resolveBinding('ingest-timer', '%NIGHTLY_SCHEDULE%', (n) => settings[n])).toThrow('function ingest-timer: binding expression %NIGHTLY_SCHEDULE% names app setting NIGHTLY_SCHEDULE, which is not set');
  });
});

describe('the local host serving the registrations', () => {
  let host: LocalHost | undefined;
  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });

  it('binds every queue trigger to the queue its setting names now: a renamed queue moves with its setting', async () => {
    const storage = { connectionString: inject('storageConnectionString') };
    const names: Record<string, string> = { INGEST_QUEUE: 'renamed-ingest', BACKFILL_QUEUE: 'renamed-backfill', KICK_QUEUE: 'renamed-kick' };
    host = new LocalHost({ logger: createLogger({ level: 'silent' }), maxDequeueCount: 5, pollIntervalMs: 50 });
    host.serveFunctions(registeredFunctions(), { setting: (n) => names[n], queue: (_, name) => queueClient(storage, name), timers: false });
    expect(host.served.filter((f) => f.trigger === 'storageQueue').map((f) => [f.name, f.target])).toEqual(
      expect.arrayContaining([
        ['ingest-queue', 'renamed-ingest'],
        ['ingest-poison', 'renamed-ingest-poison'],
        ['backfill-queue', 'renamed-backfill'],
        ['backfill-poison', 'renamed-backfill-poison'],
        ['databricks-kick', 'renamed-kick'],
        ['databricks-kick-poison', 'renamed-kick-poison'],
      ]),
    );
    expect(host.served.filter((f) => f.trigger === 'storageQueue')).toHaveLength(6);
  });

  it('refuses to serve a function whose queue setting is not set, naming both', () => {
    host = new LocalHost({ logger: createLogger({ level: 'silent' }), maxDequeueCount: 5 });
    const storage = { connectionString: inject('storageConnectionString') };
    expect(() => host!.serveFunctions(registeredFunctions(), { setting: () => undefined, queue: (_, name) => queueClient(storage, name), timers: false })).toThrow(
      /^function ingest-queue: binding expression %INGEST_QUEUE% names app setting INGEST_QUEUE, which is not set$/,
    );
  });
});
