import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitForPorts(ports: number[], what: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  for (;;) {
    if (exited !== null) throw new Error(`${what} exited with code ${exited} before it was ready`);
    const open = await Promise.all(ports.map((p) => portOpen(p)));
    if (open.every(Boolean)) return;
    if (Date.now() > until) throw new Error(`${what} did not open ports ${ports.join(', ')} within ${timeoutMs / 1000}s`);
    await sleep(200);
  }
}

export interface Managed {
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** A child node process that is stopped with the parent and logs to a file or nowhere. */
export function spawnNode(script: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function managed(child: ChildProcess): Managed {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    });
    return stopping;
  };
  process.once('exit', () => child.kill('SIGKILL'));
  return { pid: child.pid, stop };
}
