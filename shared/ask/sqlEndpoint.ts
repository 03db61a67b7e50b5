/**
 * Where checked SQL runs: one small port, two adapters (Databricks SQL Statement Execution in
 * Azure, the local Thrift server on one machine). Callers hand over SQL the guard has passed
 * and get columns and rows back, or a SqlExecutionError.
 */
export interface QueryColumn {
  name: string;
  /** The engine's type name, lower case (bigint, string, timestamp, decimal(6,2) ...). */
  type: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  /** Rows as arrays in column order; JSON values (numbers, strings, booleans, null). */
  rows: unknown[][];
}

export interface ExecuteOptions {
  /** The statement is cancelled when it has not finished by then. */
  timeoutMs: number;
  /** Rows to fetch at most (the guard's LIMIT already holds the engine to this). */
  maxRows: number;
  /** For the engine's logs, where it can carry one. */
  runId: string;
}

export interface SqlEndpoint {
  /** For messages and logs. */
  readonly kind: 'databricks-sql' | 'local-thrift';
  execute(sql: string, options: ExecuteOptions): Promise<QueryResult>;
  close(): Promise<void>;
}

export type SqlFailure = 'timeout' | 'rejected' | 'unavailable';

/** The engine refused or failed the statement (`rejected`: its message is meant for the user). */
export class SqlExecutionError extends Error {
  constructor(
    readonly failure: SqlFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SqlExecutionError';
  }
}
