/**
 * Names in the bronze container (docs/bronze-layout.md). Every name is a function of the slice,
 * never of the clock at write time, so a rerun after a crash writes the same names again.
 */

export const MANIFEST_ROOT = '_manifests';

export function scheduledSliceId(seq: number): string {
  return `s${String(seq).padStart(10, '0')}`;
}

export function backfillSliceId(backfillId: string, chunk: number): string {
  return `b${backfillId}-c${String(chunk).padStart(5, '0')}`;
}

export function tableFolder(table: string): string {
  return `${table}/`;
}

/** Prefix shared by all parts of one slice: used to find parts left over by an earlier attempt. */
export function slicePartPrefix(table: string, loadDate: string, slice: string): string {
  return `${table}/load_date=${loadDate}/${table}__${slice}__p`;
}

export function partPath(table: string, loadDate: string, slice: string, part: number): string {
  return `${slicePartPrefix(table, loadDate, slice)}${String(part).padStart(5, '0')}.parquet`;
}

export function manifestPath(table: string, slice: string): string {
  return `${MANIFEST_ROOT}/${table}/${slice}.json`;
}

/** Bronze data files are Parquet under a table folder; anything under a `_` folder or with a temp name is not data. */
export function isBronzeDataPath(path: string): boolean {
  if (!path.endsWith('.parquet')) return false;
  const segments = path.split('/');
  if (segments.length < 2) return false;
  return !segments.some((s) => s.startsWith('_') || s.startsWith('.') || s.endsWith('.tmp'));
}

/** The bronze table a data path belongs to (its first folder). */
export function tableOfPath(path: string): string | undefined {
  return isBronzeDataPath(path) ? path.split('/')[0] : undefined;
}
