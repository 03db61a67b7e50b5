import { z } from 'zod';
import { SQL_IDENTIFIER, SQL_IDENTIFIER_RULE, TABLE_NAME, TABLE_NAME_RULE } from './identifiers.js';

/**
 * The table catalog (soundlake.yaml) as ONE schema: zod validates it here, and the JSON Schema
 * generated from it (`catalogJsonSchema()`, written to databricks/src/soundlake/conf/
 * catalog.schema.json by `npm run catalog:schema`) is what the Python side validates with.
 *
 * Messages that are not plain type/required/enum problems are carried into the JSON Schema under
 * `x-messages` (keyed by the JSON Schema keyword that fails), so both sides word them alike.
 * Facts the cross-field rules need about transforms (which column types they take, which column
 * they add) travel the same way, under `x-transform`.
 */

/** A string check whose failure message both languages share. */
function pattern(re: RegExp, message: string): z.ZodString {
  return z.string().regex(re, message).meta({ 'x-messages': { pattern: message } });
}

export const SQL_IDENTIFIER_MESSAGE = `must be a SQL identifier: ${SQL_IDENTIFIER_RULE}`;

const sqlIdentifier = (): z.ZodString => pattern(SQL_IDENTIFIER, SQL_IDENTIFIER_MESSAGE);
/** Bronze and silver table names become folder names, state keys and Unity Catalog names: keep them boring. */
const tableName = (layer: 'bronze' | 'silver'): z.ZodString => pattern(TABLE_NAME, `must be a ${layer} table name: ${TABLE_NAME_RULE}`);
/** Source names become Table Storage partition keys (the source's connection slots) and log fields: the table-name rule. */
const sourceName = (): z.ZodString => pattern(TABLE_NAME, `must be a source name: ${TABLE_NAME_RULE}`);

/**
 * The app setting that holds a source's URL or ADO.NET string (app settings are environment
 * variables, on Linux plans limited to letters, digits, periods and underscores; periods are left
 * out so a shell can name them too). The catalog names the setting, never the secret.
 */
export const APP_SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
export const APP_SETTING_RULE = 'letters, digits and underscores, starting with a letter, at most 128 characters';
const appSettingName = (): z.ZodString => pattern(APP_SETTING_NAME, `must be an app setting name: ${APP_SETTING_RULE}`);

/** A non-empty list whose "too short" message both languages share. */
function nonEmpty<T extends z.ZodType>(item: T, message: string): z.ZodArray<T> {
  return z.array(item).min(1, message).meta({ 'x-messages': { minItems: message } });
}

export const WATERMARK_KINDS = ['timestamp', 'rowversion', 'integer'] as const;
export type WatermarkKind = (typeof WATERMARK_KINDS)[number];

/**
 * Silver column types: the Spark types bronze's Parquet maps to (docs/bronze-layout.md), spelled
 * as Spark's `simpleString()` spells them. Decimal precision 1-38, scale up to the precision (the
 * latter is a cross-field rule).
 */
export const COLUMN_TYPE = /^(int|smallint|bigint|float|double|boolean|string|binary|date|timestamp|decimal\(([1-9]|[12][0-9]|3[0-8]),([0-9]|[12][0-9]|3[0-8])\))$/;
const COLUMN_TYPE_MESSAGE = 'must be a silver column type: int, smallint, bigint, float, double, decimal(p,s), boolean, string, binary, date or timestamp';

/**
 * The silver transforms, by name: each is a pure function in databricks/src/soundlake/silver/
 * transforms.py taking the columns named here (a test holds the two lists together).
 * `columnTypes`: the types `column` may have ("decimal" is any decimal(p,s));
 * `adds`: the column it adds (`into`, default `default`) and that column's type.
 */
export interface TransformFacts {
  columnTypes: string[];
  adds?: { field: 'into'; default: string; type: string };
}
const NUMERIC = ['smallint', 'int', 'bigint', 'float', 'double', 'decimal'];
export const TRANSFORMS: Record<string, TransformFacts> = {
  upper: { columnTypes: ['string'] },
  strip_special_characters: { columnTypes: ['string'] },
  duration_flag: { columnTypes: NUMERIC, adds: { field: 'into', default: 'duration_flag', type: 'string' } },
};

function transform<N extends string>(name: N, withInto: boolean) {
  const shape = { fn: z.literal(name), column: sqlIdentifier(), ...(withInto ? { into: sqlIdentifier().optional() } : {}) };
  return z.object(shape).strict().meta({ 'x-transform': TRANSFORMS[name] });
}

const transformSchema = z.discriminatedUnion('fn', [
  transform('upper', false),
  transform('strip_special_characters', false),
  transform('duration_flag', true),
]);

