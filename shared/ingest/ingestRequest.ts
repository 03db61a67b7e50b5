import { z } from 'zod';
import type { PipelineConfig, TableConfig } from '../config/pipelineConfig.js';
import { RequestError } from '../http/requestError.js';

const bodySchema = z.object({ table: z.string({ error: 'is required' }).min(1, 'is required') }).strict();

/**
 * A request to extract one table now, outside the schedule (POST /api/ingest {"table": ...}):
 * checked against the configuration before anything is queued. The run then goes the way of a
 * scheduled one: a run id, one queue message, the same queue function, lease and ledger.
 */
export function parseIngestRequest(body: unknown, config: PipelineConfig): TableConfig {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('body', 'must be a JSON object such as {"table": "fact_streams"}');
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new RequestError(issue.keys.join(', '), 'is not a known field (send "table")');
    throw new RequestError(issue.path.join('.') || 'body', issue.message);
  }
  const table = config.tables.find((t) => t.name === parsed.data.table);
  if (!table) throw new RequestError('table', `unknown table "${parsed.data.table}" (configured: ${config.tables.map((t) => t.name).join(', ')})`);
  if (!table.enabled) throw new RequestError('table', `"${table.name}" is disabled in the configuration (enabled: false)`);
  return table;
}
