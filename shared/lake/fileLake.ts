import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Lake, LakeObject, LakeUpload } from './lake.js';

export interface FileLakeOptions {
  /** The folder that plays the container: bronze paths are relative to it. */
  root: string;
  /** Unfinished uploads older than this are removed by ensure() (default 24 h). */
  staleStagingMs?: number;
}

/** Uploads in progress live here, under a `_` folder: by the bronze contract nothing there is data. */
const STAGING = '_staging';

/**
 * Bronze in a local folder, behind the same Lake interface as the Blob adapter: for a lake on
 * this machine (the local medallion reads bronze files where they land, without copying them out
 * of Azurite), and for measuring extraction without a storage emulator on the same cores.
 * A file becomes visible in one step, as a Put Block List does: it is written under `_staging/`,
 * flushed to disk, then renamed into place (atomic within one file system).
 */
export class FileLake implements Lake {
  readonly location: string;
  private readonly root: string;
  private readonly staleStagingMs: number;

  constructor(options: FileLakeOptions) {
    this.root = resolve(options.root);
    this.location = `file://${this.root}`;
    this.staleStagingMs = options.staleStagingMs ?? 24 * 3600_000;
  }

  /** An object's file; paths come from bronzePaths, and still cannot leave the root. */
  private file(path: string): string {
    const full = resolve(this.root, path);
    if (path.length === 0 || path.includes('\0') || !full.startsWith(this.root + sep)) throw new Error(`lake path ${JSON.stringify(path)} is outside ${this.root}`);
    return full;
  }

  private staging(): string {
    return join(this.root, STAGING, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  async ensure(): Promise<void> {
    await mkdir(join(this.root, STAGING), { recursive: true });
    // Uploads of runs that died before their commit: what Blob storage does with uncommitted blocks.
    const now = Date.now();
    for (const name of await readdir(join(this.root, STAGING))) {
      const f = join(this.root, STAGING, name);
      const s = await stat(f).catch(() => null);
      if (s && now - s.mtimeMs > this.staleStagingMs) await rm(f, { force: true });
    }
  }

  upload(path: string): LakeUpload {
    const target = this.file(path);
    const temp = this.staging();
    let handle: Promise<FileHandle> | undefined;
    // Writes happen in the order stage() was called, one after another.
    let chain: Promise<unknown> = Promise.resolve();
    let size = 0;
    let failure: unknown;
    const opened = (): Promise<FileHandle> => {
      handle ??= mkdir(dirname(temp), { recursive: true }).then(() => open(temp, 'w'));
      return handle;
    };
    return {
      stage(bytes: Uint8Array): Promise<void> {
        if (failure) return Promise.reject(failure);
        size += bytes.byteLength;
        const write = chain.then(async () => {
          const h = await opened();
          let done = 0;
          while (done < bytes.byteLength) done += (await h.write(bytes, done, bytes.byteLength - done)).bytesWritten;
        });
        chain = write.catch((err: unknown) => {
          failure ??= err;
        });
        return write;
      },
      async commit(): Promise<number> {
        await chain;
        if (failure) throw failure;
        const h = await opened();
        try {
          await h.sync();
        } finally {
          await h.close();
        }
        await mkdir(dirname(target), { recursive: true });
        await rename(temp, target);
        return size;
      },
    };
  }

  async put(path: string, body: string | Uint8Array): Promise<void> {
    const upload = this.upload(path);
    await upload.stage(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    await upload.commit('');
  }

  async get(path: string): Promise<Buffer | null> {
    try {
      return await readFile(this.file(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Objects whose path starts with `prefix`, as a flat listing by name would give them. */
  async *list(prefix: string): AsyncIterable<LakeObject> {
    // Walk from the deepest folder the prefix names; a prefix can end inside a file name.
    const cut = prefix.lastIndexOf('/');
    const start = cut < 0 ? this.root : this.file(prefix.slice(0, cut));
    const walk = async function* (dir: string, root: string): AsyncGenerator<LakeObject> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const full = join(dir, e.name);
        const path = relative(root, full).split(sep).join('/');
        if (path === STAGING) continue;
        if (e.isDirectory()) yield* walk(full, root);
        else if (e.isFile() && path.startsWith(prefix)) yield { path, size: (await stat(full)).size };
      }
    };
    yield* walk(start, this.root);
  }

  async delete(path: string): Promise<void> {
    await unlink(this.file(path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
