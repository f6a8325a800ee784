/** Parquet driver of @curate/shards: reader, file writer and footer inspection. */
export { inspectParquet, type ParquetColumnInfo, type ParquetInfo, type ParquetRowGroupInfo } from './inspect.js';
export { createParquetReader, type ParquetReaderOptions, parquetReader, readParquet } from './reader.js';
