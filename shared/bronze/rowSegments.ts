import type { RowBatch, SourceColumn } from '../source/source.js';
import type { ColumnSegment, SegmentLimits } from './columnBatch.js';
import { ColumnBatch } from './columnBatch.js';

/**
 * Rows from a source that reads rows (SQL Server, the Postgres cursor) as the row groups a
 * columnar read yields: transposed into Arrow's layout, cut by the same limits, each with the
 * keyset cursor of its last row.
 */
export async function* segmentsFromRows(batches: AsyncIterable<RowBatch>, columns: SourceColumn[], limits: SegmentLimits): AsyncGenerator<ColumnSegment> {
  const batch = new ColumnBatch(
    columns.map((c) => ({ name: c.name, kind: c.parquet.kind })),
    limits.groupRows,
    limits.groupBytes,
  );
  let inPart = 0;
  let lastKey: string[] = [];
  const take = (): ColumnSegment => {
    const group = batch.take();
    inPart = (inPart + group.rows) % limits.partRows;
    return { ...group, lastKey };
  };
  for await (const b of batches) {
    let from = 0;
    while (from < b.rows.length) {
      const room = limits.partRows - inPart - batch.length;
      const taken = batch.append(b.rows, from, Math.min(b.rows.length - from, room));
      if (taken > 0) {
        lastKey = b.key(b.rows[from + taken - 1]!);
        from += taken;
      }
      if (batch.full || inPart + batch.length === limits.partRows) yield take();
    }
  }
  if (batch.length > 0) yield take();
}
