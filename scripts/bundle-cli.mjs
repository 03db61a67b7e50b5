// Bundles the CLI over what tsc wrote, from the TypeScript sources:
// - dist/cli/soundlake-bundle.cjs: the whole CLI (cli/soundlake.ts and what it imports) as one
//   CommonJS file. Node 20 loads ES modules file by file, and the CLI's graph is some 150 files
//   (the Azure SDKs, zod, yaml, pino, pg): one file is compiled at once. CommonJS, because Node
//   20 keeps a V8 code cache only for scripts (cli/codeCache.ts).
// - dist/cli/soundlake.cjs: the entry point (cli/launcher.ts), which runs that file with the
//   cache; CommonJS too, so Node never sets up its ES module loader for a CLI run.
// - dist/cli/soundlake.js: the same entry for callers of the old path (tsc's unbundled CLI is replaced).
// - dist/cli/parquetEncoderWorker.js: the Parquet encoder thread, an ES module of its own.
// Packages that load files of their own at run time (WebAssembly, native parts) or are loaded
// only for some commands stay outside, resolved from node_modules as before. The Functions entry
// point is not bundled.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const external = [
  'snappy', // native (napi-rs): loads its platform's .node file
  '@guanmingchiu/sqlparser-ts', // WebAssembly
  '@electric-sql/*', // PGlite: WebAssembly and data files
  'mssql', // SQL Server only, loaded when a SQL Server source is configured
  'tedious',
  '@azure/identity', // loaded only where no connection string is given
  'hive-driver', // ask service's Databricks SQL driver, loaded by `ask` only
];
// Two packages touch a fetch global (Response, FormData) on every run, and on Node 20 the first
// touch loads Node's own undici: 20 ms of a CPU before the CLI's first query. Each edit keeps the
// package's answer; the build fails if the text it edits has changed.
const edits = [
  {
    // Whether it runs in a Cloudflare Worker, asked by building a Response: never, for the CLI.
    file: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/,
    from: 'function isCloudflareRuntime() {',
    to: 'function isCloudflareRuntime() {\n  return false;',
  },
  {
    // Whether a request body is a FormData: only an object whose tag says so can be one.
    file: /[\\/]node_modules[\\/]@typespec[\\/]ts-http-runtime[\\/]dist[\\/]esm[\\/]formData\.js$/,
    from: 'if (typeof FormData !== "undefined" && body instanceof FormData) {',
    to: 'if (Object.prototype.toString.call(body) === "[object FormData]" && typeof FormData !== "undefined" && body instanceof FormData) {',
  },
];
const editSources = {
  name: 'edit-sources',
  setup(b) {
    for (const edit of edits) {
      b.onLoad({ filter: edit.file }, ({ path }) => {
        const source = readFileSync(path, 'utf8');
        if (!source.includes(edit.from)) throw new Error(`${path} no longer contains ${JSON.stringify(edit.from)}: review its edit in scripts/bundle-cli.mjs`);
        return { contents: source.replace(edit.from, edit.to), loader: 'js' };
      });
    }
  },
};
const common = { bundle: true, platform: 'node', target: 'node20', external, allowOverwrite: true, logLevel: 'warning', legalComments: 'none', sourcemap: true };

// Chunks of earlier builds (their names carry a content hash) and a code cache made for another
// bundle (V8 would reject it; removed so the first run writes a fresh one).
for (const f of readdirSync('dist/cli')) if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(f) || /^soundlake(-bundle)?\.cjs\.([a-z0-9-]+\.)?cache/.test(f)) rmSync(`dist/cli/${f}`);

const cli = await build({
  ...common,
  entryPoints: { soundlake: 'cli/soundlake.ts' },
  outfile: 'dist/cli/soundlake-bundle.cjs',
  format: 'cjs',
  // The modules find files next to their own (the encoder thread, host.json, the console's
  // assets) through import.meta.url: in the bundle that is the bundle's own file.
  define: { 'import.meta.url': '__soundlakeModuleUrl' },
  banner: { js: "const __soundlakeModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import() becomes require(): a script run from V8's code cache has no dynamic import callback
  // (cli/codeCache.ts). So every package the bundle leaves outside must be loadable by require().
  supported: { 'dynamic-import': false },
  // Minified, names kept: every run reads, hashes and decodes the file and V8 deserializes its
  // cache against it, and without comments and indentation it is 3.9 MB instead of 5.9. The
  // identifiers stay as written: errors are told apart by their names (`err.name`,
  // `constructor.name`, ours and the SDKs'), and esbuild's keepNames would instead set a name on
  // every function it renames, at run time (measured: it cost more than it saved). The result
  // is ASCII (esbuild escapes the rest, and the comments that held it are gone), so V8 keeps it
  // as a one-byte string, which decodes several times faster; checked below. Measured on the
  // 1M-row ingest, code cache written by an ingest: ~35 ms less CPU on the main thread before
  // "ingest started" (median of 6).
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  plugins: [editSources],
});
const dynamic = Object.values(cli.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path));
if (dynamic.length > 0) throw new Error(`dist/cli/soundlake-bundle.cjs would call import() for ${dynamic.join(', ')}, which fails when it runs from the code cache`);
const nonAscii = readFileSync('dist/cli/soundlake-bundle.cjs').findIndex((b) => b >= 0x80);
if (nonAscii >= 0) throw new Error(`dist/cli/soundlake-bundle.cjs has a non-ASCII byte at offset ${nonAscii}: V8 would hold all of it as a two-byte string (see minify above)`);

// ES modules: CommonJS packages inside them call require() for Node's own modules.
const banner = { js: "import { createRequire as __soundlakeRequire } from 'node:module'; const require = __soundlakeRequire(import.meta.url);" };
await build({ ...common, entryPoints: { soundlake: 'cli/launcher.ts' }, outfile: 'dist/cli/soundlake.cjs', format: 'cjs', define: { 'import.meta.dirname': '__dirname' } });
writeFileSync('dist/cli/soundlake.js', "#!/usr/bin/env node\nimport { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('./soundlake.cjs');\n");
rmSync('dist/cli/soundlake.js.map', { force: true });
await build({ ...common, entryPoints: { parquetEncoderWorker: 'shared/bronze/parquetEncoderWorker.ts' }, outdir: 'dist/cli', format: 'esm', banner });
