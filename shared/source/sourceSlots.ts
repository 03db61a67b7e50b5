/**
 * The seam for a per-source cap on concurrent reads across instances: every key range of a
 * ranged load asks for a slot of its source before it reads and gives it back after. A
 * `null` slot means the source is at its cap: the range is skipped now and runs when its
 * message comes again (or the table's next run hands it out). The cap itself (lease entities
 * per source, say) is built elsewhere; without one, every ask gets a slot.
 */
export interface SourceSlots {
  acquire(source: string, owner: string): Promise<(() => Promise<void>) | null>;
}

export const unlimitedSlots: SourceSlots = {
  acquire: async () => async () => undefined,
};
