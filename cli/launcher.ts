#!/usr/bin/env node
// The bundled CLI's entry point (dist/cli/soundlake.js, see scripts/bundle-cli.mjs): runs the
// CommonJS bundle of cli/soundlake.ts with V8's code cache.
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './codeCache.js';

runWithCodeCache(fileURLToPath(new URL('./soundlake.cjs', import.meta.url)));
