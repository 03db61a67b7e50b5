/**
 * Named points in the life of a slice. Tests throw from a checkpoint to simulate a crash at
 * exactly that step; production passes no hooks.
 */
export type Checkpoint =
  | 'pending-recorded' // slice planned and saved, nothing written yet
  | 'rows-written' // rows of an uncommitted part are staged in the lake
  | 'part-committed' // a part is visible in the lake, not yet recorded in state
  | 'part-recorded' // a part is recorded in state
  | 'parts-complete' // all parts committed, surplus not yet removed, no manifest
  | 'manifest-written' // manifest in the lake, watermark not yet moved (a slice in key ranges: its one manifest, written by its finisher)
  | 'committed'; // watermark moved

export interface FaultHooks {
  checkpoint?(point: Checkpoint, detail: { table: string; slice: string; part?: number }): void | Promise<void>;
}
