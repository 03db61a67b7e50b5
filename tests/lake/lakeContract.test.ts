import { createServer, request as httpRequest } from 'node:http';
import { mkdtemp, readdir, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BlobLake } from '../../shared/lake/blobLake.js';
import { FileLake } from '../../shared/lake/fileLake.js';
import type { Lake } from '../../shared/lake/lake.js';
import { loadSettings } from '../../shared/config/settings.js';
import { testId } from '../support/harness.js';

/** One contract for every Lake adapter: Blob storage (Azurite) and a local folder. */
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const adapters: { name: string; make: () => Promise<Lake> }[] = [
  {
    name: 'Blob (Azurite)',
    make: async () => new BlobLake({ container: BlobServiceClient.fromConnectionString(inject('storageConnectionString')).getContainerClient(`lake-${testId()}`) }),
  },
  {
    name: 'local folder',
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'soundlake-lake-'));
      dirs.push(dir);
      return new FileLake({ root: join(dir, 'bronze') });
    },
  },
];

const all = async (lake: Lake, prefix: string): Promise<{ path: string; size: number }[]> => {
  const out: { path: string; size: number }[] = [];
  for await (const o of lake.list(prefix)) out.push(o);
  return out.sort((a, b) => a.path.localeCompare(b.path));
};

for (const adapter of adapters) {
  describe(`lake contract: ${adapter.name}`, () => {
    it('shows an upload only once it is committed, whole and in the order it was staged', async () => {
      const lake = await adapter.make();
      await lake.ensure();
      const upload = lake.upload('t/load_date=2026-01-01/t__s0000000001__p00000.parquet');
      // Staged without waiting for each: order must still be kept.
      const staged = [upload.stage(Buffer.from('abc')), upload.stage(Buffer.from('')), upload.stage(Buffer.from('defg'))];
      await Promise.all(staged);
      expect(await lake.get('t/load_date=2026-01-01/t__s0000000001__p00000.parquet')).toBeNull();
      expect(await all(lake, 't/')).toEqual([]);
      expect(await upload.commit('application/vnd.apache.parquet')).toBe(7);
      expect((await lake.get('t/load_date=2026-01-01/t__s0000000001__p00000.parquet'))!.toString()).toBe('abcdefg');
      // A second commit of the same name replaces it: a rerun rewrites its parts.
      const again = lake.upload('t/load_date=2026-01-01/t__s0000000001__p00000.parquet');
      await again.stage(Buffer.from('xy'));
      await again.commit('application/vnd.apache.parquet');
      expect((await lake.get('t/load_date=2026-01-01/t__s0000000001__p00000.parquet'))!.toString()).toBe('xy');
    });

    it('lists by any prefix, even one that ends inside a name, and never lists uploads in progress', async () => {
      const lake = await adapter.make();
      await lake.ensure();
      for (const p of ['t/load_date=2026-01-01/t__s0000000001__p00000.parquet', 't/load_date=2026-01-01/t__s0000000001__p00001.parquet', 't/load_date=2026-01-01/t__s0000000002__p00000.parquet', '_manifests/t/s0000000001.json']) {
        await lake.put(p, `body of ${p}`, 'application/octet-stream');
      }
      const open = lake.upload('t/load_date=2026-01-01/t__s0000000001__p00002.parquet');
      await open.stage(Buffer.from('unfinished'));
      expect((await all(lake, 't/load_date=2026-01-01/t__s0000000001__')).map((o) => o.path)).toEqual([
        't/load_date=2026-01-01/t__s0000000001__p00000.parquet',
        't/load_date=2026-01-01/t__s0000000001__p00001.parquet',
      ]);
      expect((await all(lake, '')).map((o) => o.path)).toEqual([
        '_manifests/t/s0000000001.json',
        't/load_date=2026-01-01/t__s0000000001__p00000.parquet',
        't/load_date=2026-01-01/t__s0000000001__p00001.parquet',
        't/load_date=2026-01-01/t__s0000000002__p00000.parquet',
      ]);
      expect((await all(lake, '_manifests/'))[0]).toEqual({ path: '_manifests/t/s0000000001.json', size: 'body of _manifests/t/s0000000001.json'.length });
      expect(await all(lake, 'nothing/here')).toEqual([]);
      await lake.delete('t/load_date=2026-01-01/t__s0000000001__p00001.parquet');
      await lake.delete('t/load_date=2026-01-01/t__s0000000001__p00001.parquet');
      expect((await all(lake, 't/')).length).toBe(2);
      expect(await lake.get('no/such/object')).toBeNull();
    });
  });
}

