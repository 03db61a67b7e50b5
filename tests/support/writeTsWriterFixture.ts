import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ParquetPartWriter } from '../../shared/bronze/parquetPartWriter.js';
import type { LakeUpload } from '../../shared/lake/lake.js';
import type { SourceColumn } from '../../shared/source/source.js';
import { parseDateDays, parseTimestampMicros } from '../../shared/source/valueCodecs.js';

/**
 * Writes the bronze parts that databricks/tests/test_silver_stream.py reads with Spark: the
 * TypeScript writer's side of the bronze contract. `npm run test:py` runs this first, so the
 * Python suite always reads what the current writer and value codecs produce.
 *
 *   npx tsx tests/support/writeTsWriterFixture.ts [bronze-root]
 */
const root = process.argv[2] ?? 'databricks/tests/fixtures/ts-writer-bronze';

const col = (name: string, parquet: SourceColumn['parquet'], nullable = true): SourceColumn => ({ name, sourceType: parquet.kind, nullable, parquet });
const days = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const micros = (iso: string, extra: number): bigint => BigInt(Date.parse(iso)) * 1000n + BigInt(extra);

async function writePart(table: string, columns: SourceColumn[], rows: unknown[][]): Promise<void> {
  const target = path.join(root, table, 'load_date=2026-11-25', `${table}__s0000000001__p00000.parquet`);
  const parts: Uint8Array[] = [];
  const upload: LakeUpload = {
    stage: async (bytes) => void parts.push(bytes),
    commit: async () => {
      const body = Buffer.concat(parts);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, body);
      return body.length;
    },
  };
  const writer = new ParquetPartWriter(columns, upload, 65_536, { 'soundlake.table': table, 'soundlake.slice': 's0000000001', 'soundlake.run_id': 'fixture' });
  await writer.add(rows);
  const size = await writer.finish();
  process.stdout.write(`wrote ${target} (${size} bytes)\n`);
}

await writePart(
  'dim_tracks',
  [
    col('track_id', { kind: 'int32' }, false),
    col('track_name', { kind: 'string' }),
    col('artist_id', { kind: 'int32' }),
    col('album_id', { kind: 'int32' }),
    col('duration_sec', { kind: 'int32' }),
    col('release_date', { kind: 'date' }),
    col('explicit', { kind: 'boolean' }),
    col('danceability', { kind: 'decimal', precision: 4, scale: 3 }),
    col('energy', { kind: 'decimal', precision: 4, scale: 3 }),
    col('tempo_bpm', { kind: 'decimal', precision: 6, scale: 2 }),
    col('updated_at', { kind: 'timestamp' }, false),
  ],
  [
    [1, 'Bohemian Rhapsody', 7, 70, 354, days('1975-10-31'), false, 414n, 404n, 7167n, micros('2026-11-25T08:46:59.123Z', 123)],
    [2, 'Ünïcødé ✓', 8, 80, 95, days('2020-02-29'), true, 999n, 1n, 12000n, micros('2026-11-25T08:47:00.000Z', 123)],
    [3, null, null, null, null, null, null, null, null, null, micros('1999-12-31T23:59:59.999Z', 123)],
  ],
);

// Postgres infinities, converted by the same codecs the Postgres source uses for its text.
await writePart(
  'dim_users',
  [
    col('user_id', { kind: 'int32' }, false),
    col('user_name', { kind: 'string' }),
    col('country', { kind: 'string' }),
    col('subscription_type', { kind: 'string' }),
    col('signup_date', { kind: 'date' }),
    col('updated_at', { kind: 'timestamp' }, false),
  ],
  [
    [1, 'open end', 'SE', 'free', parseDateDays('infinity'), parseTimestampMicros('2026-11-25 08:00:00+00')],
    [2, 'open start', 'SE', 'free', parseDateDays('-infinity'), parseTimestampMicros('2026-11-25 08:00:01+00')],
    [3, 'first of all', 'SE', 'free', parseDateDays('0001-01-01'), parseTimestampMicros('-infinity')],
    [4, 'last of all', 'SE', 'free', parseDateDays('2026-11-25'), parseTimestampMicros('infinity')],
  ],
);
