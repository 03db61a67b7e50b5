import { init as initParser, parse } from '@guanmingchiu/sqlparser-ts';
import type { AllowList } from './goldCatalog.js';
import { FUNCTION_ALLOW_LIST } from './functionAllowList.js';
import { scanSpark } from './sparkLexer.js';

/**
 * The guard between whatever text arrives (a model's answer, a user's own SQL) and the SQL
 * endpoint. It trusts nothing: the text must be one SELECT (CTEs allowed) over allow-listed
 * gold tables and columns, using allow-listed functions and syntax; everything else is refused
 * with a reason. Allowed means listed here, so whatever the parser or Spark adds later is
 * refused until someone decides it is safe.
 *
 * The order matters: a Spark-faithful lexical scan first (comments, backslashes, `${}`: the
 * places where a parser and Spark can disagree about what the text says), then the
 * leading keyword (so DDL, DML, SET and friends are named even where the parser does not know
 * them), then a real parse (sqlparser-rs, Databricks dialect, compiled to WebAssembly), then a
 * walk of the whole tree.
 *
 * What runs is the checked text itself inside `SELECT * FROM (...) LIMIT n`: with no comment
 * and no backslash, the parser and Spark agree on where every string and identifier starts and
 * ends, so the wrapper cannot be escaped.
 */
export type GuardCode =
  | 'empty'
  | 'too_long'
  | 'comment'
  | 'string_escape'
  | 'substitution'
  | 'unparseable'
  | 'multiple_statements'
  | 'not_select'
  | 'syntax_not_allowed'
  | 'file_access'
  | 'table_function'
  | 'table_not_allowed'
  | 'function_not_allowed'
  | 'column_not_allowed'
  | 'unknown_column';

export interface GuardPolicy {
  allow: AllowList;
  /** A three-part name may use this catalog (Unity Catalog in Azure; `spark_catalog` locally). */
  catalog: string;
  /** Rows returned at most; one more is fetched to tell the caller the answer was cut. */
  maxRows: number;
  /** Longest SQL text accepted (characters). */
  maxLength?: number;
}

export type GuardVerdict =
  | { allowed: true; sql: string; executed: string; tables: string[]; maxRows: number }
  | { allowed: false; code: GuardCode; reason: string };

export class GuardRefusal extends Error {
  constructor(
    readonly code: GuardCode,
    reason: string,
  ) {
    super(reason);
    this.name = 'GuardRefusal';
  }
}

/** Storage formats Spark reads straight from a path: `parquet.\`/some/path\``. */
const FILE_FORMATS = new Set(['parquet', 'delta', 'csv', 'json', 'orc', 'text', 'avro', 'binaryfile', 'xml', 'hive', 'jdbc', 'cloudfiles', 'file', 'kafka']);

/** The statement must start like a query; anything else is named by its first words. */
const QUERY_STARTS = new Set(['SELECT', 'WITH']);

/**
 * Every enum variant of sqlparser's AST the guard lets through (a single-key object whose key
 * is the variant name). Anything else — a new variant in a parser update included — is refused.
 */
