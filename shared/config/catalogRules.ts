import { COLUMN_TYPE, TRANSFORMS } from './catalogSchema.js';
import { authRules, sourceKindOf, sourceRules, SNAPSHOT_COLUMNS, SNAPSHOT_SEQUENCE } from './sourceRules.js';

/**
 * The catalog's rules across fields, which no JSON Schema can say. They run on the raw document
 * even when the schema already failed, so a file is reported whole rather than one layer of
 * mistakes at a time; each rule looks only at values of the right shape. The same rules, with
 * the same words, are in databricks/src/soundlake/catalog.py (`cross_check`); the shared fixture
 * tests/fixtures/catalog/bad-catalogs.yaml holds both to them.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
const q = (s: string): string => JSON.stringify(s);

/** The silver tables one catalog table writes: its own and its three companions. */
export function silverTablesOf(silverName: string): string[] {
  return [silverName, `${silverName}_changes`, `${silverName}_rescued`, `${silverName}_ingest_log`];
}

/** The type family a transform checks against: decimal(4,3) -> decimal. */
function family(type: string): string {
  return type.startsWith('decimal(') ? 'decimal' : type;
}

function tableRules(t: Obj, i: number, problems: string[], kinds: Map<string, string>): void {
  const at = `tables[${i}]`;
  const source = isObj(t.source) ? t.source : {};
  const kind = sourceKindOf(source, kinds);
  const snapshot = kind === 'http' || kind === 'rest';
  // File and REST tables: the declared fields and the lineage columns every slice carries.
  const fields = Array.isArray(source.fields) ? source.fields.filter(isObj).map((f) => str(f.name)).filter((n): n is string => n !== undefined) : undefined;
  const extracted = snapshot ? (fields ? [...fields, ...SNAPSHOT_COLUMNS] : undefined) : strings(source.columns);
  const keys = strings(t.primaryKey) ?? [];
  const watermark = snapshot ? SNAPSHOT_SEQUENCE : isObj(t.watermark) ? str(t.watermark.column) : undefined;

  for (const moved of ['schema', 'table', 'columns', 'timeZone'].filter((k) => k in t)) {
    problems.push(`${at}.${moved}: belongs under source: (source: { schema, table, columns, timeZone })`);
  }
  if (extracted && !snapshot) {
    for (const n of [watermark, ...keys]) {
      if (n !== undefined && !extracted.includes(n)) problems.push(`${at}.source.columns: must include ${q(n)} (watermark and primary key columns are always extracted)`);
    }
  }
  if (extracted && snapshot) {
    for (const n of keys) if (!extracted.includes(n)) problems.push(`${at}.primaryKey: ${q(n)} is not a field (not in source.fields)`);
  }
  sourceRules(t, at, kind, problems);

  const silver = isObj(t.silver) ? t.silver : {};
  const sequence = str(silver.sequenceColumn) ?? watermark;
  const declared = Array.isArray(silver.columns) ? silver.columns.filter(isObj) : undefined;
  const types = new Map<string, string>(); // lower-cased name -> type of the declared contract
  if (Array.isArray(silver.columns)) {
    const first = new Map<string, number>();
    silver.columns.forEach((c: unknown, k) => {
      if (!isObj(c)) return;
      const name = str(c.name);
      const type = str(c.type);
      if (name !== undefined) {
        const seen = first.get(name.toLowerCase());
        if (seen !== undefined) problems.push(`${at}.silver.columns[${k}].name: duplicate column ${q(name)} (first at silver.columns[${seen}])`);
        else first.set(name.toLowerCase(), k);
        if (extracted && !extracted.includes(name)) problems.push(`${at}.silver.columns[${k}].name: ${q(name)} is not extracted (not in ${snapshot ? 'source.fields' : 'source.columns'})`);
        if (type !== undefined && COLUMN_TYPE.test(type)) types.set(name.toLowerCase(), type);
      }
      const m = type !== undefined ? /^decimal\((\d+),(\d+)\)$/.exec(type) : null;
      if (m && Number(m[2]) > Number(m[1])) problems.push(`${at}.silver.columns[${k}].type: decimal scale must not exceed its precision`);
    });
    const names = declared!.map((c) => str(c.name)).filter((n): n is string => n !== undefined);
    for (const n of [...new Set([...keys, ...(sequence !== undefined ? [sequence] : [])])]) {
      if (!names.includes(n)) problems.push(`${at}.silver.columns: must include ${q(n)} (primary key and sequence columns)`);
    }
  } else if (extracted && str(silver.sequenceColumn) !== undefined && !extracted.includes(str(silver.sequenceColumn)!)) {
    problems.push(`${at}.silver.sequenceColumn: ${q(str(silver.sequenceColumn)!)} is not extracted (not in ${snapshot ? 'source.fields' : 'source.columns'})`);
  }

  // Transforms name columns the table has: the declared contract, else the extracted list
  // (a table with neither gets its columns at first sight: checked then, by silver).
  const known: Map<string, string> | undefined = declared ? new Map(types) : extracted ? new Map(extracted.map((c) => [c.toLowerCase(), ''])) : undefined;
  const where = declared ? 'silver.columns' : snapshot ? 'source.fields' : 'source.columns';
  if (Array.isArray(silver.transforms)) {
    silver.transforms.forEach((tr: unknown, k) => {
      if (!isObj(tr)) return;
      const facts = TRANSFORMS[str(tr.fn) ?? ''];
      if (!facts || !known) return;
      const column = str(tr.column);
      if (column !== undefined) {
        const type = known.get(column.toLowerCase());
        if (type === undefined) problems.push(`${at}.silver.transforms[${k}].column: unknown column ${q(column)} (not in ${where})`);
        else if (type !== '' && !facts.columnTypes.includes(family(type))) {
          problems.push(`${at}.silver.transforms[${k}].column: ${String(tr.fn)} takes a ${facts.columnTypes.join(' or ')} column; ${q(column)} is ${type}`);
        }
      }
      if (facts.adds) {
        const added = str(tr[facts.adds.field]) ?? facts.adds.default;
        if (known.has(added.toLowerCase())) problems.push(`${at}.silver.transforms[${k}].${facts.adds.field}: column ${q(added)} already exists`);
        else known.set(added.toLowerCase(), facts.adds.type);
      }
    });
  }
}

