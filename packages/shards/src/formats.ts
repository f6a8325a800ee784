/**
 * The format registry: one reader per input format, one file writer per output
 * format. Parquet lives in `./parquet/` behind the same interfaces
 * (`FormatReader`, `FileWriterFactory`).
 */

import type { Batch } from '@curate/core';
import { CurateError } from '@curate/core';
import { createJsonlWriter, jsonArrayReader, jsonlReader } from './jsonl.js';
import type { ParquetInfo } from './parquet/index.js';
import type {
  FileWriter,
  FileWriterOptions,
  FormatReader,
  InputFile,
  ReadOptions,
  ShardFormat,
  WriteCompression,
  WriteFormat,
} from './types.js';

// Parquet (hyparquet, codecs) and Arrow (apache-arrow) load on first use: a process that only
// touches JSONL starts ~0.1 s faster (measured: importing @curate/shards 134 ms -> see README).
const parquetReader: FormatReader = {
  async *read(file: InputFile, options: ReadOptions): AsyncIterable<Batch> {
    yield* (await import('./parquet/index.js')).parquetReader.read(file, options);
  },
};
const arrowReader: FormatReader = {
  async *read(file: InputFile, options: ReadOptions): AsyncIterable<Batch> {
    yield* (await import('./arrow.js')).arrowReader.read(file, options);
  },
};

/** Parquet footer facts for `curate inspect` (loads the Parquet driver on first use). */
export async function inspectParquet(path: string): Promise<ParquetInfo> {
  return (await import('./parquet/index.js')).inspectParquet(path);
}

/**
 * The columns to read from a file for a job that needs `needed` and uses `optional` when present:
 * for Parquet (whose footer lists its columns) those of them the file has, in file order, so the
 * others are never decoded. Undefined, i.e. every column, for the other formats (only their rows
 * tell), when a needed column is missing (the full read then reports it with the file's columns),
 * and when the job uses every column anyway.
 */
export async function columnsToRead(
  file: InputFile,
  needed: Iterable<string>,
  optional: Iterable<string> = [],
): Promise<string[] | undefined> {
  if (file.format !== 'parquet') return undefined;
  const declared = (await inspectParquet(file.path)).columns.map((c) => c.name);
  const has = new Set(declared);
  const want = new Set(needed);
  for (const c of want) if (!has.has(c)) return undefined;
  for (const c of optional) want.add(c);
  const read = declared.filter((c) => want.has(c));
  return read.length === 0 || read.length === declared.length ? undefined : read;
}

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
      return (await import('./arrow.js')).createArrowWriter(path, opts);
    case 'parquet':
      return (await import('./parquet/index.js')).createParquetFileWriter(path, opts);
    default:
      throw new CurateError(`unknown output format "${String(format)}"`, { code: 'E_UNKNOWN_FORMAT' });
  }
}
