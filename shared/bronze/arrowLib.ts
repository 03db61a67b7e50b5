import { createRequire } from 'node:module';
import type * as Arrow from 'apache-arrow';

/**
 * Apache Arrow JS from its single-file build. The package's ES modules are some two hundred
 * files: loading them costs each encoder thread about 0.15 CPU-seconds at start, the bundle
 * 0.02 (measured on this project's 2-core machine), and a CLI run starts one thread. Same API;
 * everything that builds Arrow objects for the encoder takes them from here, so no object of one
 * copy of the library meets a check of the other.
 */
export const arrow = createRequire(import.meta.url)('apache-arrow/Arrow.esnext.min') as typeof Arrow;
export type { Arrow };
