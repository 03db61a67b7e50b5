import hive from 'hive-driver';
import { redactSecrets } from '../logging/redact.js';
import { SqlExecutionError, type ExecuteOptions, type QueryResult, type SqlEndpoint } from './sqlEndpoint.js';

/**
 * The local SQL endpoint (Spark's Thrift server, HiveServer2 binary protocol) through the
 * hive-driver package: one connection and session per statement, so a failed or cancelled
 * statement leaves nothing behind. A statement that outlives its deadline is cancelled on the
 * server, which also enforces its own limit (spark.sql.thriftServer.queryTimeout).
 */
export interface ThriftEndpointOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** The Thrift server's port (default 10009). */
  port: number;
  /** Schema the session starts in (default gold). */
  schema?: string;
  /** User name sent with SASL PLAIN; the local server does not check it (default soundlake). */
  user?: string;
}

const { TCLIService, TCLIService_types } = hive.thrift;

/** HiveServer2 type ids -> engine type names (TTypeId in TCLIService.thrift). */
const TYPE_NAMES: Record<number, string> = {
  0: 'boolean', 1: 'tinyint', 2: 'smallint', 3: 'int', 4: 'bigint', 5: 'float', 6: 'double', 7: 'string', 8: 'timestamp',
  9: 'binary', 10: 'array', 11: 'map', 12: 'struct', 13: 'uniontype', 14: 'user_defined', 15: 'decimal', 16: 'null',
  17: 'date', 18: 'varchar', 19: 'char', 20: 'interval_year_month', 21: 'interval_day_time',
};

interface Column {
  columnName: string;
  typeDesc: { types: { primitiveEntry?: { type: number } }[] };
}

export function createThriftSqlEndpoint(options: ThriftEndpointOptions): SqlEndpoint {
  const host = options.host ?? '127.0.0.1';
  return {
    kind: 'local-thrift',
    async execute(sql: string, exec: ExecuteOptions): Promise<QueryResult> {
      const client = new hive.HiveClient(TCLIService, TCLIService_types);
      const utils = new hive.HiveUtils(TCLIService_types);
      // Socket errors arrive as events; the pending call fails with them below.
      let socketError: Error | undefined;
      client.on('error', (err: Error) => (socketError = err));
      const deadline = Date.now() + exec.timeoutMs;
      try {
        await client.connect({ host, port: options.port }, new hive.connections.TcpConnection(), new hive.auth.PlainTcpAuthentication({ username: options.user ?? 'soundlake', password: 'unused' }));
      } catch (err) {
        throw new SqlExecutionError('unavailable', `local SQL endpoint ${host}:${options.port} is not reachable (${redactSecrets((err as Error).message)}); start it with npm run sql-endpoint`);
      }
      try {
        const session = await client.openSession({
          client_protocol: TCLIService_types.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10,
          configuration: { 'use:database': options.schema ?? 'gold' },
        });
        try {
          const op = await session.executeStatement(sql, { runAsync: true });
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              void op.cancel().catch(() => undefined);
              reject(new SqlExecutionError('timeout', `the statement did not finish within ${Math.round(exec.timeoutMs / 1000)} s and was cancelled`));
            }, Math.max(0, deadline - Date.now()));
          });
          try {
            op.setMaxRows(exec.maxRows);
            await Promise.race([utils.waitUntilReady(op, false, () => undefined).then(() => utils.fetchAll(op)), timedOut]);
          } finally {
            clearTimeout(timer);
          }
          const columns = ((op.getSchema()?.columns ?? []) as Column[]).map((c) => ({ name: c.columnName, type: TYPE_NAMES[c.typeDesc.types[0]?.primitiveEntry?.type ?? -1] ?? 'unknown' }));
          const objects = utils.getResult(op).getValue() as Record<string, unknown>[];
          await op.close().catch(() => undefined);
          return { columns, rows: objects.slice(0, exec.maxRows).map((o) => columns.map((c) => o[c.name] ?? null)) };
        } finally {
          await session.close().catch(() => undefined);
        }
      } catch (err) {
        if (err instanceof SqlExecutionError) throw err;
        // A failed operation carries the engine's own message in its status response.
        const detail = (err as { response?: { errorMessage?: string } }).response?.errorMessage;
        const text = socketError?.message ?? detail ?? (err as Error).message ?? String(err);
        const message = redactSecrets(text.length > 2000 ? `${text.slice(0, 2000)}...` : text);
        throw new SqlExecutionError(socketError ? 'unavailable' : 'rejected', message);
      } finally {
        await Promise.resolve(client.close()).catch(() => undefined);
      }
    },
    async close() {},
  };
}
