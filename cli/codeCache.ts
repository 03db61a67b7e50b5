import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export type CodeCacheOutcome = 'none' | 'accepted' | 'rejected';

/**
 * Runs a CommonJS file (the bundled CLI) as Node would, with V8's code cache kept beside it in
 * `<file>.cache`. Node 20 has no code cache for ES modules (module.enableCompileCache() came in
 * 22.1), and compiling the CLI's 5.8 MB of bundled code took a run about a tenth of a CPU-second
 * before its first query; with the cache V8 deserializes the functions the last run compiled.
 *
 * The cache is written when the process exits, if there was none or it was refused: it starts
 * with the SHA-256 of the file it was made from, checked here, because V8's own check compares
 * only the source's length (a same-length edit would run the old code); V8 then checks its
 * version and the flags the cache was made with. A refused cache costs a recompile, nothing else.
 * It lives next to the code and nowhere shared such as /tmp: a code cache is code, and whoever can
 * write it can run code in the CLI. Where that folder is not writable the run goes on uncached.
 *
 * The file must not call import(): a script compiled from a cache loses its dynamic import
 * callback (nodejs/node#43663, v8-compile-cache#30), so import() would work in the run that
 * writes the cache and fail in every run that reads it. scripts/bundle-cli.mjs turns each
 * import() of the bundle into require().
 */
/** A name a code cache can carry in its file name: lower-case letters, digits and dashes. */
export function isCacheVariant(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,31}$/.test(name);
}

export function runWithCodeCache(file: string, variant?: string): CodeCacheOutcome {
  // A cache holds the functions its first run compiled, and is never rewritten once accepted:
  // one per command, so `--help` run first does not leave `ingest` compiling its path every run.
  if (variant !== undefined && !isCacheVariant(variant)) throw new Error(`code cache variant ${JSON.stringify(variant)}: lower-case letters, digits and dashes only`);
  const cacheFile = variant === undefined ? `${file}.cache` : `${file}.${variant}.cache`;
  const bytes = readFileSync(file);
  const key = createHash('sha256').update(bytes).digest();
  // A `#!` line is valid only at the very start of a file, not inside the CommonJS wrapper.
  const source = bytes.toString('utf8').replace(/^#!.*/, '');
  let stored: Buffer | undefined;
  try {
    stored = readFileSync(cacheFile);
  } catch {
    stored = undefined;
  }
  const cachedData = stored && stored.length > key.length && stored.subarray(0, key.length).equals(key) ? stored.subarray(key.length) : undefined;
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const outcome: CodeCacheOutcome = stored === undefined ? 'none' : cachedData === undefined || script.cachedDataRejected ? 'rejected' : 'accepted';
  if (outcome !== 'accepted') {
    // At exit the cache holds every function the run compiled, not only the top level.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(tmp, Buffer.concat([key, script.createCachedData()]));
        renameSync(tmp, cacheFile); // whole or not at all, whatever else runs at the same time
      } catch {
        // Uncached next time, never a failed exit.
        try {
          rmSync(tmp, { force: true });
        } catch {
          // nothing left to do
        }
      }
    });
  }
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: Module, filename: string, dirname: string) => void;
  const mod = new Module(file);
  mod.filename = file;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return outcome;
}
