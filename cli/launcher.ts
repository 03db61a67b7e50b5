#!/usr/bin/env node
// The bundled CLI's entry point (dist/cli/soundlake.js, see scripts/bundle-cli.mjs): runs the
// CommonJS bundle of cli/soundlake.ts with V8's code cache.
//
// The encoder thread raises V8's WebAssembly tiering budget (wasmTiering.ts). V8 flags are the
// process's, and a code cache records the flags it was made with: set here, before anything is
// compiled, every run makes and reads its cache under the same flags.
import '../shared/bronze/wasmTiering.js';
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './codeCache.js';

runWithCodeCache(fileURLToPath(new URL('./soundlake.cjs', import.meta.url)));
