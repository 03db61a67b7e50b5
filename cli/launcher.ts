#!/usr/bin/env node
// The bundled CLI's entry point (dist/cli/soundlake.cjs, see scripts/bundle-cli.mjs): runs the
// CommonJS bundle of cli/soundlake.ts (dist/cli/soundlake-bundle.cjs) with V8's code cache.
// Itself CommonJS: an ES module entry makes Node 20 set up its ES module loader first, about
// 45 ms of a CPU per run on the bench machine before the bundle is even read.
import { join } from 'node:path';
import { isCacheVariant, runWithCodeCache } from './codeCache.js';

// The command names the cache; options, help and anything unexpected share one.
const command = process.argv[2];
runWithCodeCache(join(import.meta.dirname, 'soundlake-bundle.cjs'), command && isCacheVariant(command) ? command : 'other');
