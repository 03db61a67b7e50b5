import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface PostgresServerOptions {
  /** Port on 127.0.0.1 (pick one with freePort()). */
  port: number;
  /** Folder for the cluster (created; removed by stop()). */
  dir: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

export interface RunningPostgresServer {
  url: string;
  /** The postmaster: its own CPU plus its reaped children's (every backend that ended) is the server's CPU. */
  pid: number;
  version: string;
  stop(): Promise<void>;
}

/**
 * Where Debian's `postgresql` package puts the server programs (/usr/lib/postgresql/<major>/bin,
 * newest first), or whatever `pg_config --bindir` names; null when no server is installed.
 */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length > 0) return join(root, majors[0]!, 'bin');
  }
  const probe = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bin = probe.status === 0 ? probe.stdout.trim() : '';
  return bin && existsSync(join(bin, 'initdb')) ? bin : null;
}

/**
 * A PostgreSQL server of its own for benchmarks and tests: a fresh cluster in `dir`, trust
 * authentication, listening on 127.0.0.1 only (its socket in `dir`, not /var/run). initdb and
 * the server refuse to run as root, so under root the cluster belongs to the `postgres` account
 * that Debian's package creates and the programs run as it (runuser); as any other user they
 * run as that user.
 */
export async function startPostgresServer(options: PostgresServerOptions): Promise<RunningPostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('no PostgreSQL server is installed (Debian: apt-get install postgresql)');
  const dir = resolve(options.dir);
  const data = join(dir, 'data');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root, and there is no postgres account to own the cluster');
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const run = (program: string, args: string[]): string => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-instructions']);
  const settings: Record<string, string> = { listen_addresses: '127.0.0.1', port: String(options.port), unix_socket_directories: dir, ...options.settings };
  const serverOptions = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '120', 'start']);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', () => {
    if (!stopped) spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
  });
  return { url: `postgres://postgres@127.0.0.1:${options.port}/postgres`, pid, version, stop };
}