describe('blob lake', () => {
  it('gathers staged bytes into blocks of its block size, in order, the last one short', async () => {
    const container = BlobServiceClient.fromConnectionString(inject('storageConnectionString')).getContainerClient(`lake-${testId()}`);
    const lake = new BlobLake({ container, blockBytes: 10 });
    await lake.ensure();
    const pieces = ['abc', 'defgh', 'ij', 'klmnopqrstuvwxyz', '0', '12345678', '9'].map((p) => Buffer.from(p));
    const upload = lake.upload('t/gathered.parquet');
    for (const p of pieces) await upload.stage(p);
    await upload.stage(Buffer.from('!?'));
    expect(await upload.commit('application/vnd.apache.parquet')).toBe(38);
    expect((await lake.get('t/gathered.parquet'))!.toString()).toBe('abcdefghijklmnopqrstuvwxyz0123456789!?');
    // abc+defgh+ij (10) | klmnopqrstuvwxyz (16) | 0+12345678+9 (10) | !? (2, staged at commit)
    const { committedBlocks } = await container.getBlockBlobClient('t/gathered.parquet').getBlockList('committed');
    expect(committedBlocks!.map((b) => b.size)).toEqual([10, 16, 10, 2]);
  });
});

describe('blob lake, a block refused once', () => {
  it('sends a block gathered from several parts again, whole, when the service fails the first attempt', async () => {
    const cs = inject('storageConnectionString');
    const target = new URL(/BlobEndpoint=([^;]+)/.exec(cs)![1]!);
    // A relay that answers the first Put Block with 503 (after reading its body), then relays everything.
    let refused = 0;
    const relay = createServer((req, res) => {
      if (refused === 0 && req.method === 'PUT' && (req.url ?? '').includes('comp=block&')) {
        refused++;
        req.resume();
        req.on('end', () => res.writeHead(503, { 'content-type': 'application/xml' }).end());
        return;
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => res.destroy(err));
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const port = (relay.address() as { port: number }).port;
      const viaRelay = cs.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=http://127.0.0.1:${port}${target.pathname}`);
      const service = BlobServiceClient.fromConnectionString(viaRelay, { retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
      const lake = new BlobLake({ container: service.getContainerClient(`lake-${testId()}`), blockBytes: 10 });
      await lake.ensure();
      const upload = lake.upload('t/retried.parquet');
      for (const p of ['abcd', 'efgh', 'ijkl', 'mn']) await upload.stage(Buffer.from(p));
      await upload.commit('application/vnd.apache.parquet');
      expect(refused).toBe(1);
      expect((await lake.get('t/retried.parquet'))!.toString()).toBe('abcdefghijklmn');
    } finally {
      relay.close();
    }
  });
});

describe('local folder lake', () => {
  it('refuses paths that leave its folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'soundlake-lake-'));
    dirs.push(dir);
    const lake = new FileLake({ root: join(dir, 'bronze') });
    for (const bad of ['../escape', '/etc/passwd', 'a/../../b', '']) expect(() => lake.upload(bad), bad).toThrow(/outside/);
    await expect(lake.get('../x')).rejects.toThrow(/outside/);
  });

  it('removes uploads that a dead run left unfinished, once they are stale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'soundlake-lake-'));
    dirs.push(dir);
    const root = join(dir, 'bronze');
    await mkdir(join(root, '_staging'), { recursive: true });
    await writeFile(join(root, '_staging', 'old'), 'x');
    await writeFile(join(root, '_staging', 'fresh'), 'y');
    const old = new Date(Date.now() - 2 * 24 * 3600_000);
    await utimes(join(root, '_staging', 'old'), old, old);
    await new FileLake({ root }).ensure();
    expect(await readdir(join(root, '_staging'))).toEqual(['fresh']);
  });

  it('is chosen by BRONZE_DIR, which Azure refuses', () => {
    expect(loadSettings({ BRONZE_DIR: '/tmp/bronze' }).bronzeDir).toBe('/tmp/bronze');
    expect(() => loadSettings({ BRONZE_DIR: '/tmp/bronze', WEBSITE_SITE_NAME: 'app', WEBSITE_INSTANCE_ID: 'x', SOURCE_URL: 'postgres://h/db', SOUNDLAKE_STORAGE__blobServiceUri: 'https://a.blob.core.windows.net', SOUNDLAKE_STORAGE__queueServiceUri: 'https://a.queue.core.windows.net', SOUNDLAKE_STORAGE__tableServiceUri: 'https://a.table.core.windows.net' })).toThrow(/BRONZE_DIR/);
  });
});
