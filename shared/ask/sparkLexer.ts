/**
 * A lexical scan of SQL text by Spark's own lexer rules (SqlBaseLexer.g4), run before any
 * parser sees it. It finds what could make the guard's parser and the engine read the same
 * text differently, so those are refused instead of trusted:
 *
 * - comments: `--` runs to the end of the line, except that Spark continues it past a
 *   backslash-newline; `/* ... *\/` nests in Spark; `/*+ ... *\/` is a hint. A parser that
 *   ends a comment earlier or later than Spark sees other statements than Spark runs.
 * - backslashes inside quoted text: Spark reads `\'` as an escaped quote, ANSI parsers end
 *   the string there; either side may then see code where the other sees a string.
 * - `${...}`: Spark substitutes configuration and environment values into the text before
 *   parsing (spark.sql.variable.substitute), so text inside a string can still leak settings.
 *
 * It also returns the words outside quotes (to name a statement that is not a query) and the
 * statement terminators it saw, for callers that only need a lexical view.
 */
export interface LexicalFinding {
  kind: 'comment' | 'escape' | 'substitution' | 'unterminated';
  /** 0-based offset in the text. */
  at: number;
  detail: string;
}

export interface SparkLexicalScan {
  findings: LexicalFinding[];
  /** Words outside quoted text and comments, upper-cased, in order. */
  words: string[];
  /** Offsets of `;` outside quoted text and comments. */
  semicolons: number[];
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;

export function scanSpark(text: string): SparkLexicalScan {
  const findings: LexicalFinding[] = [];
  const words: string[] = [];
  const semicolons: number[] = [];
  const sub = text.indexOf('${');
  if (sub >= 0) findings.push({ kind: 'substitution', at: sub, detail: 'variable substitution `${...}`' });
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      findings.push({ kind: 'comment', at: i, detail: 'a `--` comment' });
      i += 2;
      // Spark: SIMPLE_COMMENT is '--' ('\\\n' | ~[\r\n])* : a backslash-newline continues it.
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i += text[i] === '\\' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (c === '/' && next === '*') {
      findings.push({ kind: 'comment', at: i, detail: text[i + 2] === '+' ? 'a `/*+ ... */` hint' : 'a `/* ... */` comment' });
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') (depth++, (i += 2));
        else if (text[i] === '*' && text[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
      if (depth > 0) findings.push({ kind: 'unterminated', at: n, detail: 'a comment that is never closed' });
      continue;
    }
    const raw = (c === 'r' || c === 'R') && (next === "'" || next === '"') && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '');
    if (c === "'" || c === '"' || c === '`' || raw) {
      const start = i;
      const quote = raw ? next! : c;
      i += raw ? 2 : 1;
      let closed = false;
      while (i < n) {
        const ch = text[i]!;
        if (ch === '\\') {
          findings.push({ kind: 'escape', at: i, detail: `a backslash inside ${quote === '`' ? 'a quoted identifier' : 'a string'}` });
          // Spark skips the escaped character in strings (not in raw strings or identifiers).
          i += quote !== '`' && !raw ? 2 : 1;
          continue;
        }
        if (ch === quote) {
          // Backticks escape themselves; Spark strings do not (two quotes are two adjacent literals).
          if (quote === '`' && text[i + 1] === '`') {
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) findings.push({ kind: 'unterminated', at: start, detail: `a ${quote === '`' ? 'quoted identifier' : 'string'} that is never closed` });
      continue;
    }
    if (c === ';') {
      semicolons.push(i);
      i++;
      continue;
    }
    WORD.lastIndex = i;
    const m = WORD.exec(text);
    if (m) {
      words.push(m[0].toUpperCase());
      i += m[0].length;
      continue;
    }
    i++;
  }
  return { findings, words, semicolons };
}
