import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../local/freePort.js';
import { findPostgresBin, startPostgresServer, type RunningPostgresServer } from '../local/postgresServer.js';

/**
 * The benches' own PostgreSQL server: bench/setup-postgres.sh installs Debian's package where it
 * can, then a fresh cluster under `workDir` on a free loopback port. Null when no server could be
 * installed (the caller prints why it skips).
 */
export async function startBenchPostgres(root: string, workDir: string): Promise<RunningPostgresServer | null> {
  spawnSync('bash', [join(root, 'bench/setup-postgres.sh')], { stdio: ['ignore', 2, 2] });
  if (!findPostgresBin()) return null;
  const port = await freePort();
  return startPostgresServer({
    port,
    dir: join(workDir, `pg-${port}`),
    // Seeding speed only (no fsync, large WAL, a large sort for the key's index): the reads the benches measure write no WAL.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: '8GB', maintenance_work_mem: '1GB' },
  });
}
