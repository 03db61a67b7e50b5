import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console page's files, built by `npm run build` into dist/console/ (the HTML and CSS copied
 * from console/static/, the scripts compiled from console/src/): the deployed package carries
 * dist/, so the Functions app serves them from there, like the local runner. Only names of the
 * form `name.js`, `name.css` or `index.html` are served, from that one folder: nothing else of
 * the package can be read through the route.
 */
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};
const NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}\.(html|js|css|svg)$/;

/**
 * Scripts, styles and data come from this origin only; no inline script or style, no frames.
 * `connect-src 'self'` keeps every API call on the app that served the page.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The package root: the nearest folder above this module holding package.json (the repo, or the Function App's wwwroot). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('console assets: no package.json above the app');
    dir = up;
  }
  return dir;
}

let root: string | undefined;

export function consoleDir(): string {
  root ??= join(packageRoot(), 'dist', 'console');
  return root;
}

export interface ConsoleAsset {
  body: string;
  contentType: string;
}

/** A file of the console, or null when the name is not one it serves or the file does not exist. */
export async function consoleAsset(name: string): Promise<ConsoleAsset | null> {
  const m = NAME.exec(name);
  if (!m) return null;
  try {
    return { body: await readFile(join(consoleDir(), name), 'utf8'), contentType: TYPES[m[1]!]! };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