const ALLOWED_VARIANTS = new Set([
  // statements, query bodies, select items
  'Query', 'Select', 'SetOperation', 'UnnamedExpr', 'ExprWithAlias', 'Wildcard', 'QualifiedWildcard', 'ObjectName',
  // FROM
  'Table', 'Derived', 'NestedJoin', 'Join', 'Inner', 'Left', 'LeftOuter', 'Right', 'RightOuter', 'FullOuter', 'CrossJoin',
  'LeftSemi', 'LeftAnti', 'Semi', 'Anti', 'On', 'Using', 'Natural',
  // expressions
  'Identifier', 'CompoundIdentifier', 'Value', 'Number', 'SingleQuotedString', 'DoubleQuotedString', 'Boolean', 'Null',
  'BinaryOp', 'UnaryOp', 'Nested', 'Function', 'List', 'Unnamed', 'Expr', 'Case', 'Cast', 'IsNull', 'IsNotNull', 'IsTrue',
  'IsFalse', 'IsNotTrue', 'IsNotFalse', 'IsDistinctFrom', 'IsNotDistinctFrom', 'InList', 'InSubquery', 'Between', 'Like',
  'ILike', 'RLike', 'Subquery', 'Exists', 'Interval', 'Extract', 'Ceil', 'Floor', 'Position', 'Substring', 'Trim',
  'TypedString', 'Tuple', 'Lambda', 'One', 'Many', 'CompoundFieldAccess', 'Subscript', 'Index', 'Dot', 'Named',
  // function details, windows, grouping, ordering, limits
  'WindowSpec', 'NamedWindow', 'Expressions', 'All', 'Rollup', 'Cube', 'GroupingSets', 'Distinct', 'FILTER',
  'LimitOffset', 'Rows', 'Range', 'Preceding', 'Following', 'CurrentRow', 'Unbounded', 'OrderBy', 'NamedWindowExpression',
  'NamedWindowDefinition', 'Limit', 'Offset', 'DateTimeField', 'Month', 'Year', 'Day', 'Week', 'Quarter', 'Hour', 'Minute', 'Second',
  // data types in CAST
  'Int', 'Integer', 'BigInt', 'SmallInt', 'TinyInt', 'Float', 'Double', 'Decimal', 'Numeric', 'String', 'Varchar', 'Char', 'Text',
  'Date', 'Timestamp', 'TimestampNtz', 'Bool', 'Precision', 'PrecisionAndScale', 'Custom', 'IntegerLength', 'CharacterLength', 'None',
]);

/** Fields of a SELECT that must stay empty: each would be a side effect or a foreign construct. */
const SELECT_MUST_BE_EMPTY = ['into', 'lateral_views', 'prewhere', 'connect_by', 'cluster_by', 'distribute_by', 'sort_by', 'top', 'value_table_mode', 'exclude'];
/** Fields of a query that must stay empty. */
const QUERY_MUST_BE_EMPTY = ['fetch', 'locks', 'for_clause', 'settings', 'format_clause', 'pipe_operators'];
/** Fields of a FROM table that must stay empty. */
const TABLE_MUST_BE_EMPTY: [string, string][] = [
  ['version', 'time travel (VERSION/TIMESTAMP AS OF)'],
  ['partitions', 'PARTITION selection'],
  ['with_hints', 'table hints'],
  ['sample', 'TABLESAMPLE'],
  ['json_path', 'JSON paths on tables'],
  ['index_hints', 'index hints'],
];

let parserReady: Promise<void> | undefined;

/** Load the parser's WebAssembly once per process. */
export function prepareGuard(): Promise<void> {
  parserReady ??= initParser();
  return parserReady;
}

type Ast = Record<string, unknown>;
const isObj = (v: unknown): v is Ast => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === 'None' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
const variantOf = (v: unknown): [string, unknown] | undefined => {
  if (!isObj(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!) ? [keys[0]!, v[keys[0]!]] : undefined;
};
const identValue = (v: unknown): string => (isObj(v) && typeof v.value === 'string' ? v.value : '');
/** The tree without source positions and keyword tokens (they are not part of the query's meaning). */
const stripPositions = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stripPositions) : isObj(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'span' && !k.endsWith('_token')).map(([k, x]) => [k, stripPositions(x)])) : v;
const spaced = (name: string): string => name.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

/** A relation visible to column references: a gold table, a CTE or a derived table. */
interface Relation {
  /** Names it may be qualified with (alias, or the table's own name). */
  names: string[];
  /** Its columns; null when not all of them can be named (then any name is accepted). */
  columns: Set<string> | null;
  /** For gold tables: the table name, to check hidden columns. */
  gold?: string;
}

interface Scope {
  relations: Relation[];
  /** Select-list aliases (ORDER BY, GROUP BY, HAVING and lateral aliases may use them). */
  aliases: Set<string>;
  lambdas: Set<string>;
  parent?: Scope;
}

class Walker {
  readonly tables = new Set<string>();

