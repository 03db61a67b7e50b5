import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CATALOG_JSON_SCHEMA_PATH, renderCatalogJsonSchema, TRANSFORMS } from '../../shared/config/catalogSchema.js';
import { ConfigError, loadPipelineConfig, parsePipelineConfig } from '../../shared/config/pipelineConfig.js';

/**
 * The catalog has one schema (shared/config/catalogSchema.ts). The Python side validates with
 * the JSON Schema generated from it, so: the committed JSON Schema must be what the zod schema
 * generates, and the bad catalogs of the shared fixture must produce exactly the problems it
 * lists, here and in databricks/tests/test_catalog.py.
 */

interface Case {
  name: string;
  catalog: string;
  problems?: string[];
  yaml?: boolean;
}

const cases = (parse(await readFile('tests/fixtures/catalog/bad-catalogs.yaml', 'utf8')) as { cases: Case[] }).cases;

function problemsOf(text: string): string[] {
  try {
    parsePipelineConfig(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('the catalog schema', () => {
  it('is committed as JSON Schema exactly as zod generates it (npm run catalog:schema)', async () => {
    expect(await readFile(CATALOG_JSON_SCHEMA_PATH, 'utf8')).toBe(renderCatalogJsonSchema());
  });

  it('carries every transform with the facts the cross-field rules use', () => {
    const schema = JSON.parse(renderCatalogJsonSchema()) as Record<string, any>;
    const branches = schema.properties.tables.items.properties.silver.properties.transforms.items.oneOf as Record<string, any>[];
    expect(Object.fromEntries(branches.map((b) => [b.properties.fn.const, b['x-transform']]))).toEqual(TRANSFORMS);
  });

  it('accepts the repository catalog', async () => {
    const cfg = await loadPipelineConfig('soundlake.yaml');
    expect(cfg.tables.map((t) => t.name)).toEqual(['dim_users', 'dim_artists', 'dim_albums', 'dim_tracks', 'fact_streams']);
    expect(cfg.tables[0]).toMatchObject({ schema: 'public', table: 'dim_users', primaryKey: ['user_id'], lagSeconds: 5 });
  });
});

describe('bad catalogs (tests/fixtures/catalog/bad-catalogs.yaml)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const problems = problemsOf(c.catalog);
    if (c.yaml) {
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^YAML: /);
    } else {
      expect([...problems].sort()).toEqual([...c.problems!].sort());
    }
  });
});
