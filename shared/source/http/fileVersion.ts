/**
 * The version of a file table: per file, the server's validators (ETag, Last-Modified) for the
 * next conditional GET and the SHA-256 of its decoded bytes, which decides whether it changed;
 * `at`, when it was probed, is the `_loaded_at` of the slice that lands it. Kept as the table's
 * watermark value (JSON text) and as a pending slice's upper bound.
 */
export interface FileVersion {
  url: string;
  etag?: string;
  lastModified?: string;
  sha256: string;
  bytes: number;
}

export interface SnapshotVersion {
  at: string;
  files: FileVersion[];
  /**
   * The URLs whose records the slice of this version lands: the files whose content is not the
   * committed one. Absent (versions written before files failed on their own): every file.
   */
  read?: string[];
}

export function parseVersion(text: string | null): SnapshotVersion | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as SnapshotVersion;
    return v && typeof v.at === 'string' && Array.isArray(v.files) ? v : null;
  } catch {
    // A watermark written by something else (a table that changed kind): treated as no version.
    return null;
  }
}

/** Same content: the same files with the same hashes (validators may differ). */
export function sameContent(a: SnapshotVersion | null, b: SnapshotVersion): boolean {
  if (!a || a.files.length !== b.files.length) return false;
  return a.files.every((f, i) => f.url === b.files[i]!.url && f.sha256 === b.files[i]!.sha256);
}
