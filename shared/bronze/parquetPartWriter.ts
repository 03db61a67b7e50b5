import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { LakeUpload } from '../lake/lake.js';
import { schemaElement } from '../source/parquetTypes.js';
import type { SourceColumn } from '../source/source.js';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/**
 * A hyparquet ByteWriter that hands its buffer to the lake after every row group, so an open
 * file holds about one row group in memory however large the part grows.
 */
class UploadingWriter extends ByteWriter {
  constructor(private readonly sink: LakeUpload) {
    super(1 << 20);
  }

  flush(): Promise<void> | void {
    if (this.index === 0) return;
    const bytes = new Uint8Array(this.buffer, 0, this.index).slice();
    this.index = 0;
    return this.sink.stage(bytes);
  }

  override finish(): Promise<void> | void {
    return this.flush();
  }
}

/**
 * One bronze Parquet file (Snappy), written row group by row group to a lake upload.
 * Rows arrive as arrays in column order with values already in physical form.
 */
export class ParquetPartWriter {
  private readonly writer: ParquetWriter;
  private readonly schema: SchemaElement[];
  private pending: unknown[][][] = [];
  private pendingRows = 0;
  rows = 0;

  constructor(
    private readonly columns: SourceColumn[],
    private readonly upload: LakeUpload,
    private readonly rowGroupRows: number,
    kvMetadata: Record<string, string> = {},
  ) {
    this.schema = [
      { name: 'schema', num_children: columns.length },
      ...columns.map((c) => schemaElement(c.name, c.parquet, c.nullable)),
    ];
    this.writer = new ParquetWriter({
      writer: new UploadingWriter(upload),
      schema: this.schema,
      codec: 'SNAPPY',
      createdBy: 'soundlake (hyparquet-writer)',
      kvMetadata: Object.entries(kvMetadata).map(([key, value]) => ({ key, value })),
    });
  }

  /** Buffer rows; writes a row group whenever enough are buffered. */
  async add(rows: unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    this.pending.push(rows);
    this.pendingRows += rows.length;
    this.rows += rows.length;
    while (this.pendingRows >= this.rowGroupRows) await this.writeGroup(this.rowGroupRows);
  }

  private takeRows(count: number): unknown[][] {
    const out: unknown[][] = [];
    while (out.length < count) {
      const head = this.pending[0]!;
      const need = count - out.length;
      if (head.length <= need) {
        for (const r of head) out.push(r);
        this.pending.shift();
      } else {
        for (let i = 0; i < need; i++) out.push(head[i]!);
        this.pending[0] = head.slice(need);
      }
    }
    this.pendingRows -= count;
    return out;
  }

  private async writeGroup(count: number): Promise<void> {
    const rows = this.takeRows(count);
    const columnData = this.columns.map((c, j) => {
      const data = new Array<unknown>(rows.length);
      for (let i = 0; i < rows.length; i++) data[i] = rows[i]![j];
      return { name: c.name, data: data as never, nullable: c.nullable };
    });
    await this.writer.write({ columnData, rowGroupSize: count });
  }

  /** Writes what is buffered and the footer, then commits the file; returns its size in bytes. */
  async finish(): Promise<number> {
    if (this.pendingRows > 0) await this.writeGroup(this.pendingRows);
    await this.writer.finish();
    return this.upload.commit(PARQUET_CONTENT_TYPE);
  }
}
