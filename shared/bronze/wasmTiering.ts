import { setFlagsFromString } from 'node:v8';

/**
 * Imported by the encoder thread before parquet-wasm, whose module is compiled when it loads.
 * V8 recompiles a WebAssembly function with its optimizing compiler once the function has run
 * for a "budget"; with the default budget, one bronze file sends a few hundred of parquet-wasm's
 * functions to the optimizer on background threads, CPU that a CLI run pays on the same two
 * cores as the database. Ten times the budget leaves that to the functions that encode every
 * value. Measured on 1M stream events from a real PostgreSQL, encoder thread started and the
 * file encoded in a fresh process, four paired runs: 0.61-0.65 CPU-seconds (median 0.63)
 * instead of 0.65-0.86 (median 0.76); the encoder's wall time did not grow.
 */
setFlagsFromString('--wasm-tiering-budget=18000000');
