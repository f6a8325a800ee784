/** Reading shards: dispatch by format, sequential over many files, and `inspect`. */
import { type Batch, batchRows, CurateError, dict, InputError, type Row, withFile } from '@curate/core';
import { inspectParquet, readerFor } from './formats.js';
import { expandInputs, type InputOptions, inputFile } from './inputs.js';
import type { ParquetInfo } from './parquet/index.js';
import type { InputFile, ReadOptions, ShardFormat, StreamCompression } from './types.js';

function wrap(e: unknown, file: string): unknown {
  if (e instanceof CurateError) return withFile(e, file);
  if (e instanceof Error && e.name === 'AbortError') return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return new InputError('file not found', { code: 'E_NOT_FOUND', file, cause: e });
  return new InputError(`cannot read: ${err?.message ?? String(e)}`, { code: 'E_READ', file, cause: e });
}

/** Batches of one file (`batch.file` and `batch.offset` set). */
export async function* readShard(
  file: string | InputFile,
  options: ReadOptions & Pick<InputOptions, 'allowSpecialFiles'> = {},
): AsyncIterable<Batch> {
  const path = typeof file === 'string' ? file : file.path;
  try {
    const input = typeof file === 'string' ? await inputFile(file, options) : file;
    yield* readerFor(input.format).read(input, options);
  } catch (e) {
    if (options.signal?.aborted && e === options.signal.reason) throw e;
    throw wrap(e, path);
  }
}

/** Batches of many files, one file after another in path order. */
export async function* readShards(
  inputs: string[] | InputFile[],
  options: ReadOptions & InputOptions = {},
): AsyncIterable<Batch> {
  const { cwd, allowSpecialFiles, ...readOptions } = options;
  const files =
    inputs.length && typeof inputs[0] === 'string'
      ? await expandInputs(inputs as string[], { cwd, allowSpecialFiles })
      : [...(inputs as InputFile[])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of files) yield* readShard(f, { ...readOptions, allowSpecialFiles });
}

/**
 * The top-level column names of one shard from its schema, without reading its rows: the Parquet
 * footer, the Arrow schema, and for JSON/JSONL (which have no schema) the keys of the first batch,
 * the rows every reader of a text template checks first. For `curate validate`.
 */
export async function shardColumns(file: string | InputFile): Promise<string[]> {
  const path = typeof file === 'string' ? file : file.path;
  try {
    const input = typeof file === 'string' ? await inputFile(file) : file;
    if (input.format === 'parquet') return (await inspectParquet(input.path)).columns.map((c) => c.name);
    if (input.format === 'arrow' || input.format === 'arrows')
      return (await (await import('./arrow.js')).arrowColumnTypes(input)).map((c) => c.name);
    for await (const batch of readerFor(input.format).read(input, {})) return Object.keys(batch.columns);
    return [];
  } catch (e) {
    throw wrap(e, path);
  }
}

export interface ShardInfo {
  path: string;
  format: ShardFormat;
  compression?: StreamCompression;
  size: number;
  rows: number;
  /**
   * Column names with a type: the Arrow / Parquet schema type, or for JSON the
   * kind of the values (`string`, `int64`, `double`, `boolean`, `struct`, `list`,
   * `mixed`, or `null` when every value is null).
   */
  columns: { name: string; type: string }[];
  /** Parquet metadata from the Parquet driver's `inspectParquet` (row groups, codecs, ...). */
  parquet?: ParquetInfo;
  /** The first `sample` rows (default 5). */
  sample: Row[];
}

function valueType(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'int64';
    case 'number':
      return Number.isSafeInteger(v) ? 'int64' : 'double';
    default:
      return Array.isArray(v) ? 'list' : 'struct';
  }
}

function mergeType(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || a === b) return b ?? a;
  if (b === undefined) return a;
  if ((a === 'int64' && b === 'double') || (a === 'double' && b === 'int64')) return 'double';
  return 'mixed';
}

/** Rows, columns with types and a sample of one shard (for `curate inspect`). Reads the whole file. */
export async function inspectShard(path: string, options: { sample?: number } = {}): Promise<ShardInfo> {
  const want = options.sample ?? 5;
  const input = await inputFile(path);
  const info: ShardInfo = { path, format: input.format, size: input.size, rows: 0, columns: [], sample: [] };
  if (input.compression) info.compression = input.compression;
  if (input.format === 'parquet') {
    try {
      info.parquet = await inspectParquet(path);
    } catch (e) {
      throw wrap(e, path);
    }
    // Rows and schema come from the footer; read only as much as the sample needs.
    info.rows = info.parquet.rows;
    info.columns = info.parquet.columns.map((c) => ({ name: c.name, type: c.type }));
    if (want > 0) {
      for await (const batch of readShard(input, { batchSize: want })) {
        info.sample = batchRows(batch).slice(0, want);
        break;
      }
    }
    return info;
  }
  const types = new Map<string, string | undefined>();
  for await (const batch of readShard(input)) {
    for (const [name, values] of Object.entries(batch.columns)) {
      let t = types.get(name);
      for (let i = 0; i < values.length && t !== 'mixed'; i++) t = mergeType(t, valueType(values[i]));
      types.set(name, t);
    }
    for (let i = 0; i < batch.length && info.sample.length < want; i++) {
      const row: Row = dict();
      for (const [name, values] of Object.entries(batch.columns)) row[name] = values[i];
      info.sample.push(row);
    }
    info.rows += batch.length;
  }
  info.columns =
    input.format === 'arrow' || input.format === 'arrows'
      ? await (await import('./arrow.js')).arrowColumnTypes(input)
      : [...types].map(([name, type]) => ({ name, type: type ?? 'null' }));
  return info;
}