const silverSchema = z
  .object({
    /** The silver table (default: the bronze name); also names its _changes, _rescued and _ingest_log tables. */
    name: tableName('silver').optional(),
    /** Orders versions of a key (default: the watermark column). */
    sequenceColumn: sqlIdentifier().optional(),
    /** The column contract; without it, the columns and types of bronze's manifests at first sight, then held. */
    columns: nonEmpty(z.object({ name: sqlIdentifier(), type: pattern(COLUMN_TYPE, COLUMN_TYPE_MESSAGE) }).strict(), 'needs at least one column').optional(),
    /** Applied in order to every micro-batch. */
    transforms: z.array(transformSchema).optional(),
  })
  .strict();

const tuning = {
  /** Rows per Parquet file; a slice larger than this is split into parts, each committed on its own. */
  maxRowsPerFile: z.number().int().min(1).max(50_000_000),
  /** Rows per Parquet row group, fewer when they reach 4 MiB before compression (memory per open file is about two row groups). */
  rowGroupRows: z.number().int().min(1).max(10_000_000),
  /** Upper bound for timestamp watermarks is now - lag: rows from transactions that commit late are not skipped. */
  lagSeconds: z.number().min(0).max(86_400),
};

/** A setting's NAME: the app setting (Key Vault reference in Azure) holding a value the catalog must not. */
const settingRef = () => z.object({ setting: appSettingName() }).strict();

/** The source a table names when it names none: the deployment's SQL source (SOURCE_KIND / SOURCE_URL). */
export const DEFAULT_SOURCE = 'default';
/** Most connection slots a source may have (slot row keys are four digits). */
export const MAX_SOURCE_CONNECTIONS = 1000;

