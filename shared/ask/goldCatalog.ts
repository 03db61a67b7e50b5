import generated from './goldSchema.json' with { type: 'json' };

/**
 * The gold catalogue the question box knows: generated from the gold definitions by
 * `python -m soundlake.serving.catalog --write shared/ask/goldSchema.json` (never edited by
 * hand; a pytest fails when it drifts, and the endpoint test compares it with the live tables).
 */
export interface GoldColumn {
  name: string;
  type: string;
  description: string;
}

export interface GoldTable {
  name: string;
  description: string;
  /** Built only where the deployment's catalog has this silver table (the Spotify daily pull's). */
  requires?: { silver: string };
  columns: GoldColumn[];
}

export interface GoldCatalog {
  schema: string;
  tables: GoldTable[];
  /** Gold tables this deployment does not build, with why (the guard's answer when one is named). */
  absent?: { name: string; reason: string }[];
}

/** Every gold table any deployment can have, conditional ones included. */
export const goldCatalog: GoldCatalog = generated;

/**
 * The gold tables a deployment has: the catalogue less the tables whose `requires.silver` is not
 * a silver table of the deployment's catalog (soundlake.yaml, the file the bundle's catalog
 * mutator reads when it switches gold's Spotify facts on or off).
 */
export function deployedCatalog(catalog: GoldCatalog, silverTables: ReadonlySet<string>): GoldCatalog {
  const has = (t: GoldTable): boolean => t.requires === undefined || silverTables.has(t.requires.silver);
  return {
    schema: catalog.schema,
    tables: catalog.tables.filter(has),
    absent: catalog.tables.filter((t) => !has(t)).map((t) => ({
      name: t.name,
      reason: `it is built only where the table catalog has the silver table ${t.requires!.silver}, and this deployment's catalog has none`,
    })),
  };
}

/**
 * Columns the question box never shows, even though BI users may read them through the SQL
 * endpoint: personal data that no aggregate question needs.
 */
export const DEFAULT_HIDDEN_COLUMNS = ['dim_user.user_name'];

/** What the guard allows: tables and columns by lower-case name. Anything not here is denied. */
export interface AllowList {
  schema: string;
  /** allowed table -> its allowed columns */
  tables: Map<string, Set<string>>;
  /** allowed table -> columns it has that are not allowed */
  hidden: Map<string, Set<string>>;
  /** gold table this deployment does not build -> why */
  absent: Map<string, string>;
}

export function allowList(catalog: GoldCatalog, hiddenColumns: string[] = DEFAULT_HIDDEN_COLUMNS): AllowList {
  const hide = new Set(hiddenColumns.map((c) => c.toLowerCase()));
  for (const h of hide) {
    const [t, c] = h.split('.');
    if (!catalog.tables.some((x) => x.name === t && x.columns.some((y) => y.name.toLowerCase() === c))) {
      throw new Error(`hidden column ${h} is not a gold column (expected table.column)`);
    }
  }
  const tables = new Map<string, Set<string>>();
  const hidden = new Map<string, Set<string>>();
  for (const t of catalog.tables) {
    const cols = t.columns.map((c) => c.name.toLowerCase());
    tables.set(t.name, new Set(cols.filter((c) => !hide.has(`${t.name}.${c}`))));
    hidden.set(t.name, new Set(cols.filter((c) => hide.has(`${t.name}.${c}`))));
  }
  return { schema: catalog.schema, tables, hidden, absent: new Map((catalog.absent ?? []).map((a) => [a.name, a.reason])) };
}

/** The schema as the prompt gives it to the model: allowed tables and columns only. */
export function describeForPrompt(catalog: GoldCatalog, allow: AllowList): string {
  const lines: string[] = [];
  for (const t of catalog.tables) {
    const cols = allow.tables.get(t.name);
    if (!cols) continue;
    lines.push(`TABLE ${catalog.schema}.${t.name} -- ${t.description}`);
    for (const c of t.columns) if (cols.has(c.name.toLowerCase())) lines.push(`  ${c.name} ${c.type} -- ${c.description}`);
  }
  return lines.join('\n');
}
