/**
 * The format registry: one reader per input format, one file writer per output
 * format. Parquet lives in `./parquet/` behind the same interfaces
 * (`FormatReader`, `FileWriterFactory`).
 */
import { CurateError } from '@curate/core';
import { arrowReader, createArrowWriter } from './arrow.js';
import { createJsonlWriter, jsonArrayReader, jsonlReader } from './jsonl.js';
import { createParquetFileWriter, inspectParquet, parquetReader } from './parquet/index.js';
import type {
  FileWriter,
  FileWriterOptions,
  FormatReader,
  ShardFormat,
  WriteCompression,
  WriteFormat,
} from './types.js';

const READERS: Record<ShardFormat, FormatReader> = {
  parquet: parquetReader,
  arrow: arrowReader,
  arrows: arrowReader,
  jsonl: jsonlReader,
  json: jsonArrayReader,
};

export function readerFor(format: ShardFormat): FormatReader {
  return READERS[format];
}

/** Default compression per output format. */
export const DEFAULT_COMPRESSION: Record<WriteFormat, WriteCompression> = {
  parquet: 'zstd',
  arrow: 'none',
  jsonl: 'none',
};

/** File extension of an output shard: `.parquet`, `.arrow`, `.jsonl`, `.jsonl.gz`, `.jsonl.zst`. */
export function extensionFor(format: WriteFormat, compression: WriteCompression = DEFAULT_COMPRESSION[format]): string {
  if (format === 'jsonl')
    return compression === 'gzip' ? '.jsonl.gz' : compression === 'zstd' ? '.jsonl.zst' : '.jsonl';
  return format === 'parquet' ? '.parquet' : '.arrow';
}

/** Open a writer for one output file. */
export async function createFileWriter(
  format: WriteFormat,
  path: string,
  options: FileWriterOptions,
): Promise<FileWriter> {
  const opts = { ...options, compression: options.compression ?? DEFAULT_COMPRESSION[format] };
  switch (format) {
    case 'jsonl':
      return createJsonlWriter(path, opts);
    case 'arrow':
      return createArrowWriter(path, opts);
    case 'parquet':
      return createParquetFileWriter(path, opts);
    default:
      throw new CurateError(`unknown output format "${String(format)}"`, { code: 'E_UNKNOWN_FORMAT' });
  }
}

export { inspectParquet };
