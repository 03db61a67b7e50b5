/**
 * Just enough of a Bicep reader for structural tests, since the Bicep compiler cannot run here:
 * a tokenizer (comments, strings with interpolation, multi-line strings), top-level declarations
 * (param, var, module, resource, output, import, using) and values (objects, arrays, for-loops,
 * strings, other expressions kept as text). Plus a small evaluator for the expressions the
 * templates use in names and settings (identifiers, member access, interpolation, string()).
 */

export type StrPart = string | { expr: string };

export type Tok =
  | { t: 'str'; parts: StrPart[]; raw: string; line: number }
  | { t: 'id'; v: string; line: number }
  | { t: 'num'; v: string; line: number }
  | { t: 'p'; v: string; line: number }
  | { t: 'nl'; line: number };

export type Value =
  | { kind: 'object'; props: Map<string, Value>; line: number }
  | { kind: 'array'; items: Value[]; line: number }
  | { kind: 'for'; item: string; source: string; body: Value; line: number }
  | { kind: 'if'; cond: string; body: Value; line: number }
  | { kind: 'string'; parts: StrPart[]; line: number }
  | { kind: 'expr'; text: string; line: number };

export interface Decl {
  kind: string;
  name: string;
  decorators: string[];
  line: number;
  /** param/output: the type text; module/resource: the path or type string. */
  type?: string;
  /** param: has `= default`. */
  hasDefault?: boolean;
  /** resource: declared `existing`. */
  existing?: boolean;
  value?: Value;
}

export interface BicepFile {
  path: string;
  text: string;
  decls: Decl[];
}

const OPEN = new Set(['(', '[', '{']);
const CLOSE = new Set([')', ']', '}']);

function readString(src: string, start: number): { parts: StrPart[]; end: number } {
  const parts: StrPart[] = [];
  let buf = '';
  let j = start + 1;
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", $: '$' };
  for (;;) {
    if (j >= src.length) throw new Error(`unterminated string at offset ${start}`);
    const ch = src[j]!;
    if (ch === '\\') {
      buf += escapes[src[j + 1]!] ?? src[j + 1]!;
      j += 2;
    } else if (ch === "'") {
      if (buf || parts.length === 0) parts.push(buf);
      return { parts, end: j + 1 };
    } else if (src.startsWith('${', j)) {
      let k = j + 2;
      let depth = 1;
      while (depth > 0) {
        if (k >= src.length) throw new Error(`unterminated interpolation at offset ${j}`);
        const c = src[k]!;
        if (c === "'") {
          k = readString(src, k).end;
          continue;
        }
        if (c === '{') depth++;
        if (c === '}') depth--;
        k++;
      }
      if (buf) parts.push(buf);
      buf = '';
      parts.push({ expr: src.slice(j + 2, k - 1).trim() });
      j = k;
    } else {
      buf += ch;
      j++;
    }
  }
}