  constructor(private readonly policy: GuardPolicy) {}

  fail(code: GuardCode, reason: string): never {
    throw new GuardRefusal(code, reason);
  }

  /** Refuse any enum variant that is not allow-listed, anywhere below `node`. */
  checkVariants(node: unknown): void {
    if (Array.isArray(node)) {
      for (const x of node) this.checkVariants(x);
      return;
    }
    if (!isObj(node)) return;
    const v = variantOf(node);
    if (v && !ALLOWED_VARIANTS.has(v[0])) this.fail('syntax_not_allowed', `${spaced(v[0])} is not allowed in a question's SQL`);
    for (const x of Object.values(node)) this.checkVariants(x);
  }

  /** A whole query (body, CTEs, ORDER BY); returns the names of its output columns (null: not all known). */
  query(q: Ast, parent: Scope | undefined, ctes: Map<string, Relation>): Set<string> | null {
    for (const f of QUERY_MUST_BE_EMPTY) if (!isEmpty(q[f])) this.fail('syntax_not_allowed', `${f.replace(/_/g, ' ').toUpperCase()} is not allowed`);
    const visible = new Map(ctes);
    const withClause = q.with;
    if (isObj(withClause)) {
      if (withClause.recursive === true) this.fail('syntax_not_allowed', 'WITH RECURSIVE is not allowed');
      for (const cte of (withClause.cte_tables as Ast[]) ?? []) {
        const alias = cte.alias as Ast;
        const name = identValue(alias.name).toLowerCase();
        if (!isEmpty(cte.from)) this.fail('syntax_not_allowed', 'CTE FROM clauses are not allowed');
        let cols = this.query(cte.query as Ast, parent, visible);
        const declared = ((alias.columns as Ast[]) ?? []).map((c) => identValue(c.name).toLowerCase());
        if (declared.length) cols = new Set(declared);
        // Later CTEs (and the body) see earlier ones; a CTE's own body does not see itself.
        visible.set(name, { names: [name], columns: cols });
      }
    }
    const { output, scope } = this.setExpr(q.body, parent, visible);
    const orderBy = q.order_by;
    if (isObj(orderBy)) {
      const orderScope: Scope = scope ?? { relations: [], aliases: new Set(output ?? []), lambdas: new Set(), ...(parent ? { parent } : {}) };
      if (!scope && output) for (const o of output) orderScope.aliases.add(o);
      this.exprs(orderBy, orderScope, visible);
    }
    if (!isEmpty(q.limit_clause)) this.exprs(q.limit_clause, { relations: [], aliases: new Set(), lambdas: new Set() }, visible);
    return output;
  }

  private setExpr(body: unknown, parent: Scope | undefined, ctes: Map<string, Relation>): { output: Set<string> | null; scope?: Scope } {
    const v = variantOf(body);
    if (!v) this.fail('syntax_not_allowed', 'the query has no SELECT');
    const [kind, inner] = v;
    if (kind === 'Select') return this.select(inner as Ast, parent, ctes);
    if (kind === 'Query') return { output: this.query(inner as Ast, parent, ctes) };
    if (kind === 'SetOperation') {
      const s = inner as Ast;
      const left = this.setExpr(s.left, parent, ctes);
      this.setExpr(s.right, parent, ctes);
      return { output: left.output };
    }
    if (kind === 'Values') this.fail('not_select', 'VALUES is not a SELECT over gold');
    if (kind === 'Table') this.fail('not_select', 'TABLE <name> is not allowed; write SELECT ... FROM');
    return this.fail('not_select', `${spaced(kind)} is not a SELECT`);
  }