export const SOURCE_KINDS = ['postgres', 'mssql', 'http', 'rest'] as const;
export const REST_AUTH_TYPES = ['client_credentials', 'bearer', 'none'] as const;
export const PAGINATION_TYPES = ['next_url', 'offset', 'cursor', 'none'] as const;
const httpUrl = () => pattern(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL');
/** A dotted path into a JSON document: `tracks.items`, `album.release_date`. */
const jsonPath = () => pattern(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a dotted path such as tracks.items');
export type CatalogSourceKind = (typeof SOURCE_KINDS)[number];

/**
 * The named sources tables read from (`tables[].source.name`; a table naming none reads
 * `default`, the deployment's SQL source: SOURCE_KIND / SOURCE_URL). One object for every kind;
 * which fields a kind takes is a cross-field rule (catalogRules.ts), so problems read alike in
 * both languages.
 */
const sourceEntrySchema = z
  .object({
    name: sourceName(),
    kind: z.enum(SOURCE_KINDS),
    /** SQL: the NAME of the app setting holding the URL / ADO.NET string (in Azure: a Key Vault reference); `default`: SOURCE_URL when absent. */
    url: settingRef().optional(),
    /** SQL: sessions this source may see from every instance together (its connection slots); `default`: SOURCE_MAX_CONNECTIONS when absent. */
    maxConnections: z.number().int().min(1).max(MAX_SOURCE_CONNECTIONS).optional(),
    /** http, rest: the base the tables' relative `urls` / `endpoint` resolve against; a URL, or the setting holding one (so one catalog serves the real host and a local stand-in). */
    baseUrl: z.union([httpUrl(), settingRef()]).optional(),
    /** rest: how requests authenticate. Secrets are always settings (Key Vault references in Azure). */
    auth: z
      .object({
        type: z.enum(REST_AUTH_TYPES),
        /** client_credentials: the token endpoint (OAuth 2.0, RFC 6749 section 4.4). */
        tokenUrl: z.union([httpUrl(), settingRef()]).optional(),
        clientId: settingRef().optional(),
        clientSecret: settingRef().optional(),
        /** bearer: the setting holding the token. */
        token: settingRef().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const FILE_FORMATS = ['csv', 'jsonl', 'json', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];
/** Types a file's fields may be declared with (Spark's spelling; the Parquet of each is in docs/bronze-layout.md). */
export const FIELD_TYPES = ['string', 'int', 'bigint', 'double', 'boolean', 'date', 'timestamp'] as const;

/** CSV dialect: what the parser (csv-parse) is told. */
const csvSchema = z
  .object({
    /** The first record names the columns (default true); false needs `fields`. */
    header: z.boolean().optional(),
    delimiter: z.string().min(1).max(4).optional(),
    quote: z.string().length(1).optional(),
    escape: z.string().length(1).optional(),
    /** Any encoding iconv-lite knows, e.g. utf-8 (default), latin1, windows-1252, utf-16le. */
    encoding: pattern(/^[A-Za-z0-9_-]{2,32}$/, 'must be an encoding name such as utf-8, latin1 or windows-1252').optional(),
  })
  .strict();

/**
 * Where a table's rows come from. SQL sources take schema/table (+ columns, timeZone); http
 * sources take urls and format (+ csv, fields). One object, the fields of each kind grouped;
 * which kind a table reads is its source's (`name`, default `default`): a cross-field rule.
 */
const sourceSchema = z
  .object({
    /** The source in `sources:` (default `default`, the deployment's SQL source). */
    name: sourceName().optional(),
    schema: sqlIdentifier().optional(),
    table: sqlIdentifier().optional(),
    /** Extract only these columns (default: all). */
    columns: nonEmpty(sqlIdentifier(), 'needs at least one column').optional(),
    /** SQL Server: the zone the table's datetime/datetime2/smalldatetime values are written in (a sys.time_zone_info name). */
    timeZone: pattern(/^[A-Za-z][A-Za-z0-9 .+()/_-]{0,63}$/, 'must be a time zone name as SQL Server spells it, e.g. "W. Europe Standard Time" or "UTC"').optional(),
    /** http: the files of the table, absolute or relative to the source's baseUrl; together they are one snapshot. */
    // At most 100: the table's version (a few hundred characters per file) lives in one Table Storage property (32K characters).
    urls: nonEmpty(pattern(/^[^\s]+$/, 'must be a URL without white space'), 'needs at least one URL').max(100).optional(),
    /** http: csv, jsonl (one JSON object per line), json (an array of objects), parquet. */
    format: z.enum(FILE_FORMATS).optional(),
    csv: csvSchema.optional(),
    /** http: the record fields and their types (without them, inferred at first sight and then held); rest: required. `path`: where in the record (default: the name); rest: `$position` is the record's 1-based position in the pull, across pages. */
    fields: nonEmpty(z.object({ name: sqlIdentifier(), type: z.enum(FIELD_TYPES), path: jsonPath().optional() }).strict(), 'needs at least one field').optional(),
    /** rest: the endpoint, relative to the source's baseUrl (a query string may follow). */
    endpoint: pattern(/^[^\s]+$/, 'must be a path without white space').optional(),
    /** rest: query parameters. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** rest: where the records are in each response (default: the response is the list). */
    records: jsonPath().optional(),
    /** rest: how to get the next page. */
    paginate: z
      .object({
        type: z.enum(PAGINATION_TYPES),
        /** next_url: where the next page's URL is; cursor: where the next cursor is. */
        next: jsonPath().optional(),
        /** offset: the offset parameter (default offset); cursor: the cursor parameter (default after). */
        param: z.string().min(1).max(64).optional(),
        /** offset: the page size, sent as `limitParam` (default limit). */
        limit: z.number().int().min(1).max(10_000).optional(),
        limitParam: z.string().min(1).max(64).optional(),
        /** At most this many pages per pull (default 100): a bound on a misbehaving API. */
        maxPages: z.number().int().min(1).max(100_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const tableSchema = z
  .object({
    /** The bronze table: folder name and state key. */
    name: tableName('bronze'),
    source: sourceSchema,
    /** SQL tables: required. File and REST tables: none (each slice is a snapshot stamped `_loaded_at`). */
    watermark: z.object({ column: sqlIdentifier(), kind: z.enum(WATERMARK_KINDS) }).strict().optional(),
    primaryKey: nonEmpty(sqlIdentifier(), 'needs at least one column'),
    /** false: extraction pauses; what is in bronze and silver stays. */
    enabled: z.boolean().default(true),
    maxRowsPerFile: tuning.maxRowsPerFile.optional(),
    rowGroupRows: tuning.rowGroupRows.optional(),
    lagSeconds: tuning.lagSeconds.optional(),
    silver: silverSchema.optional(),
  })
  .strict();

export const catalogSchema = z
  .object({
    version: z.literal(1),
    defaults: z
      .object({
        maxRowsPerFile: tuning.maxRowsPerFile.default(1_000_000),
        rowGroupRows: tuning.rowGroupRows.default(65_536),
        lagSeconds: tuning.lagSeconds.default(30),
      })
      .strict()
      .prefault({}),
    /** The sources tables read; a table naming none reads `default`, the deployment's SQL source (SOURCE_KIND / SOURCE_URL). */
    sources: z.array(sourceEntrySchema).optional(),
    tables: nonEmpty(tableSchema, 'list at least one table'),
  })
  .strict();

export type RawCatalog = z.output<typeof catalogSchema>;
export type RawTable = RawCatalog['tables'][number];
export type RawSource = NonNullable<RawCatalog['sources']>[number];

/** The JSON Schema of soundlake.yaml (draft 2020-12), generated from the zod schema above. */
export function catalogJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(catalogSchema, { io: 'input' }),
    title: 'soundlake table catalog (soundlake.yaml)',
    description: 'Generated from shared/config/catalogSchema.ts by `npm run catalog:schema`; do not edit.',
  };
}

/** Where the generated JSON Schema lives: packaged in the soundlake wheel, read by its catalog loader. */
export const CATALOG_JSON_SCHEMA_PATH = 'databricks/src/soundlake/conf/catalog.schema.json';

export function renderCatalogJsonSchema(): string {
  return `${JSON.stringify(catalogJsonSchema(), null, 2)}\n`;
}
