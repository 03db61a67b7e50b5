import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { createApp } from '../shared/app/soundlakeApp.js';
import { parsePipelineConfig } from '../shared/config/pipelineConfig.js';
import { loadSettings } from '../shared/config/settings.js';
import { ingestTable } from '../shared/extract/ingestTable.js';
import { createLogger } from '../shared/logging/logger.js';
import { newRunId } from '../shared/run/runId.js';
import { startAzurite } from '../local/azurite.js';

/**
 * A large CSV over HTTP, generated on the fly by a loopback server (never held anywhere), landed
 * in Azurite's bronze through the real core: throughput and peak RSS. The slice reads the file
 * twice (the probe hashes and checks every record, the read writes them), so MB/s is of the
 * file, with both passes in the time. Run with the same heap cap as the SQL bench:
 * `npm run bench:http` (default 1 GB; `-- --bytes 200000000` for a quick one).
 */
const opts = new Command().option('--bytes <n>', 'size of the generated CSV', '1000000000').parse().opts<{ bytes: string }>();

// Fixed-width rows, so the Content-Length is known without generating the file first.
const HEADER = 'stream_id,track_name,ms_played,streamed_at,country\n';
const row = (i: number): string => `${String(i).padStart(12, '0')},"track ${String(i % 1_000_003).padStart(8, '0')}, live",${String((i * 7919) % 600_000).padStart(6, '0')},2026-11-01T${String(Math.floor(i / 3600) % 24).padStart(2, '0')}:00:00Z,SE\n`;
const WIDTH = Buffer.byteLength(row(0));
const rows = Math.floor((Number(opts.bytes) - HEADER.length) / WIDTH);
const total = HEADER.length + rows * WIDTH;

function body(): Readable {
  let i = 0;
  let sentHeader = false;
  return new Readable({
    read() {
      if (!sentHeader) {
        sentHeader = true;
        this.push(HEADER);
      }
      const chunk: string[] = [];
      for (let k = 0; k < 2000 && i < rows; k++) chunk.push(row(i++));
      this.push(chunk.length > 0 ? chunk.join('') : null);
    },
  });
}

const server = createServer((req, res) => {
  if (req.headers['if-none-match'] === '"bench"') return void res.writeHead(304).end();
  res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(total), etag: '"bench"' });
  body().pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const azurite = await startAzurite({ ports: { blob: 22010, queue: 22011, table: 22012 }, reuse: false });
try {
  const settings = loadSettings({
    SOUNDLAKE_STORAGE: azurite.connectionString,
    BRONZE_CONTAINER: 'bench-http',
    WATERMARK_TABLE: 'wmhttp',
    LEDGER_TABLE: 'runshttp',
    HTTP_ALLOWED_HOSTS: '127.0.0.1',
    HTTP_ALLOW_PRIVATE_ADDRESSES: 'true',
  });
  const config = parsePipelineConfig(`version: 1
sources: [{ name: files, kind: http, baseUrl: "${url}/" }]
tables:
  - name: big_csv
    source:
      name: files
      urls: [big.csv]
      format: csv
      fields: [{ name: stream_id, type: bigint }, { name: track_name, type: string }, { name: ms_played, type: int }, { name: streamed_at, type: timestamp }, { name: country, type: string }]
    primaryKey: [stream_id]
`);
  const app = await createApp(settings, { logger: createLogger({ level: process.env.BENCH_LOG ?? 'warn', fd: 2 }), config });
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await ingestTable(app.ingestDeps(), config.tables[0]!, { runId: newRunId('bench'), trigger: 'bench' });
  const seconds = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  if (result.status !== 'succeeded' || result.rows !== rows) throw new Error(`http file extraction did not succeed: ${result.message}`);
  const again = await ingestTable(app.ingestDeps(), config.tables[0]!, { runId: newRunId('bench'), trigger: 'bench' });
  await app.close();
  console.log(
    [
      `http CSV ${(total / 1e9).toFixed(2)} GB, ${rows.toLocaleString('en')} rows`,
      `${seconds.toFixed(1)} s (probe + read)`,
      `${(total / 1e6 / seconds).toFixed(1)} MB/s of file`,
      `${cpuSeconds.toFixed(1)} s CPU of this process (${(total / 1e6 / cpuSeconds).toFixed(1)} MB/s per CPU second; the machine's load average was ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`,
      `${result.files} parts`,
      `peak RSS ${(peak / 1e6).toFixed(1)} MB (bound 300 MB)`,
      `second run: ${again.status}`,
    ].join(' | '),
  );
  if (peak > 300e6) process.exitCode = 1;
} finally {
  await azurite.stop();
  server.close();
}