  private select(s: Ast, parent: Scope | undefined, ctes: Map<string, Relation>): { output: Set<string> | null; scope: Scope } {
    for (const f of SELECT_MUST_BE_EMPTY) {
      if (!isEmpty(s[f])) this.fail('syntax_not_allowed', `${f === 'into' ? 'SELECT INTO' : f.replace(/_/g, ' ').toUpperCase()} is not allowed`);
    }
    if (!isEmpty(s.optimizer_hints)) this.fail('comment', 'optimizer hints are not allowed');
    const scope: Scope = { relations: [], aliases: new Set(), lambdas: new Set(), ...(parent ? { parent } : {}) };
    for (const twj of (s.from as Ast[]) ?? []) this.tableWithJoins(twj, scope, ctes);
    // Aliases first: Spark lets later select items, GROUP BY, HAVING and ORDER BY use them.
    for (const item of (s.projection as unknown[]) ?? []) {
      const v = variantOf(item);
      if (v?.[0] === 'ExprWithAlias') scope.aliases.add(identValue((v[1] as Ast).alias).toLowerCase());
    }
    const output = new Set<string>();
    let known = true;
    for (const item of (s.projection as unknown[]) ?? []) {
      const v = variantOf(item);
      if (!v) {
        this.fail('syntax_not_allowed', `select item ${JSON.stringify(item).slice(0, 40)} is not allowed`);
      }
      const [kind, inner] = v;
      if (kind === 'UnnamedExpr') {
        this.expr(inner, scope, ctes);
        const name = columnName(inner);
        if (name) output.add(name);
        else known = false;
      } else if (kind === 'ExprWithAlias') {
        this.expr((inner as Ast).expr, scope, ctes);
        output.add(identValue((inner as Ast).alias).toLowerCase());
      } else if (kind === 'Wildcard' || kind === 'QualifiedWildcard') {
        const qualifier = kind === 'QualifiedWildcard' ? lastPart((inner as unknown[])[0]) : undefined;
        const opts = kind === 'Wildcard' ? (inner as Ast) : ((inner as unknown[])[1] as Ast);
        if (isObj(opts) && Object.values(opts).some((x) => !isEmpty(x))) this.fail('syntax_not_allowed', 'SELECT * EXCEPT/REPLACE/RENAME is not allowed; name the columns');
        const rels = qualifier ? scope.relations.filter((r) => r.names.includes(qualifier)) : scope.relations;
        if (qualifier && rels.length === 0) this.fail('unknown_column', `no table or alias named ${qualifier} for ${qualifier}.*`);
        if (rels.length === 0) this.fail('syntax_not_allowed', 'SELECT * needs a FROM');
        for (const r of rels) {
          const hidden = r.gold ? [...(this.policy.allow.hidden.get(r.gold) ?? [])] : [];
          if (hidden.length) this.fail('column_not_allowed', `${qualifier ?? ''}${qualifier ? '.' : ''}* would return ${r.gold}.${hidden.join(', ')}, which the question box does not show; name the columns`);
          if (r.columns) for (const c of r.columns) output.add(c);
          else known = false;
        }
      } else {
        this.fail('syntax_not_allowed', `select item ${spaced(kind)} is not allowed`);
      }
    }
    for (const f of ['selection', 'having', 'qualify', 'group_by', 'named_window']) if (!isEmpty(s[f])) this.exprs(s[f], scope, ctes);
    return { output: known ? output : null, scope };
  }

  private tableWithJoins(twj: Ast, scope: Scope, ctes: Map<string, Relation>): void {
    this.tableFactor(twj.relation, scope, ctes);
    for (const j of (twj.joins as Ast[]) ?? []) {
      this.tableFactor(j.relation, scope, ctes);
      // ON conditions see every relation joined so far.
      this.exprs(j.join_operator, scope, ctes);
    }
  }

