import { afterEach, describe, expect, it } from 'vitest';
import { startDatabricksStandIn, type DatabricksStandIn, type StandInRun } from '../../local/databricksStandIn.js';

/** The stand-in itself, spoken to with plain fetch: what the local runner relies on. */
let standIn: DatabricksStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

const call = async (method: string, path: string, body?: unknown, token = 'dapi-local'): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${standIn!.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('Databricks stand-in', () => {
  it('runs the callback once per new run; the run is RUNNING until it settles, then SUCCESS or FAILED', async () => {
    const started: StandInRun[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    standIn = await startDatabricksStandIn({
      token: 'dapi-local',
      onRun: async (run) => {
        started.push(run);
        if (run.jobParameters?.fail) throw new Error('medallion failed');
        await gate;
      },
    });
    const a = await call('POST', '/api/2.2/jobs/run-now', { job_id: 7, idempotency_token: 'w1' });
    const again = await call('POST', '/api/2.1/jobs/run-now', { job_id: 7, idempotency_token: 'w1' });
    expect(a).toEqual({ status: 200, body: { run_id: 1000, number_in_job: 1000 } });
    expect(again.body.run_id).toBe(1000);
    expect(started.map((r) => r.runId)).toEqual([1000]);
    expect((await call('GET', '/api/2.2/jobs/runs/get?run_id=1000')).body).toMatchObject({ run_id: 1000, job_id: 7, state: { life_cycle_state: 'RUNNING' }, status: { state: 'RUNNING' } });
    release();
    await standIn.idle();
    expect((await call('GET', '/api/2.2/jobs/runs/get?run_id=1000')).body).toMatchObject({ state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' }, status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS' } } });

    const failing = await call('POST', '/api/2.2/jobs/run-now', { job_id: 7, job_parameters: { fail: 'yes' } });
    await standIn.idle();
    expect((await call('GET', `/api/2.2/jobs/runs/get?run_id=${String(failing.body.run_id)}`)).body).toMatchObject({ state: { life_cycle_state: 'TERMINATED', result_state: 'FAILED', state_message: 'medallion failed' } });
  });

  it('answers like Databricks for bad tokens, unknown jobs, unknown runs and unknown endpoints', async () => {
    standIn = await startDatabricksStandIn({ token: 'dapi-local', jobs: [1] });
    expect(await call('POST', '/api/2.2/jobs/run-now', { job_id: 1 }, 'dapi-other')).toEqual({ status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' } });
    expect(await call('POST', '/api/2.2/jobs/run-now', { job_id: 2 })).toEqual({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Job 2 does not exist.' } });
    expect(await call('GET', '/api/2.2/jobs/runs/get?run_id=999')).toEqual({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 999 does not exist.' } });
    expect((await call('GET', '/api/2.2/clusters/list')).status).toBe(404);
    expect(standIn.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /api/2.2/jobs/run-now 401',
      'POST /api/2.2/jobs/run-now 400',
      'GET /api/2.2/jobs/runs/get 400',
      'GET /api/2.2/clusters/list 404',
    ]);
  });
});
