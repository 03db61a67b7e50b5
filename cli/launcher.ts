#!/usr/bin/env node
// The bundled CLI's entry point (dist/cli/soundlake.js, see scripts/bundle-cli.mjs): runs the
// CommonJS bundle of cli/soundlake.ts with V8's code cache.
import { fileURLToPath } from 'node:url';
import { isCacheVariant, runWithCodeCache } from './codeCache.js';

// The command names the cache; options, help and anything unexpected share one.
const command = process.argv[2];
runWithCodeCache(fileURLToPath(new URL('./soundlake.cjs', import.meta.url)), command && isCacheVariant(command) ? command : 'other');
