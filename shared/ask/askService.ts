import { z } from 'zod';
import { RequestError } from '../http/requestError.js';
import type { Logger } from '../logging/logger.js';
import { newRunId } from '../run/runId.js';
import { ChatError, type ChatClient, type ChatMessage } from './chatClient.js';
import { describeForPrompt, type AllowList, type GoldCatalog } from './goldCatalog.js';
import { SqlExecutionError, type QueryColumn, type SqlEndpoint } from './sqlEndpoint.js';
import { guardSql, type GuardCode, type GuardPolicy } from './sqlGuard.js';

/**
 * The question box: a question in English -> one SQL query from the model -> the guard -> the
 * SQL endpoint -> rows, the SQL and a one-line summary. The SQL mode skips the model: the
 * user's own SELECT goes through the same guard and endpoint. The HTTP function, the CLI and
 * the local runner all call `ask`.
 */
export interface AskRequest {
  question?: string;
  sql?: string;
}

export type AskStatus = 'answered' | 'refused' | 'failed';

export interface AskAttempt {
  sql: string;
  outcome: 'answered' | 'refused' | 'failed';
  code?: GuardCode | 'engine' | 'timeout' | 'unavailable';
  message?: string;
}

/** The JSON answer of POST /api/ask, `soundlake ask --json` and the local runner. */
export interface AskAnswer {
  runId: string;
  mode: 'question' | 'sql';
  question: string | null;
  status: AskStatus;
  /** The SQL of the last attempt, as checked (null when the model gave none). */
  sql: string | null;
  /** Why it was refused or failed, for the user. */
  error: { code: string; message: string } | null;
  columns: QueryColumn[];
  rows: unknown[][];
  rowCount: number;
  /** More rows exist than maxRows; only the first maxRows are here. */
  truncated: boolean;
  summary: string;
  attempts: AskAttempt[];
  endpoint: SqlEndpoint['kind'];
  model: string | null;
  durationMs: number;
}

export interface AskDeps {
  catalog: GoldCatalog;
  allow: AllowList;
  policy: GuardPolicy;
  endpoint: SqlEndpoint;
  chat?: ChatClient;
  logger: Logger;
  statementTimeoutMs: number;
  maxAttempts: number;
  /** The whole question (model calls and statements) ends within this (default 200 s). */
  deadlineMs?: number;
  now?: () => number;
}

const requestSchema = z
  .object({
    question: z.string().trim().min(3, 'is too short').max(1000, 'is longer than 1000 characters').optional(),
    sql: z.string().min(1, 'is empty').max(20_000, 'is longer than 20000 characters').optional(),
  })
  .strict();

/** Check a request body: exactly one of `question` and `sql`. */
export function parseAskRequest(body: unknown): AskRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('body', 'must be a JSON object with "question" or "sql"');
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new RequestError(issue.keys.join(', '), 'is not a known field (send "question" or "sql")');
    throw new RequestError(issue.path.join('.') || 'body', issue.message);
  }
  const { question, sql } = parsed.data;
  if (question === undefined && sql === undefined) throw new RequestError('question', 'is required (or send "sql" to run your own SELECT)');
  if (question !== undefined && sql !== undefined) throw new RequestError('sql', 'send either "question" or "sql", not both');
  return parsed.data;
}

export function systemPrompt(catalog: GoldCatalog, allow: AllowList): string {
  return [
    'You translate a question about a music streaming service into ONE Spark SQL (Databricks SQL) SELECT statement over the tables below.',
    'Reply with the SQL statement only: no explanation, no markdown, no comments, no semicolon.',
    `Use only these tables and columns, qualified as ${catalog.schema}.<table>. Never modify data.`,
    'Dimensions are SCD Type 2 (one row per version). To get the version valid when a stream happened, join',
    '  fact_stream.<dim>_id = <dim>.<dim>_id AND fact_stream.<dim>_valid_from = <dim>.__START_AT.',
    'The current version of a dimension row has __END_AT IS NULL. A change of a value (e.g. subscription_type) is a version',
    'whose previous version (prev.__END_AT = cur.__START_AT) has a different value.',
    "Dates: current_date(), date_trunc('MONTH', x), add_months(d, n), year(x). Timestamps are UTC.",
    '',
    describeForPrompt(catalog, allow),
  ].join('\n');
}

/** The model was asked for SQL alone; tolerate a fenced block, take nothing else. */
export function extractSql(text: string): string {
  const fenced = /```(?:sql)?\s*\n?([\s\S]*?)```/i.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}

/** One line about the rows, computed (a second model call could make things up). */
export function summarise(columns: QueryColumn[], rows: unknown[][], truncated: boolean): string {
  if (rows.length === 0) return 'No rows.';
  const show = (v: unknown): string => (v === null ? 'null' : typeof v === 'number' && !Number.isInteger(v) ? String(Math.round(v * 100) / 100) : String(v));
  if (rows.length === 1 && columns.length === 1) return `${columns[0]!.name} = ${show(rows[0]![0])}.`;
  const first = columns.map((c, i) => `${c.name} ${show(rows[0]![i])}`).join(', ');
  return `${truncated ? `First ${rows.length}` : rows.length} row${rows.length === 1 ? '' : 's'}; first: ${first}.`;
}

