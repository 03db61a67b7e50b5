import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { DatabricksError, type DatabricksClient } from '../databricks/databricksClient.js';
import { SqlExecutionError, type ExecuteOptions, type QueryResult, type SqlEndpoint } from './sqlEndpoint.js';

/**
 * A Databricks SQL warehouse through the SQL Statement Execution API 2.0:
 *   POST /api/2.0/sql/statements                      submit (waits up to wait_timeout, then CONTINUE)
 *   GET  /api/2.0/sql/statements/{id}                 poll: status, manifest, first chunk
 *   GET  /api/2.0/sql/statements/{id}/result/chunks/{n} the next chunks (next_chunk_index)
 *   POST /api/2.0/sql/statements/{id}/cancel          when the deadline passes
 * INLINE disposition, JSON_ARRAY format (values arrive as strings and are typed here from the
 * manifest), row_limit as a second cap behind the guard's LIMIT. Requests go through the
 * DatabricksClient, so auth (Entra token of the managed identity, or a PAT locally), retries on
 * 429/5xx and per-request timeouts are the ones the Jobs calls use.
 */
export interface StatementExecutionOptions {
  client: DatabricksClient;
  warehouseId: string;
  /** Default catalog and schema of the statement (USE CATALOG / USE SCHEMA). */
  catalog: string;
  schema: string;
  /** Seconds the submit call itself waits (0 or 5..50; default 10). */
  waitTimeoutSeconds?: number;
  /** Pause between polls (default 1 s). */
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const status = z.object({
  state: z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']),
  error: z.object({ error_code: z.string().optional(), message: z.string().optional() }).optional(),
});
const chunk = z.object({
  chunk_index: z.number().int().optional(),
  row_offset: z.number().int().optional(),
  row_count: z.number().int().optional(),
  data_array: z.array(z.array(z.string().nullable())).optional(),
  next_chunk_index: z.number().int().optional(),
});
const manifest = z.object({
  format: z.string().optional(),
  schema: z.object({ columns: z.array(z.object({ name: z.string(), type_name: z.string().optional(), type_text: z.string().optional(), position: z.number().int().optional() })).optional() }),
  total_chunk_count: z.number().int().optional(),
  total_row_count: z.number().int().optional(),
  truncated: z.boolean().optional(),
});
const statementResponse = z.object({
  statement_id: z.string().min(1),
  status,
  manifest: manifest.optional(),
  result: chunk.optional(),
});
type Chunk = z.infer<typeof chunk>;

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']);

/** JSON_ARRAY values are strings; numbers and booleans are turned back into JSON values. */
function typed(value: string | null, typeName: string): unknown {
  if (value === null) return null;
  switch (typeName.toUpperCase()) {
    case 'BYTE': case 'SHORT': case 'INT': case 'FLOAT': case 'DOUBLE':
      return Number(value);
    case 'LONG': {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'BOOLEAN':
      return value === 'true';
    default:
      return value;
  }
}

export function createStatementExecutionEndpoint(options: StatementExecutionOptions): SqlEndpoint {
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const base = '/api/2.0/sql/statements';
  const wait = options.waitTimeoutSeconds ?? 10;
  if (wait !== 0 && (wait < 5 || wait > 50)) throw new Error(`waitTimeoutSeconds must be 0 or 5..50, got ${wait}`);
  return {
    kind: 'databricks-sql',
    async execute(sql: string, exec: ExecuteOptions): Promise<QueryResult> {
      const deadline = Date.now() + exec.timeoutMs;
      const cancel = async (id: string): Promise<void> => {
        await options.client.request('POST', `${base}/${encodeURIComponent(id)}/cancel`, {}, z.unknown()).catch(() => undefined);
      };
      let res: z.infer<typeof statementResponse>;
      try {
        res = await options.client.request('POST', base, {
          statement: sql,
          warehouse_id: options.warehouseId,
          catalog: options.catalog,
          schema: options.schema,
          disposition: 'INLINE',
          format: 'JSON_ARRAY',
          row_limit: exec.maxRows,
          wait_timeout: `${wait}s`,
          on_wait_timeout: 'CONTINUE',
        }, statementResponse);
      } catch (err) {
        throw asExecutionError(err);
      }
      const id = res.statement_id;
      while (!TERMINAL.has(res.status.state)) {
        if (Date.now() >= deadline) {
          await cancel(id);
          throw new SqlExecutionError('timeout', `the statement did not finish within ${Math.round(exec.timeoutMs / 1000)} s and was cancelled (statement ${id})`);
        }
        await sleep(Math.min(options.pollIntervalMs ?? 1000, Math.max(0, deadline - Date.now())));
        try {
          res = await options.client.request('GET', `${base}/${encodeURIComponent(id)}`, undefined, statementResponse);
        } catch (err) {
          await cancel(id);
          throw asExecutionError(err);
        }
      }
      if (res.status.state !== 'SUCCEEDED') {
        const e = res.status.error;
        throw new SqlExecutionError('rejected', `${res.status.state.toLowerCase()}${e?.error_code ? ` (${e.error_code})` : ''}: ${e?.message ?? 'no message'}`);
      }
      const cols = (res.manifest?.schema.columns ?? []).map((c) => ({ name: c.name, type: (c.type_text ?? c.type_name ?? 'unknown').toLowerCase(), typeName: c.type_name ?? 'STRING' }));
      const rows: unknown[][] = [];
      let part: Chunk | undefined = res.result;
      while (part) {
        for (const r of part.data_array ?? []) {
          if (rows.length >= exec.maxRows) break;
          rows.push(r.map((v, i) => typed(v, cols[i]?.typeName ?? 'STRING')));
        }
        if (rows.length >= exec.maxRows || part.next_chunk_index === undefined) break;
        if (Date.now() >= deadline) {
          await cancel(id);
          throw new SqlExecutionError('timeout', `fetching the result took longer than ${Math.round(exec.timeoutMs / 1000)} s (statement ${id})`);
        }
        try {
          part = await options.client.request('GET', `${base}/${encodeURIComponent(id)}/result/chunks/${part.next_chunk_index}`, undefined, chunk);
        } catch (err) {
          throw asExecutionError(err);
        }
      }
      return { columns: cols.map(({ name, type }) => ({ name, type })), rows };
    },
    async close() {},
  };
}

function asExecutionError(err: unknown): SqlExecutionError {
  if (err instanceof SqlExecutionError) return err;
  if (err instanceof DatabricksError) {
    return new SqlExecutionError(err.details.retryable ? 'unavailable' : 'rejected', err.message);
  }
  return new SqlExecutionError('unavailable', (err as Error).message);
}
