/**
 * The format registry: one reader per input format, one file writer per output
 * format. Parquet lives in `./parquet/` (its own engineer) behind the same
 * interfaces (`FormatReader`, `FileWriterFactory`).
 */
import { CurateError } from '@curate/core';
import { arrowReader, createArrowWriter } from './arrow.js';
import { createJsonlWriter, jsonArrayReader, jsonlReader } from './jsonl.js';
import type {
  FileWriter,
  FileWriterFactory,
  FileWriterOptions,
  FormatReader,
  ShardFormat,
  WriteCompression,
  WriteFormat,
} from './types.js';

interface ParquetModule {
  parquetReader: FormatReader;
  createParquetFileWriter: FileWriterFactory;
  inspectParquet(path: string): Promise<unknown>;
}

let parquetModule: Promise<ParquetModule> | undefined;

/** The Parquet driver, loaded on first use. */
export function loadParquet(): Promise<ParquetModule> {
  // A variable specifier keeps this file compiling while ./parquet/ is being written.
  const spec = './parquet/index.js';
  parquetModule ??= (import(spec) as Promise<ParquetModule>).catch((e: unknown) => {
    parquetModule = undefined;
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('parquet')) {
      throw new CurateError('Parquet support is not available in this build', {
        code: 'E_FORMAT_UNAVAILABLE',
        cause: e,
      });
    }
    throw e;
  });
  return parquetModule;
}

const parquetReader: FormatReader = {
  async *read(file, options) {
    const m = await loadParquet();
    yield* m.parquetReader.read(file, options);
  },
};

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
  parquet: 'snappy',
  arrow: 'none',
  jsonl: 'none',
};

/** File extension of an output shard: `.parquet`, `.arrow`, `.jsonl`, `.jsonl.gz`. */
export function extensionFor(format: WriteFormat, compression: WriteCompression = DEFAULT_COMPRESSION[format]): string {
  if (format === 'jsonl') return compression === 'gzip' ? '.jsonl.gz' : '.jsonl';
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
      return (await loadParquet()).createParquetFileWriter(path, opts);
    default:
      throw new CurateError(`unknown output format "${String(format)}"`, { code: 'E_UNKNOWN_FORMAT' });
  }
}
