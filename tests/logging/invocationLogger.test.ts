import { setImmediate as tick } from 'node:timers/promises';
import { InvocationContext, type LogLevel } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { invocationLogger } from '../../shared/logging/invocationLogger.js';
import { loggingToInvocation, routedLogger, withInvocationLog } from '../../shared/logging/invocationScope.js';
import { createLogger } from '../../shared/logging/logger.js';
import { captureLogger } from '../support/alertStandIns.js';

type Line = { level: LogLevel; text: string };

function recordingContext(invocationId: string): { context: InvocationContext; lines: Line[] } {
  const lines: Line[] = [];
  const context = new InvocationContext({ functionName: 'f', invocationId, logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }) });
  return { context, lines };
}

describe('invocationLogger', () => {
  it('writes one line per call through the context method of its level: message, then fields as JSON', () => {
    const { context, lines } = recordingContext('a');
    const log = invocationLogger(context).child({ runId: 'run-1', table: 'orders' });
    log.info({ part: 3, rows: 50_000n }, 'part committed');
    log.warn('removed a part');
    log.error({ err: new Error('boom') }, 'failed');
    log.fatal({ runId: 'run-2' }, 'override');
    log.debug({ x: 1 });
    expect(lines.map((l) => l.level)).toEqual(['information', 'warning', 'error', 'error', 'debug']);
    expect(lines[0]!.text).toBe('part committed {"runId":"run-1","table":"orders","part":3,"rows":"50000"}');
    expect(lines[1]!.text).toBe('removed a part {"runId":"run-1","table":"orders"}');
    expect(JSON.parse(lines[2]!.text.slice('failed '.length))).toMatchObject({ runId: 'run-1', err: { type: 'Error', message: 'boom' } });
    expect(lines[3]!.text).toBe('override {"runId":"run-2","table":"orders"}');
    expect(lines[4]!.text).toBe('{"runId":"run-1","table":"orders","x":1}');
  });

  it('never writes a secret: censored fields, credentials in messages, error texts and nested values', () => {
    const { context, lines } = recordingContext('a');
    const log = invocationLogger(context);
    log.info({ password: 'hunter2', source: { url: 'postgres://u:pw@h/db', name: 'pg' } }, 'connect');
    log.error({ err: new Error('login failed for Server=sql;Password=hunter2') }, 'failed');
    log.error({ err: 'AccountKey=abc123;' }, 'as a string');
    log.info('using postgres://etl:s3cret@db.internal/music');
    const all = lines.map((l) => l.text).join('\n');
    for (const secret of ['hunter2', 'postgres://u:pw@', 'abc123', 's3cret']) expect(all).not.toContain(secret);
    expect(lines[0]!.text).toBe('connect {"password":"[redacted]","source":{"url":"[redacted]","name":"pg"}}');
  });

  it('drops lines below its level', () => {
    const { context, lines } = recordingContext('a');
    const log = invocationLogger(context, { level: 'warn' });
    log.info('no');
    log.debug({ a: 1 }, 'no');
    log.warn('yes');
    expect(lines.map((l) => l.text)).toEqual(['yes']);
  });
});

describe('routedLogger', () => {
  it('writes to the invocation it runs in, and to the fallback outside any invocation', async () => {
    const fallback = captureLogger();
    const log = routedLogger(fallback.logger, { level: 'info' }).child({ component: 'events' });
    const { context, lines } = recordingContext('a');
    log.info({ runId: 'outside' }, 'before');
    await withInvocationLog(context, async () => {
      await tick();
      log.child({ runId: 'run-1' }).info({ files: 2 }, 'inside');
      log.debug('filtered by the app level');
    });
    log.info('after');
    expect(lines).toEqual([{ level: 'information', text: 'inside {"component":"events","runId":"run-1","files":2}' }]);
    const fallbackLines = fallback.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fallbackLines.map((l) => [l.msg, l.component, l.runId])).toEqual([
      ['before', 'events', 'outside'],
      ['after', 'events', undefined],
    ]);
  });

  it('keeps concurrent invocations apart, however their awaits interleave', async () => {
    const fallback = captureLogger();
    const log = routedLogger(fallback.logger, { level: 'info' });
    const work = async (runId: string): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        log.child({ runId }).info({ i }, 'step');
        await tick();
      }
    };
    const a = recordingContext('a');
    const b = recordingContext('b');
    const handler = loggingToInvocation(async (runId: string, _context: InvocationContext) => work(runId));
    await Promise.all([handler('run-a', a.context), handler('run-b', b.context)]);
    expect(a.lines).toHaveLength(5);
    expect(b.lines).toHaveLength(5);
    for (const l of a.lines) expect(l.text).toContain('"runId":"run-a"');
    for (const l of b.lines) expect(l.text).toContain('"runId":"run-b"');
    expect(fallback.lines).toEqual([]);
  });
});

describe('createLogger (pino)', () => {
  it('logs an err field that is a string, masked, instead of throwing from its serializer', () => {
    // Callers log `err: describeError(e)`; the serializer assumed an Error and threw a TypeError.
    const log = createLogger({ level: 'silent' });
    expect(() => log.error({ err: 'AccountKey=abc' }, 'x')).not.toThrow();
    const loud = createLogger({ level: 'fatal', fd: 2 });
    expect(() => loud.fatal({ err: 'connect failed: Password=hunter2' }, 'string err (expected on stderr, masked)')).not.toThrow();
  });
});
