import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/**
 * A stand-in for the part of the Databricks workspace REST API soundlake calls, on 127.0.0.1:
 *
 *   POST /api/2.2/jobs/run-now (and 2.1)          job_id, idempotency_token: same token -> same run_id
 *   GET  /api/2.2/jobs/runs/get?run_id= (and 2.1)  life cycle and result state (to watch a run by hand)
 *
 * Every request is recorded (method, path, query, headers, JSON body). Responses can be
 * scripted ahead of normal handling (429 with Retry-After, 5xx, 400), and a callback runs for
 * each new run: the run stays RUNNING until the callback settles, then TERMINATED with
 * SUCCESS (or FAILED when it throws). The local runner uses the callback to run the medallion on
 * local Spark. Errors use Databricks' body shape `{ error_code, message }`.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names, as node:http gives them. */
  headers: Record<string, string>;
  body: unknown;
  status: number;
  at: string;
}

export interface StandInRun {
  runId: number;
  jobId: number;
  numberInJob: number;
  idempotencyToken?: string;
  jobParameters?: Record<string, string>;
  lifeCycleState: 'RUNNING' | 'TERMINATED';
  resultState?: 'SUCCESS' | 'FAILED';
  stateMessage: string;
  createdAt: string;
}

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface DatabricksStandInOptions {
  /** Default 0: the OS picks a free port. */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <token>`; otherwise any bearer token is accepted. */
  token?: string;
  /** Job ids that exist (default: any id). run-now of another id answers 400 INVALID_PARAMETER_VALUE. */
  jobs?: number[];
  onRun?: (run: StandInRun) => Promise<void> | void;
}

export interface DatabricksStandIn {
  url: string;
  port: number;
  readonly requests: RecordedRequest[];
  readonly runs: StandInRun[];
  /** Answer the next requests matching `method` and `path` with these responses, in order. */
  script(match: { method?: string; path: string | RegExp }, ...responses: ScriptedResponse[]): void;
  /** Resolves when every callback started so far has settled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const error = (status: number, error_code: string, message: string): ScriptedResponse => ({ status, body: { error_code, message } });

export async function startDatabricksStandIn(options: DatabricksStandInOptions = {}): Promise<DatabricksStandIn> {
  const requests: RecordedRequest[] = [];
  const runs: StandInRun[] = [];
  const byToken = new Map<string, StandInRun>();
  const scripts: { method?: string; path: string | RegExp; responses: ScriptedResponse[] }[] = [];
  const pending = new Set<Promise<void>>();
  let nextRunId = 1000;

  const track = (work: () => Promise<void> | void, settle: (err?: unknown) => void): void => {
    const p = Promise.resolve()
      .then(work)
      .then(
        () => settle(),
        (err: unknown) => settle(err ?? new Error('callback failed')),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const handle = (method: string, path: string, query: URLSearchParams, body: unknown): ScriptedResponse => {
    const runNow = /^\/api\/2\.[12]\/jobs\/run-now$/.exec(path);
    const runGet = /^\/api\/2\.[12]\/jobs\/runs\/get$/.exec(path);

    if (runNow && method === 'POST') {
      const b = (body ?? {}) as { job_id?: unknown; idempotency_token?: unknown; job_parameters?: unknown };
      const jobId = typeof b.job_id === 'number' ? b.job_id : typeof b.job_id === 'string' && /^\d+$/.test(b.job_id) ? Number(b.job_id) : undefined;
      if (jobId === undefined) return error(400, 'INVALID_PARAMETER_VALUE', 'Missing required field: job_id');
      if (options.jobs && !options.jobs.includes(jobId)) return error(400, 'INVALID_PARAMETER_VALUE', `Job ${jobId} does not exist.`);
      const token = typeof b.idempotency_token === 'string' ? b.idempotency_token : undefined;
      if (token !== undefined && token.length > 64) return error(400, 'INVALID_PARAMETER_VALUE', 'idempotency_token must have at most 64 characters');
      const existing = token !== undefined ? byToken.get(`${jobId}:${token}`) : undefined;
      if (existing) return { status: 200, body: { run_id: existing.runId, number_in_job: existing.numberInJob } };
      const runId = nextRunId++;
      const run: StandInRun = {
        runId,
        jobId,
        numberInJob: runId,
        ...(token !== undefined ? { idempotencyToken: token } : {}),
        ...(b.job_parameters && typeof b.job_parameters === 'object' ? { jobParameters: b.job_parameters as Record<string, string> } : {}),
        lifeCycleState: 'RUNNING',
        stateMessage: 'In run',
        createdAt: new Date().toISOString(),
      };
      runs.push(run);
      if (token !== undefined) byToken.set(`${jobId}:${token}`, run);
      const settle = (err?: unknown): void => {
        run.lifeCycleState = 'TERMINATED';
        run.resultState = err ? 'FAILED' : 'SUCCESS';
        run.stateMessage = err ? String((err as Error).message ?? err) : '';
      };
      if (options.onRun) track(() => options.onRun!(run), settle);
      else settle();
      return { status: 200, body: { run_id: runId, number_in_job: runId } };
    }

    if (runGet && method === 'GET') {
      const runId = Number(query.get('run_id'));
      const run = runs.find((r) => r.runId === runId);
      if (!run) return error(400, 'INVALID_PARAMETER_VALUE', `Run ${query.get('run_id')} does not exist.`);
      const state = { life_cycle_state: run.lifeCycleState, state_message: run.stateMessage, ...(run.resultState ? { result_state: run.resultState } : {}) };
      const status = {
        state: run.lifeCycleState,
        ...(run.resultState ? { termination_details: { code: run.resultState === 'SUCCESS' ? 'SUCCESS' : 'RUN_EXECUTION_ERROR', type: run.resultState === 'SUCCESS' ? 'SUCCESS' : 'CLIENT_ERROR', message: run.stateMessage } } : {}),
      };
      return { status: 200, body: { run_id: run.runId, job_id: run.jobId, number_in_job: run.numberInJob, run_page_url: `${standIn.url}/#job/${run.jobId}/run/${run.runId}`, state, status } };
    }

    return error(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
  };

  const respond = (res: ServerResponse, r: ScriptedResponse): void => {
    const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    res.writeHead(r.status, { 'content-type': typeof r.body === 'string' ? 'text/plain' : 'application/json', ...(r.headers ?? {}) });
    res.end(text);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let bad = false;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
        bad = true;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      let out: ScriptedResponse;
      const scripted = scripts.find((s) => (!s.method || s.method === method) && (typeof s.path === 'string' ? s.path === url.pathname : s.path.test(url.pathname)) && s.responses.length > 0);
      const auth = headers.authorization ?? '';
      if (options.token ? auth !== `Bearer ${options.token}` : !/^Bearer \S+$/.test(auth)) {
        out = error(401, 'UNAUTHENTICATED', 'Invalid access token.');
      } else if (scripted) {
        out = scripted.responses.shift()!;
      } else if (bad) {
        out = error(400, 'MALFORMED_REQUEST', 'Request body is not valid JSON');
      } else {
        out = handle(method, url.pathname, url.searchParams, body);
      }
      requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body, status: out.status, at: new Date().toISOString() });
      respond(res, out);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const standIn: DatabricksStandIn = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    runs,
    script: (match, ...responses) => {
      scripts.push({ ...match, responses });
    },
    idle: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: async () => {
      await standIn.idle();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIn;
}

// `node dist/local/databricksStandIn.js [port] [token]`: a stand-in to point DATABRICKS_HOST at by hand.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [port, token] = process.argv.slice(2);
  const standIn = await startDatabricksStandIn({ ...(port ? { port: Number(port) } : {}), ...(token ? { token } : {}) });
  process.stdout.write(`Databricks stand-in on ${standIn.url} (DATABRICKS_HOST=${standIn.url})\n`);
}
