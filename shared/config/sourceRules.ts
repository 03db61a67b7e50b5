/**
 * The cross-field rules of a table's `source:` by the kind of source it names: SQL tables take
 * schema/table and a watermark; http tables take urls and a format and have no watermark (each
 * slice is a whole snapshot). The same rules, with the same words, are in databricks/src/
 * soundlake/catalog.py (`_source_rules`); tests/fixtures/catalog/bad-catalogs.yaml holds both.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The lineage columns every file and REST slice carries after the record's own fields. */
export const SNAPSHOT_COLUMNS = ['_source_url', '_loaded_at'] as const;
/** What orders a key's versions in silver for snapshot tables: when the slice was planned. */
export const SNAPSHOT_SEQUENCE = '_loaded_at';

const SQL_FIELDS = ['schema', 'table', 'columns', 'timeZone'];
const HTTP_FIELDS = ['urls', 'format', 'csv', 'fields'];
const REST_FIELDS = ['endpoint', 'params', 'records', 'paginate'];

/** The kind of source a table reads: the named source's, `default` (SQL) when it names none; undefined when unknown. */
export function sourceKindOf(source: Obj, kinds: Map<string, string>): string | undefined {
  const name = typeof source.name === 'string' ? source.name : 'default';
  if (kinds.has(name)) return kinds.get(name);
  return name === 'default' ? 'sql' : undefined;
}

export function sourceRules(t: Obj, at: string, kind: string | undefined, problems: string[]): void {
  if (!isObj(t.source)) return;
  const source = t.source;
  if (kind === undefined) {
    problems.push(`${at}.source.name: unknown source ${JSON.stringify(source.name)} (not in sources:)`);
    return;
  }
  const sql = kind === 'sql' || kind === 'postgres' || kind === 'mssql';
  if (sql) {
    for (const f of ['schema', 'table']) if (!(f in source)) problems.push(`${at}.source.${f}: is missing`);
    for (const f of HTTP_FIELDS) if (f in source) problems.push(`${at}.source.${f}: applies to http sources only`);
    for (const f of REST_FIELDS) if (f in source) problems.push(`${at}.source.${f}: applies to rest sources only`);
    if (!('watermark' in t)) problems.push(`${at}.watermark: is missing`);
    return;
  }
  for (const f of SQL_FIELDS) if (f in source) problems.push(`${at}.source.${f}: applies to SQL sources only`);
  if ('watermark' in t) problems.push(`${at}.watermark: ${kind} tables have none: every slice is a snapshot, stamped _loaded_at`);
  if (kind === 'rest') {
    for (const f of ['urls', 'format', 'csv']) if (f in source) problems.push(`${at}.source.${f}: applies to http sources only`);
    for (const f of ['endpoint', 'fields']) if (!(f in source)) problems.push(`${at}.source.${f}: is missing`);
    const p = isObj(source.paginate) ? source.paginate : undefined;
    if (p && (p.type === 'next_url' || p.type === 'cursor') && !('next' in p)) problems.push(`${at}.source.paginate.next: is missing (where the ${p.type === 'cursor' ? 'next cursor' : "next page's URL"} is in a response)`);
    if (p && p.type === 'offset' && !('limit' in p)) problems.push(`${at}.source.paginate.limit: is missing (the page size)`);
  }
  if (Array.isArray(source.fields)) {
    source.fields.forEach((f: unknown, k) => {
      if (isObj(f) && typeof f.name === 'string' && (SNAPSHOT_COLUMNS as readonly string[]).includes(f.name)) problems.push(`${at}.source.fields[${k}].name: ${JSON.stringify(f.name)} is a lineage column every slice adds`);
    });
  }
  if (kind === 'http') {
    for (const f of REST_FIELDS) if (f in source) problems.push(`${at}.source.${f}: applies to rest sources only`);
    for (const f of ['urls', 'format']) if (!(f in source)) problems.push(`${at}.source.${f}: is missing`);
    if ('csv' in source && source.format !== undefined && source.format !== 'csv') problems.push(`${at}.source.csv: applies to format csv only`);
    if (isObj(source.csv) && source.csv.header === false && !('fields' in source)) problems.push(`${at}.source.fields: is missing (a CSV without a header row needs its fields named)`);
    if (Array.isArray(source.fields)) {
      source.fields.forEach((f: unknown, k) => {
        if (isObj(f) && 'path' in f) problems.push(`${at}.source.fields[${k}].path: applies to rest sources only (file fields are named as in the file)`);
      });
    }
  }
}

/** A `sources:` entry's auth, by type (catalogRules calls it per rest source). */
export function authRules(s: Obj, at: string, problems: string[]): void {
  if (s.kind !== 'rest') {
    if ('auth' in s && s.kind !== undefined) problems.push(`${at}.auth: applies to rest sources only`);
    return;
  }
  if (!('baseUrl' in s)) problems.push(`${at}.baseUrl: is missing`);
  const auth = isObj(s.auth) ? s.auth : undefined;
  if (!auth) return;
  const needs = auth.type === 'client_credentials' ? ['tokenUrl', 'clientId', 'clientSecret'] : auth.type === 'bearer' ? ['token'] : [];
  for (const f of needs) if (!(f in auth)) problems.push(`${at}.auth.${f}: is missing (${String(auth.type)})`);
  for (const f of ['tokenUrl', 'clientId', 'clientSecret', 'token']) if (f in auth && !needs.includes(f)) problems.push(`${at}.auth.${f}: does not apply to auth type ${String(auth.type)}`);
}
