// Bundles the CLI (dist/cli/soundlake.js) and its Parquet encoder thread into one file each, over
// what tsc wrote. Node 20 loads ES modules file by file; the CLI's graph is some 150 files (the
// Azure SDKs, zod, yaml, pino, pg), and resolving and loading them one at a time kept the main
// thread busy for most of a second before the first row was read. Packages that load files of
// their own at run time (WebAssembly, native parts) or are loaded only for some commands stay
// outside, resolved from node_modules as before. The Functions entry point is not bundled.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const external = [
  'parquet-wasm', // reads its .wasm next to its own files
  'apache-arrow', // required by path (arrowLib.ts)
  '@guanmingchiu/sqlparser-ts', // WebAssembly
  '@electric-sql/*', // PGlite: WebAssembly and data files
  'mssql', // SQL Server only, loaded when a SQL Server source is configured
  'tedious',
  '@azure/identity', // loaded only where no connection string is given
  'hive-driver', // ask service's Databricks SQL driver, loaded by `ask` only
];
// CommonJS packages inside an ES module bundle call require() for Node's own modules.
const banner = { js: "import { createRequire as __soundlakeRequire } from 'node:module'; const require = __soundlakeRequire(import.meta.url);" };
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', external, banner, allowOverwrite: true, logLevel: 'warning', legalComments: 'none' };

// Chunks of an earlier build (their names carry a content hash) would pile up.
for (const f of readdirSync('dist/cli')) if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) rmSync(`dist/cli/${f}`);

// One build with code splitting: what the CLI imports lazily (the SQL Server source, the ask
// service, @azure/identity) stays a chunk of its own, loaded when used. The encoder pool starts
// './parquetEncoderWorker.js' next to its own module, which in the bundle is dist/cli/.
await build({
  ...common,
  entryPoints: { soundlake: 'dist/cli/soundlake.js', parquetEncoderWorker: 'dist/shared/bronze/parquetEncoderWorker.js' },
  outdir: 'dist/cli',
  splitting: true,
  chunkNames: '[name]-[hash]',
  sourcemap: true,
});
