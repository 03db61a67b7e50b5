import { COLUMN_TYPE, DEFAULT_SOURCE, TRANSFORMS } from './catalogSchema.js';

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

function tableRules(t: Obj, i: number, problems: string[]): void {
  const at = `tables[${i}]`;
  const source = isObj(t.source) ? t.source : {};
  const extracted = strings(source.columns);
  const keys = strings(t.primaryKey) ?? [];
  const watermark = isObj(t.watermark) ? str(t.watermark.column) : undefined;

  for (const moved of ['schema', 'table', 'columns', 'timeZone'].filter((k) => k in t)) {
    problems.push(`${at}.${moved}: belongs under source: (source: { schema, table, columns, timeZone })`);
  }
  if (extracted) {
    for (const n of [watermark, ...keys]) {
      if (n !== undefined && !extracted.includes(n)) problems.push(`${at}.source.columns: must include ${q(n)} (watermark and primary key columns are always extracted)`);
    }
  }

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
        if (extracted && !extracted.includes(name)) problems.push(`${at}.silver.columns[${k}].name: ${q(name)} is not extracted (not in source.columns)`);
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
    problems.push(`${at}.silver.sequenceColumn: ${q(str(silver.sequenceColumn)!)} is not extracted (not in source.columns)`);
  }

  // Transforms name columns the table has: the declared contract, else the extracted list
  // (a table with neither gets its columns at first sight: checked then, by silver).
  const known: Map<string, string> | undefined = declared ? new Map(types) : extracted ? new Map(extracted.map((c) => [c.toLowerCase(), ''])) : undefined;
  const where = declared ? 'silver.columns' : 'source.columns';
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
 * Sources: names unique; one app setting per source (two names for one database would each get
 * the whole cap); every table names a source that exists. Returns the declared names, or null
 * without a `sources:` block (then only `default` exists).
 */
function sourceRules(raw: Obj, problems: string[]): Set<string> | null {
  if (!Array.isArray(raw.sources)) return null;
  const names = new Map<string, number>();
  const settings = new Map<string, number>();
  raw.sources.forEach((s: unknown, i) => {
    if (!isObj(s)) return;
    const name = str(s.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) problems.push(`sources[${i}].name: duplicate source name ${q(name)} (first at sources[${first}])`);
      else names.set(name, i);
    }
    const setting = isObj(s.url) ? str(s.url.setting) : undefined;
    if (setting !== undefined) {
      const first = settings.get(setting);
      if (first !== undefined) problems.push(`sources[${i}].url.setting: ${q(setting)} is already the setting of sources[${first}]: one database is one source (two would each get the whole maxConnections)`);
      else settings.set(setting, i);
    }
  });
  return new Set(names.keys());
}

function tableSource(t: Obj, i: number, declared: Set<string> | null, problems: string[]): void {
  if (!isObj(t.source)) return;
  const named = str(t.source.name);
  const name = named ?? DEFAULT_SOURCE;
  const known = declared ?? new Set([DEFAULT_SOURCE]);
  if (known.has(name)) return;
  const list = declared ? `sources: ${[...declared].map(q).join(', ') || 'none'}` : `no sources: block, so the only source is ${q(DEFAULT_SOURCE)} (SOURCE_KIND / SOURCE_URL)`;
  if (named !== undefined) problems.push(`tables[${i}].source.name: unknown source ${q(name)} (${list})`);
  else problems.push(`tables[${i}].source.name: is missing, and no source is named ${q(DEFAULT_SOURCE)} (${list})`);
}

export function crossCheck(raw: unknown): string[] {
  const problems: string[] = [];
  const declared = isObj(raw) ? sourceRules(raw, problems) : null;
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
    tableRules(t, i, problems);
    tableSource(t, i, declared, problems);
  });
  return problems;
}
