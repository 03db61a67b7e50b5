import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm/node';

/** A small Parquet file as a publisher would put one on GitHub: id (INT64) and track (STRING), three rows in two row groups. */
export async function parquetBytes(): Promise<Buffer> {
  const table = arrow.tableFromArrays({ id: BigInt64Array.from([1n, 2n, 3n]), track: ['x', 'y', 'z'] });
  const wasm = parquet.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  const props = new parquet.WriterPropertiesBuilder().setMaxRowGroupSize(2).build();
  return Buffer.from(parquet.writeParquet(wasm, props));
}
