import { readFile, writeFile } from 'node:fs/promises';
import { CATALOG_JSON_SCHEMA_PATH, renderCatalogJsonSchema } from '../shared/config/catalogSchema.js';

/**
 * Writes the catalog's JSON Schema, generated from the zod schema, where the Python side reads it
 * (packaged in the soundlake wheel). `--check` fails when the committed file is out of date.
 *
 *   npm run catalog:schema            # write
 *   npm run catalog:schema -- --check # drift check (tests/config/catalogSchema.test.ts does the same)
 */
const fresh = renderCatalogJsonSchema();
if (process.argv.includes('--check')) {
  const current = await readFile(CATALOG_JSON_SCHEMA_PATH, 'utf8').catch(() => '');
  if (current !== fresh) {
    process.stderr.write(`${CATALOG_JSON_SCHEMA_PATH} is out of date: run npm run catalog:schema\n`);
    process.exit(1);
  }
  process.stdout.write(`${CATALOG_JSON_SCHEMA_PATH} is up to date\n`);
} else {
  await writeFile(CATALOG_JSON_SCHEMA_PATH, fresh);
  process.stdout.write(`wrote ${CATALOG_JSON_SCHEMA_PATH}\n`);
}
