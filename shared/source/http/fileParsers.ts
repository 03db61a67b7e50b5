/**
 * The file format parsers, in one module that fileRecords.ts loads on first use (about 0.8 MB of
 * bundled code: iconv-lite's tables, csv-parse, stream-json, hyparquet). A run that reads no file
 * over HTTP, such as a database extraction from the CLI, never compiles them.
 */
export { parse as parseCsv, CsvError } from 'csv-parse';
export { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
export { default as iconv } from 'iconv-lite';
export { default as streamArray } from 'stream-json/streamers/stream-array.js';