export class AskService {
  constructor(private readonly deps: AskDeps) {}

  get llmConfigured(): boolean {
    return this.deps.chat !== undefined;
  }

  async ask(request: AskRequest, options: { runId?: string } = {}): Promise<AskAnswer> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const runId = options.runId ?? newRunId('ask');
    const deadline = Date.now() + (this.deps.deadlineMs ?? 200_000);
    const mode = request.sql !== undefined ? 'sql' : 'question';
    const base = { runId, mode, question: request.question ?? null, endpoint: this.deps.endpoint.kind, model: mode === 'question' ? (this.deps.chat?.model ?? null) : null } as const;
    const attempts: AskAttempt[] = [];
    const finish = (rest: Omit<AskAnswer, keyof typeof base | 'attempts' | 'durationMs'>): AskAnswer => {
      const answer: AskAnswer = { ...base, ...rest, attempts, durationMs: now() - started };
      // One line per question: what was asked, what ran, the verdict, how many rows; never the rows.
      this.deps.logger.info(
        { runId, mode, question: answer.question?.slice(0, 500) ?? null, sql: answer.sql, status: answer.status, verdict: answer.error?.code ?? 'allowed', rows: answer.rowCount, truncated: answer.truncated, attempts: attempts.length, durationMs: answer.durationMs, endpoint: answer.endpoint, model: answer.model },
        `ask ${answer.status}`,
      );
      return answer;
    };
    const empty = { columns: [], rows: [], rowCount: 0, truncated: false };

    if (mode === 'sql') {
      const outcome = await this.run(request.sql!, runId, attempts, deadline);
      return finish(outcome);
    }
    const chat = this.deps.chat;
    if (!chat) {
      throw new RequestError('question', 'no LLM is configured (set ASK_LLM_BASE_URL and ASK_LLM_MODEL, and ASK_LLM_API_KEY if it needs one); send {"sql": "SELECT ..."} to run your own SELECT', 503);
    }
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt(this.deps.catalog, this.deps.allow) },
      { role: 'user', content: request.question! },
    ];
    let last: Omit<AskAnswer, keyof typeof base | 'attempts' | 'durationMs'> | undefined;
    for (let i = 1; i <= this.deps.maxAttempts; i++) {
      let text: string;
      try {
        text = await chat.complete(messages, { deadline });
      } catch (err) {
        if (!(err instanceof ChatError)) throw err;
        return finish({ status: 'failed', sql: last?.sql ?? null, error: { code: 'llm', message: err.message }, ...empty, summary: 'The language model could not be reached.' });
      }
      const sql = extractSql(text);
      last = await this.run(sql, runId, attempts, deadline);
      const a = attempts[attempts.length - 1]!;
      // Retry only what a corrected query could fix; a timeout or an unreachable endpoint would just repeat.
      if (last.status === 'answered' || a.code === 'timeout' || a.code === 'unavailable' || Date.now() >= deadline) break;
      messages.push({ role: 'assistant', content: text }, { role: 'user', content: `That SQL was ${a.outcome}: ${a.message}\nReply with one corrected SELECT statement only.` });
    }
    return finish(last!);
  }

  private async run(sql: string, runId: string, attempts: AskAttempt[], deadline: number): Promise<Omit<AskAnswer, 'runId' | 'mode' | 'question' | 'endpoint' | 'model' | 'attempts' | 'durationMs'>> {
    const empty = { columns: [], rows: [], rowCount: 0, truncated: false };
    const verdict = await guardSql(sql, this.deps.policy);
    if (!verdict.allowed) {
      attempts.push({ sql, outcome: 'refused', code: verdict.code, message: verdict.reason });
      return { status: 'refused', sql, error: { code: verdict.code, message: verdict.reason }, ...empty, summary: `Refused: ${verdict.reason}` };
    }
    try {
      const timeoutMs = Math.max(1, Math.min(this.deps.statementTimeoutMs, deadline - Date.now()));
      const result = await this.deps.endpoint.execute(verdict.executed, { timeoutMs, maxRows: verdict.maxRows + 1, runId });
      const truncated = result.rows.length > verdict.maxRows;
      const rows = result.rows.slice(0, verdict.maxRows);
      attempts.push({ sql: verdict.sql, outcome: 'answered' });
      return { status: 'answered', sql: verdict.sql, error: null, columns: result.columns, rows, rowCount: rows.length, truncated, summary: summarise(result.columns, rows, truncated) };
    } catch (err) {
      if (!(err instanceof SqlExecutionError)) throw err;
      const code = err.failure === 'rejected' ? 'engine' : err.failure;
      attempts.push({ sql: verdict.sql, outcome: 'failed', code, message: err.message });
      return { status: 'failed', sql: verdict.sql, error: { code, message: err.message }, ...empty, summary: `Failed: ${err.message.split('\n')[0]}` };
    }
  }
}
