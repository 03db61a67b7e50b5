import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function soundlake(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/soundlake.ts', ...args], { env: { ...process.env, ASK_LLM_BASE_URL: '', ASK_LLM_MODEL: '', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('soundlake ask', () => {
  it('refuses a non-query in the SQL mode with the reason, exit code 1, and logs the verdict to stderr', async () => {
    const res = await soundlake(['ask', '--sql', 'DROP TABLE gold.dim_user', '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ mode: 'sql', status: 'refused', error: { code: 'not_select' }, rows: [] });
    expect(res.stderr).toContain('"verdict":"not_select"');
  });

  it('says what to set when a question arrives without an LLM (exit code 2)', async () => {
    const res = await soundlake(['ask', 'who are the top 3 artists by streams?']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/ASK_LLM_BASE_URL and ASK_LLM_MODEL[\s\S]*--sql/);
  });

  it('refuses a question and --sql together', async () => {
    const res = await soundlake(['ask', 'top artists?', '--sql', 'SELECT 1']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--sql send either');
  });
});