  private tableFactor(tf: unknown, scope: Scope, ctes: Map<string, Relation>): void {
    const v = variantOf(tf);
    if (!v) this.fail('syntax_not_allowed', 'unexpected FROM item');
    const [kind, inner] = v as [string, Ast];
    const alias = isObj(inner.alias) ? identValue(inner.alias.name).toLowerCase() : undefined;
    if (isObj(inner.alias) && !isEmpty(inner.alias.columns)) this.fail('syntax_not_allowed', 'column aliases on FROM items are not allowed');
    if (kind === 'Table') {
      const parts = ((inner.name as unknown[]) ?? []).map((p) => identValue(variantOf(p)?.[1]).toLowerCase());
      const display = parts.join('.');
      if (!isEmpty(inner.args)) this.fail('table_function', `table-valued function ${display}(...) is not allowed: only gold tables may be read`);
      for (const [f, what] of TABLE_MUST_BE_EMPTY) if (!isEmpty(inner[f])) this.fail('syntax_not_allowed', `${what} is not allowed`);
      if (parts.length === 2 && (FILE_FORMATS.has(parts[0]!) || /[/:\\]/.test(parts[1]!))) {
        this.fail('file_access', `${display} reads files by path; only gold tables may be read`);
      }
      if (parts.length === 1 && ctes.has(parts[0]!)) {
        const cte = ctes.get(parts[0]!)!;
        scope.relations.push({ names: [alias ?? parts[0]!], columns: cte.columns });
        return;
      }
      const table = this.goldTable(parts, display);
      this.tables.add(table);
      const columns = new Set([...(this.policy.allow.tables.get(table) ?? []), ...(this.policy.allow.hidden.get(table) ?? [])]);
      scope.relations.push({ names: alias ? [alias] : [table, display], columns, gold: table });
      return;
    }
    if (kind === 'Derived') {
      if (inner.lateral === true) this.fail('syntax_not_allowed', 'LATERAL subqueries are not allowed');
      const cols = this.query(inner.subquery as Ast, scope.parent, ctes);
      scope.relations.push({ names: alias ? [alias] : [], columns: cols });
      return;
    }
    if (kind === 'NestedJoin') {
      if (alias) this.fail('syntax_not_allowed', 'aliases on parenthesised joins are not allowed');
      this.tableWithJoins(inner.table_with_joins as Ast, scope, ctes);
      return;
    }
    if (kind === 'TableFunction' || kind === 'Function' || kind === 'UNNEST' || kind === 'JsonTable' || kind === 'OpenJsonTable') {
      this.fail('table_function', `${spaced(kind)} in FROM is not allowed: only gold tables may be read`);
    }
    this.fail('syntax_not_allowed', `${spaced(kind)} in FROM is not allowed`);
  }

  /** `dim_user`, `gold.dim_user` or `<catalog>.gold.dim_user` -> `dim_user`, when allowed. */
  private goldTable(parts: string[], display: string): string {
    const schema = this.policy.allow.schema;
    const table = parts[parts.length - 1]!;
    const qualifiers = parts.slice(0, -1);
    if (qualifiers.length === 2 && qualifiers[0] !== this.policy.catalog.toLowerCase()) {
      this.fail('table_not_allowed', `${display}: catalog ${qualifiers[0]} is not allowed; use ${schema}.<table>`);
    }
    if (qualifiers.length > 2) this.fail('table_not_allowed', `${display} is not a table name`);
    const sch = qualifiers[qualifiers.length - 1];
    if (sch !== undefined && sch !== schema) this.fail('table_not_allowed', `${display}: schema ${sch} is not allowed; only ${schema} tables may be read`);
    const absent = this.policy.allow.absent.get(table);
    if (absent !== undefined) this.fail('table_not_allowed', `${display} does not exist in this deployment: ${absent}`);
    if (!this.policy.allow.tables.has(table)) {
      this.fail('table_not_allowed', `${display} is not a ${schema} table the question box may read (allowed: ${[...this.policy.allow.tables.keys()].join(', ')})`);
    }
    return table;
  }

  /** Walk every expression below `node` (any shape), resolving columns and checking functions. */
  private exprs(node: unknown, scope: Scope, ctes: Map<string, Relation>): void {
    if (Array.isArray(node)) {
      for (const x of node) this.exprs(x, scope, ctes);
      return;
    }
    if (!isObj(node)) return;
    const v = variantOf(node);
    if (v) {
      this.expr(node, scope, ctes);
      return;
    }
    for (const x of Object.values(node)) this.exprs(x, scope, ctes);
  }

