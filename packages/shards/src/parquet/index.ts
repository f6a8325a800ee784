/** Parquet driver of @curate/shards: reader, file writer and footer inspection. */

export { ZSTD_LEVEL, zstdCompress } from './codecs.js';
export { inspectParquet, type ParquetColumnInfo, type ParquetInfo, type ParquetRowGroupInfo } from './inspect.js';
export { createParquetReader, type ParquetReaderOptions, parquetReader, readParquet } from './reader.js';
export { createParquetFileWriter, DEFAULT_ROW_GROUP_BYTES } from './writer.js';
