/**
 * A watermark value as people read it in tables and messages: SQL watermarks as they are;
 * a file table's version (JSON) as its files' short content hashes; a REST pull as its date.
 * The full value stays in the state, the ledger and the manifests.
 */
export function watermarkLabel(value: string | null): string | null {
  if (value === null || !value.startsWith('{')) return value;
  try {
    const v = JSON.parse(value) as { files?: { sha256: string }[]; pullDate?: string };
    if (Array.isArray(v.files)) return v.files.map((f) => `sha256:${f.sha256.slice(0, 12)}`).join(' ');
    if (typeof v.pullDate === 'string') return `pulled ${v.pullDate}`;
  } catch {
    // not a version: shown as it is
  }
  return value;
}