  private expr(node: unknown, scope: Scope, ctes: Map<string, Relation>): void {
    const v = variantOf(node);
    if (!v) {
      this.exprs(node, scope, ctes);
      return;
    }
    const [kind, inner] = v;
    switch (kind) {
      case 'Identifier':
        this.column([identValue(inner).toLowerCase()], scope);
        return;
      case 'CompoundIdentifier':
        this.column((inner as unknown[]).map((p) => identValue(p).toLowerCase()), scope);
        return;
      case 'Function':
        this.func(inner as Ast, scope, ctes);
        return;
      case 'Lambda': {
        const l = inner as Ast;
        const params = variantOf(l.params);
        const names = params ? (Array.isArray(params[1]) ? (params[1] as Ast[]) : [params[1] as Ast]).map((p) => identValue(p.name ?? p).toLowerCase()) : [];
        this.exprs(l.body, { ...scope, lambdas: new Set([...scope.lambdas, ...names]) }, ctes);
        return;
      }
      case 'Subquery':
        this.query(inner as Ast, scope, ctes);
        return;
      case 'Exists':
        this.query((inner as Ast).subquery as Ast, scope, ctes);
        return;
      case 'InSubquery':
        this.expr((inner as Ast).expr, scope, ctes);
        this.query((inner as Ast).subquery as Ast, scope, ctes);
        return;
      case 'Value':
      case 'TypedString':
        return;
      default:
        this.exprs(inner, scope, ctes);
    }
  }

  private func(f: Ast, scope: Scope, ctes: Map<string, Relation>): void {
    const parts = ((f.name as unknown[]) ?? []).map((p) => identValue(variantOf(p)?.[1]).toLowerCase());
    const name = parts.join('.');
    if (parts.length !== 1 || !FUNCTION_ALLOW_LIST.has(name)) {
      this.fail('function_not_allowed', `function ${name}() is not allowed in a question's SQL`);
    }
    if (!isEmpty(f.within_group)) this.exprs(f.within_group, scope, ctes);
    for (const k of ['args', 'filter', 'over', 'null_treatment', 'parameters']) if (!isEmpty(f[k])) this.exprs(f[k], scope, ctes);
  }

  /** A column reference: bare, or qualified by a table, alias or `schema.table`. */
  private column(parts: string[], scope: Scope): void {
    const col = parts[parts.length - 1]!;
    const qualifier = parts.length > 1 ? parts.slice(0, -1).join('.') : undefined;
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (!qualifier && (s.lambdas.has(col))) return;
      const candidates = qualifier ? s.relations.filter((r) => r.names.includes(qualifier)) : s.relations;
      for (const r of candidates) {
        if (r.columns !== null && !r.columns.has(col)) continue;
        if (r.gold && this.policy.allow.hidden.get(r.gold)?.has(col)) {
          this.fail('column_not_allowed', `column ${r.gold}.${col} is not available to the question box`);
        }
        return;
      }
      if (qualifier && candidates.length > 0) {
        const r = candidates[0]!;
        this.fail('unknown_column', `unknown column ${qualifier}.${col}${r.gold ? ` (${r.gold} has ${[...(this.policy.allow.tables.get(r.gold) ?? [])].join(', ')})` : ''}`);
      }
      if (!qualifier && s.aliases.has(col)) return;
    }
    if (qualifier) this.fail('unknown_column', `${qualifier}.${col}: no table or alias named ${qualifier} in this query`);
    const golds = scope.relations.filter((r) => r.gold).map((r) => `${r.gold} (${[...(this.policy.allow.tables.get(r.gold!) ?? [])].join(', ')})`);
    this.fail('unknown_column', `unknown column ${col}${golds.length ? `; the tables here have: ${golds.join('; ')}` : ''}`);
  }
}

function lastPart(objectName: unknown): string {
  const v = variantOf(objectName);
  const parts = (v ? (v[1] as unknown[]) : (objectName as unknown[])) ?? [];
  return identValue(variantOf(parts[parts.length - 1])?.[1]).toLowerCase();
}

