// Parser comparison for the SQL guard (README "Serving gold"). Needs the candidates, not dependencies:
//   npm i --no-save node-sql-parser @polyglot-sql/sdk
//   npx esbuild tests/ask/sqlCases.ts --format=esm --outfile=.scratch/cases.mjs && node bench/compareSqlParsers.mjs
import pkg from 'node-sql-parser';
import * as poly from '@polyglot-sql/sdk';
import * as sp from '@guanmingchiu/sqlparser-ts';
await sp.init();
const { HOSTILE_CASES, GOOD_QUERIES } = await import(new URL('../.scratch/cases.mjs', import.meta.url).href);
const nsp = new pkg.Parser();
const parsers = {
  'sqlparser-rs databricks': (q) => sp.parse(q, 'databricks').length,
  'node-sql-parser hive': (q) => { const a = nsp.astify(q, { database: 'hive' }); return Array.isArray(a) ? a.length : 1; },
  'polyglot databricks': (q) => { const r = poly.parse(q, poly.Dialect.Databricks); if (!r.success) throw new Error(r.error); return r.ast.length; },
};
for (const [name, f] of Object.entries(parsers)) {
  let good = 0; const badGood = [];
  for (const q of GOOD_QUERIES) { try { f(q.replace(/;\s*$/, '')); good++; } catch { badGood.push(q.slice(0, 50)); } }
  // hostile statements that are valid Spark: does the parser see the right number of statements?
  let multiOk = 0, multi = 0, parsedHostile = 0;
  for (const c of HOSTILE_CASES) { if (!c.sql) continue; let n; try { n = f(c.sql); parsedHostile++; } catch { n = -1; } if (c.code === 'multiple_statements') { multi++; if (n === 2) multiOk++; } }
  console.log(`${name}: good ${good}/${GOOD_QUERIES.length}; hostile parsed ${parsedHostile}/${HOSTILE_CASES.length - 1}; two-statement cases split ${multiOk}/${multi}; failed good: ${badGood.join(' | ')}`);
}
