import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The bundled CLI's loader (cli/codeCache.ts), each run a process of its own as the CLI's are: a
 * CommonJS file runs the same with and without its cache; the cache is written at exit, read by
 * the next run, and replaced when the file changes or the cache is damaged.
 */
const run = promisify(execFile);
let dir: string;
let program: string;
let runner: string;

async function launch(...args: string[]): Promise<{ out: string; outcome: string }> {
  return launchAs('', ...args);
}

async function launchAs(variant: string, ...args: string[]): Promise<{ out: string; outcome: string }> {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', runner, program, ...args], { timeout: 60_000, env: { ...process.env, CACHE_VARIANT: variant } });
  return { out: stdout, outcome: /outcome=(\w+)/.exec(stderr)?.[1] ?? `no outcome in ${JSON.stringify(stderr)}` };
}

/** What the bundle does: a hashbang, require() of a file next to it and of Node's modules, async work. */
function source(greeting: string): string {
  return `#!/usr/bin/env node
const { join } = require('node:path');
const helper = require('./helper.cjs');
async function main() {
  const os = await Promise.resolve().then(() => require('node:os'));
  process.stdout.write(JSON.stringify({ greeting: ${JSON.stringify(greeting)}, helper: helper.twice(21), args: process.argv.slice(3), file: __filename === join(__dirname, 'program.cjs'), cpus: os.cpus().length > 0 }));
}
main();
`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soundlake-codecache-'));
  program = join(dir, 'program.cjs');
  runner = join(dir, 'runner.mjs');
  await writeFile(join(dir, 'helper.cjs'), 'exports.twice = (n) => n * 2;\n');
  await writeFile(program, source('hello'));
  await writeFile(
    runner,
    `import { runWithCodeCache } from ${JSON.stringify(resolve('cli/codeCache.ts'))};\nprocess.stderr.write('outcome=' + runWithCodeCache(process.argv[2], process.env.CACHE_VARIANT || undefined) + '\\n');\n`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runWithCodeCache', () => {
  const expected = (greeting: string) => ({ greeting, helper: 42, args: ['--flag', 'x'], file: true, cpus: true });

  it('runs the file uncached, writes the cache at exit, and the next run uses it with the same result', async () => {
    const first = await launch('--flag', 'x');
    expect(first.outcome).toBe('none');
    expect(JSON.parse(first.out)).toEqual(expected('hello'));
    expect(existsSync(`${program}.cache`)).toBe(true);

    const second = await launch('--flag', 'x');
    expect(second.outcome).toBe('accepted');
    expect(JSON.parse(second.out)).toEqual(expected('hello'));
  });

  it('a changed file rejects the old cache, runs the new code and writes a new cache', async () => {
    await launch('--flag', 'x');
    const old = await readFile(`${program}.cache`);
    await writeFile(program, source('changed'));
    const changed = await launch('--flag', 'x');
    expect(changed.outcome).toBe('rejected');
    expect(JSON.parse(changed.out)).toEqual(expected('changed'));
    expect((await readFile(`${program}.cache`)).equals(old)).toBe(false);
    expect((await launch('--flag', 'x')).outcome).toBe('accepted');
  });

  it('an edit that keeps the length of the file is seen: the old cache is never run', async () => {
    // V8 checks only the length of the source a cache was made from.
    expect((await launch('--flag', 'x')).outcome).toBe('accepted');
    const same = source('chAnged');
    expect(same.length).toBe(source('changed').length);
    await writeFile(program, same);
    const edited = await launch('--flag', 'x');
    expect(edited.outcome).toBe('rejected');
    expect(JSON.parse(edited.out)).toEqual(expected('chAnged'));
    expect((await launch('--flag', 'x')).outcome).toBe('accepted');
    expect(JSON.parse((await launch('--flag', 'x')).out)).toEqual(expected('chAnged'));
  });

  it('keeps a cache per variant (the CLI names it by command), each written by its own first run', async () => {
    const ingest = await launchAs('ingest', '--flag', 'x');
    expect(ingest.outcome).toBe('none');
    expect(existsSync(`${program}.ingest.cache`)).toBe(true);
    expect((await launchAs('status', '--flag', 'x')).outcome).toBe('none');
    expect((await launchAs('ingest', '--flag', 'x')).outcome).toBe('accepted');
    expect((await launchAs('status', '--flag', 'x')).outcome).toBe('accepted');
    expect(JSON.parse((await launchAs('status', '--flag', 'x')).out)).toEqual(expected('chAnged'));
    await expect(launchAs('../x', '--flag', 'x')).rejects.toThrow(/code cache variant "..\/x"/);
  });

  it('a damaged cache is rejected, never run, and replaced', async () => {
    await writeFile(`${program}.cache`, Buffer.from('not a code cache at all'));
    const damaged = await launch('--flag', 'x');
    expect(damaged.outcome).toBe('rejected');
    expect(JSON.parse(damaged.out)).toEqual(expected('chAnged'));
    expect((await launch('--flag', 'x')).outcome).toBe('accepted');
  });
});