export function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      toks.push({ t: 'nl', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (src.startsWith('//', i)) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated comment on line ${line}`);
      line += (src.slice(i, end).match(/\n/g) ?? []).length;
      i = end + 2;
    } else if (src.startsWith("'''", i)) {
      const end = src.indexOf("'''", i + 3);
      if (end < 0) throw new Error(`unterminated multi-line string on line ${line}`);
      const raw = src.slice(i, end + 3);
      toks.push({ t: 'str', parts: [src.slice(i + 3, end)], raw, line });
      line += (raw.match(/\n/g) ?? []).length;
      i = end + 3;
    } else if (c === "'") {
      const { parts, end } = readString(src, i);
      toks.push({ t: 'str', parts, raw: src.slice(i, end), line });
      line += (src.slice(i, end).match(/\n/g) ?? []).length;
      i = end;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      toks.push({ t: 'id', v: src.slice(i, j), line });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9.]/.test(src[j]!)) j++;
      toks.push({ t: 'num', v: src.slice(i, j), line });
      i = j;
    } else {
      toks.push({ t: 'p', v: c, line });
      i++;
    }
  }
  toks.push({ t: 'nl', line });
  return toks;
}

const isP = (tok: Tok | undefined, v: string): boolean => tok?.t === 'p' && tok.v === v;
const isId = (tok: Tok | undefined, v?: string): boolean => tok?.t === 'id' && (v === undefined || tok.v === v);

function tokText(toks: Tok[]): string {
  return toks
    .map((t) => (t.t === 'str' ? t.raw : t.t === 'nl' ? '' : t.v))
    .reduce((acc, s) => (/[A-Za-z0-9_]$/.test(acc) && /^[A-Za-z0-9_]/.test(s) ? `${acc} ${s}` : acc + s), '');
}

function skipNl(toks: Tok[], i: number): number {
  while (toks[i]?.t === 'nl' || isP(toks[i], ',')) i++;
  return i;
}

/** Index just past the bracket that closes the one at `i`. */
function matchClose(toks: Tok[], i: number): number {
  let depth = 0;
  for (let k = i; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok.t === 'p' && OPEN.has(tok.v)) depth++;
    if (tok.t === 'p' && CLOSE.has(tok.v)) {
      depth--;
      if (depth === 0) return k + 1;
    }
  }
  throw new Error(`unbalanced bracket on line ${toks[i]?.line}`);
}

export function parseValue(toks: Tok[], i: number): [Value, number] {
  i = skipNl(toks, i);
  const tok = toks[i]!;
  const line = tok.line;
  if (isP(tok, '{')) {
    const props = new Map<string, Value>();
    i++;
    for (;;) {
      i = skipNl(toks, i);
      if (isP(toks[i], '}')) return [{ kind: 'object', props, line }, i + 1];
      const key = toks[i]!;
      let name: string;
      if (key.t === 'id') name = key.v;
      else if (key.t === 'str' && key.parts.length === 1 && typeof key.parts[0] === 'string') name = key.parts[0];
      else throw new Error(`object key expected on line ${key.line}`);
      if (!isP(toks[i + 1], ':')) throw new Error(`':' expected after '${name}' on line ${key.line}`);
      const [value, next] = parseValue(toks, i + 2);
      if (props.has(name)) throw new Error(`duplicate key '${name}' on line ${key.line}`);
      props.set(name, value);
      i = next;
    }
  }
  if (isP(tok, '[')) {
    const j = skipNl(toks, i + 1);
    if (isId(toks[j], 'for')) {
      const end = matchClose(toks, i);
      let colon = j + 1;
      let depth = 0;
      for (; colon < end; colon++) {
        const t = toks[colon]!;
        if (t.t === 'p' && OPEN.has(t.v)) depth++;
        if (t.t === 'p' && CLOSE.has(t.v)) depth--;
        if (depth === 0 && isP(t, ':')) break;
      }
      const head = toks.slice(j + 1, colon);
      const inAt = head.findIndex((t) => isId(t, 'in'));
      const [body] = parseValue(toks, colon + 1);
      return [{ kind: 'for', item: tokText(head.slice(0, inAt)), source: tokText(head.slice(inAt + 1)), body, line }, end];
    }
    const items: Value[] = [];
    i++;
    for (;;) {
      i = skipNl(toks, i);
      if (isP(toks[i], ']')) return [{ kind: 'array', items, line }, i + 1];
      const [value, next] = parseValue(toks, i);
      items.push(value);
      i = next;
    }
  }
  if (isId(tok, 'if') && isP(toks[i + 1], '(')) {
    const close = matchClose(toks, i + 1);
    const [body, next] = parseValue(toks, close);
    return [{ kind: 'if', cond: tokText(toks.slice(i + 2, close - 1)), body, line }, next];
  }
  // Any other expression: up to a newline, comma or closing bracket at depth 0.
  const start = i;
  let depth = 0;
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    if (depth === 0 && (t.t === 'nl' || isP(t, ',') || (t.t === 'p' && CLOSE.has(t.v)))) break;
    if (t.t === 'p' && OPEN.has(t.v)) depth++;
    if (t.t === 'p' && CLOSE.has(t.v)) depth--;
  }
  const span = toks.slice(start, i);
  if (span.length === 1 && span[0]!.t === 'str') return [{ kind: 'string', parts: span[0]!.parts, line }, i];
  return [{ kind: 'expr', text: tokText(span), line }, i];
}

export function parseBicep(path: string, text: string): BicepFile {
  const toks = tokenize(text);
  const decls: Decl[] = [];
  let decorators: string[] = [];
  let i = 0;
  while (i < toks.length) {
    const tok = toks[i]!;
    if (tok.t === 'nl') {
      i++;
      continue;
    }
    // One statement: up to a newline outside brackets.
    let end = i;
    let depth = 0;
    for (; end < toks.length; end++) {
      const t = toks[end]!;
      if (t.t === 'p' && OPEN.has(t.v)) depth++;
      if (t.t === 'p' && CLOSE.has(t.v)) depth--;
      if (depth === 0 && t.t === 'nl') break;
    }
    const stmt = toks.slice(i, end);
    i = end;
    if (isP(stmt[0], '@')) {
      decorators.push(stmt[1]?.t === 'id' ? stmt[1].v : '?');
      continue;
    }
    if (stmt[0]?.t !== 'id') throw new Error(`${path}:${tok.line}: statement expected`);
    const kind = stmt[0].v;
    const decl: Decl = { kind, name: '', decorators, line: tok.line };
    decorators = [];
    const eq = stmt.findIndex((t) => isP(t, '='));
    switch (kind) {
      case 'param': {
        decl.name = (stmt[1] as { v: string }).v;
        decl.hasDefault = eq >= 0;
        decl.type = tokText(stmt.slice(2, eq >= 0 ? eq : undefined));
        if (eq >= 0) decl.value = parseValue(stmt, eq + 1)[0];
        break;
      }
      case 'var':
      case 'metadata':
      case 'targetScope': {
        decl.name = kind === 'targetScope' ? kind : (stmt[1] as { v: string }).v;
        decl.value = parseValue(stmt, eq + 1)[0];
        break;
      }
      case 'output': {
        decl.name = (stmt[1] as { v: string }).v;
        decl.type = tokText(stmt.slice(2, eq));
        decl.value = parseValue(stmt, eq + 1)[0];
        break;
      }
      case 'module':
      case 'resource': {
        decl.name = (stmt[1] as { v: string }).v;
        const typeTok = stmt[2];
        if (typeTok?.t !== 'str') throw new Error(`${path}:${tok.line}: ${kind} path expected`);
        decl.type = typeTok.parts.join('');
        decl.existing = isId(stmt[3], 'existing');
        decl.value = parseValue(stmt, eq + 1)[0];
        break;
      }
      case 'import': {
        const from = stmt.findIndex((t) => isId(t, 'from'));
        const pathTok = stmt[from + 1];
        decl.name = tokText(stmt.slice(1, from));
        decl.type = pathTok?.t === 'str' ? pathTok.parts.join('') : '';
        break;
      }
      case 'using': {
        const pathTok = stmt[1];
        decl.type = pathTok?.t === 'str' ? pathTok.parts.join('') : '';
        break;
      }
      default:
        throw new Error(`${path}:${tok.line}: unknown statement '${kind}'`);
    }
    decls.push(decl);
  }
  return { path, text, decls };
}

export const declsOf = (file: BicepFile, kind: string): Decl[] => file.decls.filter((d) => d.kind === kind);

export function decl(file: BicepFile, kind: string, name: string): Decl {
  const found = file.decls.find((d) => d.kind === kind && d.name === name);
  if (!found) throw new Error(`${file.path}: no ${kind} '${name}'`);
  return found;
}

/** The object a resource or module body holds, unwrapping `if (...)` and `[for ...]`. */
export function body(value: Value | undefined): Map<string, Value> {
  if (!value) return new Map();
  if (value.kind === 'object') return value.props;
  if (value.kind === 'if' || value.kind === 'for') return body(value.body);
  throw new Error(`object expected on line ${value.line}`);
}

/** Follow a path of object keys. */
export function at(value: Value | undefined, ...path: string[]): Value | undefined {
  let v = value;
  for (const key of path) {
    if (!v) return undefined;
    v = body(v).get(key);
  }
  return v;
}

export class Unsupported extends Error {}

export type Scope = (name: string) => unknown;

/** Evaluate a value with the few expression forms the templates use in names and settings. */
export function evaluate(value: Value, scope: Scope): unknown {
  switch (value.kind) {
    case 'string':
      return value.parts.map((p) => (typeof p === 'string' ? p : String(evalExpr(p.expr, scope)))).join('');
    case 'object':
      return Object.fromEntries([...value.props].map(([k, v]) => [k, evaluate(v, scope)]));
    case 'array':
      return value.items.map((v) => evaluate(v, scope));
    case 'expr':
      return evalExpr(value.text, scope);
    case 'for': {
      // `[for x in xs: ...]` or `[for (x, i) in xs: ...]`
      const [item, index] = value.item.replace(/^\(|\)$/g, '').split(',').map((n) => n.trim());
      const source = evalExpr(value.source, scope);
      if (!Array.isArray(source)) throw new Unsupported(`'${value.source}' is not a list (line ${value.line})`);
      return source.map((v, i) => evaluate(value.body, (n) => (n === item ? v : n === index ? i : scope(n))));
    }
    default:
      throw new Unsupported(`cannot evaluate a ${value.kind} (line ${value.line})`);
  }
}

export function evalExpr(text: string, scope: Scope): unknown {
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'environment().suffixes.storage') return 'core.windows.net';
  const question = splitTopLevel(text, '?');
  if (question.length === 2) {
    const branches = splitTopLevel(question[1]!, ':');
    if (branches.length !== 2) throw new Unsupported(`cannot evaluate '${text}'`);
    return evalExpr(evalExpr(question[0]!, scope) === true ? branches[0]! : branches[1]!, scope);
  }
  const and = splitTopLevel(text, '&&');
  if (and.length > 1) return and.every((part) => evalExpr(part, scope) === true);
  const not = /^!(.+)$/.exec(text);
  if (not) return !(evalExpr(not[1]!, scope) as boolean);
  const empty = /^empty\((.+)\)$/.exec(text);
  if (empty) {
    const v = evalExpr(empty[1]!, scope);
    return v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  }
  const str = /^string\((.+)\)$/.exec(text);
  if (str) return String(evalExpr(str[1]!, scope));
  const join = /^join\(([^,]+),('[^']*')\)$/.exec(text);
  if (join) return (evalExpr(join[1]!, scope) as unknown[]).join(String(evalExpr(join[2]!, scope)));
  if (/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(text)) {
    const [head, ...rest] = text.split('.');
    let v = scope(head!);
    for (const key of rest) {
      if (v === null || typeof v !== 'object' || !(key in v)) throw new Unsupported(`'${text}': no '${key}'`);
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  }
  if (text.startsWith("'") || text.startsWith('[')) {
    const [value] = parseValue(tokenize(text), 0);
    return evaluate(value, scope);
  }
  throw new Unsupported(`cannot evaluate '${text}'`);
}

/** `text` cut at each `sep` outside parentheses, brackets and strings. */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" && text[i - 1] !== '\\') inString = !inString;
    if (inString) continue;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i).trim());
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}