/**
 * The `sources:` block: unique names, each kind's fields, one app setting per SQL source (two
 * names for one database would each get the whole maxConnections); returns name -> kind.
 */
function catalogSourceRules(sources: unknown, problems: string[]): Map<string, string> {
  const kinds = new Map<string, string>();
  if (!Array.isArray(sources)) return kinds;
  const first = new Map<string, number>();
  const settings = new Map<string, number>();
  sources.forEach((s: unknown, i) => {
    if (!isObj(s)) return;
    const name = str(s.name);
    const kind = str(s.kind);
    const at = `sources[${i}]`;
    if (name !== undefined) {
      const seen = first.get(name);
      if (seen !== undefined) problems.push(`${at}.name: duplicate source name ${q(name)} (first at sources[${seen}])`);
      else {
        first.set(name, i);
        if (kind !== undefined) kinds.set(name, kind);
      }
    }
    const sql = kind === 'postgres' || kind === 'mssql';
    for (const f of ['url', 'maxConnections']) if (f in s && kind !== undefined && !sql) problems.push(`${at}.${f}: applies to postgres and mssql sources only`);
    if ('baseUrl' in s && kind !== undefined && kind !== 'http' && kind !== 'rest') problems.push(`${at}.baseUrl: applies to http and rest sources only`);
    if (sql && !('url' in s) && name !== 'default') problems.push(`${at}.url: is missing (the setting holding the connection URL)`);
    if (sql && !('maxConnections' in s) && name !== 'default') problems.push(`${at}.maxConnections: is missing (the most sessions the source may see from every instance together)`);
    const setting = sql && isObj(s.url) ? str(s.url.setting) : undefined;
    if (setting !== undefined) {
      const seen = settings.get(setting);
      if (seen !== undefined) problems.push(`${at}.url.setting: ${q(setting)} is already the setting of sources[${seen}]: one database is one source (two would each get the whole maxConnections)`);
      else settings.set(setting, i);
    }
    if (name === 'default' && kind !== undefined && !sql) problems.push(`${at}.kind: the default source is the deployment's SQL source: postgres or mssql`);
    authRules(s, at, problems);
  });
  return kinds;
}

export function crossCheck(raw: unknown): string[] {
  const problems: string[] = [];
  const kinds = catalogSourceRules(isObj(raw) ? raw.sources : undefined, problems);
  const tables = isObj(raw) ? raw.tables : undefined;
  if (!Array.isArray(tables)) return problems;
  const names = new Map<string, number>();
  const silverOwners = new Map<string, number>(); // silver table -> index of the catalog table writing it
  tables.forEach((t: unknown, i) => {
    if (!isObj(t)) return;
    const name = str(t.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) problems.push(`tables[${i}].name: duplicate table name ${q(name)} (first at tables[${first}])`);
      else names.set(name, i);
    }
    const silver = isObj(t.silver) ? t.silver : {};
    const silverName = str(silver.name) ?? name;
    if (silverName !== undefined && !(name !== undefined && names.get(name) !== i)) {
      const field = str(silver.name) !== undefined ? `tables[${i}].silver.name` : `tables[${i}].name`;
      const clash = silverTablesOf(silverName).find((s) => silverOwners.has(s));
      if (clash !== undefined) problems.push(`${field}: clashes with tables[${silverOwners.get(clash)!}]: both would write silver table ${q(clash)}`);
      else for (const s of silverTablesOf(silverName)) silverOwners.set(s, i);
    }
    tableRules(t, i, problems, kinds);
  });
  return problems;
}
