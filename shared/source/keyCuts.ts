/**
 * Where to cut `ranges` key ranges of about equal rows in keys listed in key order (a sample, or
 * every key of a small table): the keys at the quantiles, each the inclusive end of its range. A
 * repeated pick (few keys) is skipped, so the cuts strictly increase.
 */
export function quantileCuts(keys: string[][], ranges: number): string[][] {
  const boundaries: string[][] = [];
  for (let r = 1; r < ranges; r++) {
    const key = keys[Math.floor((r * keys.length) / ranges) - 1];
    if (key && (boundaries.length === 0 || boundaries.at(-1)!.join('\u0000') !== key.join('\u0000'))) boundaries.push(key);
  }
  return boundaries;
}

/** Consecutive equal keys dropped: cuts resolved to the same row would make an empty range between them. */
export function distinctCuts(keys: string[][]): string[][] {
  return keys.filter((k, i) => i === 0 || k.join('\u0000') !== keys[i - 1]!.join('\u0000'));
}