/** The output name Spark gives an unaliased select item, when it is a plain column. */
function columnName(expr: unknown): string | undefined {
  const v = variantOf(expr);
  if (!v) return undefined;
  if (v[0] === 'Identifier') return identValue(v[1]).toLowerCase();
  if (v[0] === 'CompoundIdentifier') {
    const parts = v[1] as unknown[];
    return identValue(parts[parts.length - 1]).toLowerCase();
  }
  return undefined;
}

/** Check `text`; never throws for bad input (the verdict says why), only for a broken parser. */
export async function guardSql(text: string, policy: GuardPolicy): Promise<GuardVerdict> {
  await prepareGuard();
  try {
    return checkSql(text, policy);
  } catch (err) {
    if (err instanceof GuardRefusal) return { allowed: false, code: err.code, reason: err.message };
    throw err;
  }
}

function checkSql(text: string, policy: GuardPolicy): GuardVerdict {
  const fail = (code: GuardCode, reason: string): never => {
    throw new GuardRefusal(code, reason);
  };
  const maxLength = policy.maxLength ?? 20_000;
  if (text.trim() === '') fail('empty', 'no SQL was given');
  if (text.length > maxLength) fail('too_long', `the SQL is ${text.length} characters long; at most ${maxLength} are accepted`);

  const lex = scanSpark(text);
  const finding = (k: string) => lex.findings.find((f) => f.kind === k);
  const sub = finding('substitution');
  if (sub) fail('substitution', `${sub.detail} at offset ${sub.at} is not allowed: Spark would replace it with a setting's value`);
  const comment = finding('comment');
  if (comment) fail('comment', `${comment.detail} at offset ${comment.at}: comments are not allowed (they can hide statements from the reader)`);
  const escape = finding('escape');
  if (escape) fail('string_escape', `${escape.detail} at offset ${escape.at}: backslashes in quoted text are not allowed (parsers and Spark read them differently)`);
  const open = finding('unterminated');
  if (open) fail('unparseable', `${open.detail} (offset ${open.at})`);

  // Terminators: one trailing `;` is tolerated; anything after a `;` is a second statement.
  const trimmed = text.trimEnd();
  const body = lex.semicolons.length && lex.semicolons[lex.semicolons.length - 1] === trimmed.length - 1 ? trimmed.slice(0, -1) : trimmed;
  const innerSemis = lex.semicolons.filter((p) => p < body.length);
  if (innerSemis.length) fail('multiple_statements', `only one statement is allowed; found a ";" at offset ${innerSemis[0]} followed by more`);

  const first = lex.words[0];
  const leading = body.trimStart()[0];
  if (leading !== '(' && (!first || !QUERY_STARTS.has(first))) {
    fail('not_select', `${lex.words.slice(0, 2).join(' ') || 'this'} is not a query: only SELECT (with optional WITH) is allowed`);
  }

  let statements: unknown[];
  try {
    statements = (parse(body, 'databricks') as unknown[]).map(stripPositions);
  } catch (err) {
    fail('unparseable', `cannot parse the SQL: ${(err as Error).message.replace(/^sql parser error: /, '')}`);
  }
  if (statements!.length !== 1) fail('multiple_statements', `only one statement is allowed; found ${statements!.length}`);
  const stmt = variantOf(statements![0]);
  if (!stmt || stmt[0] !== 'Query') fail('not_select', `${spaced(stmt?.[0] ?? 'this statement')} is not a query: only SELECT is allowed`);

  const walker = new Walker(policy);
  walker.checkVariants(stmt![1]);
  walker.query(stmt![1] as Ast, undefined, new Map());
  if (walker.tables.size === 0) fail('table_not_allowed', `the query reads no ${policy.allow.schema} table`);
  const limit = policy.maxRows + 1;
  return {
    allowed: true,
    sql: body.trim(),
    executed: `SELECT * FROM (\n${body.trim()}\n) AS soundlake_answer LIMIT ${limit}`,
    tables: [...walker.tables].sort(),
    maxRows: policy.maxRows,
  };
}
