import { z } from 'zod';

/**
 * Zod 4 compiles a fast path for each object schema with `new Function` the first time it
 * parses a value. soundlake's schemas (settings, the table catalogue, queue messages, HTTP
 * bodies) each parse a handful of values per process, so the compiling is cost without return:
 * under callgrind a 1,000-row CLI ingest ran about 25M fewer instructions without it (of about
 * 1G). No data path validates rows with zod. Imported first by each entry point (the CLI, the
 * Functions app).
 */
z.config({ jitless: true });
