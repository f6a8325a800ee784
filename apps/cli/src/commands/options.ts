import { UsageError } from '@curate/core';
import {
  parseTextOption,
  type ShardWriterOptions,
  type TextSpec,
  type WriteCompression,
  type WriteFormat,
} from '@curate/shards';

/** Parse sizes like `128MB`, `1.5GiB`, `500kb`, `1048576`. */
export function parseSize(value: string, flag = '--shard-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(value);
  if (!m) throw new UsageError(`${flag}: cannot read size "${value}" (examples: 128MB, 1GiB, 500000)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '').replace(/i$/, '');
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit];
  if (pow === undefined) throw new UsageError(`${flag}: unknown unit in "${value}"`);
  const bytes = Math.round(n * 1024 ** pow);
  if (bytes <= 0) throw new UsageError(`${flag}: must be > 0`);
  return bytes;
}

/** Codecs each output format takes (the shards writers'). */
const CODECS: Record<WriteFormat, WriteCompression[]> = {
  parquet: ['zstd', 'snappy', 'gzip', 'none'],
  arrow: ['zstd', 'none'],
  jsonl: ['gzip', 'zstd', 'none'],
};

export function writerOptions(opts: Record<string, unknown>, dir: string): ShardWriterOptions {
  const format = (opts.format as WriteFormat | undefined) ?? 'parquet';
  let compression = opts.compression as WriteCompression | undefined;
  if (!compression) compression = format === 'parquet' ? 'zstd' : 'none';
  const allowed = CODECS[format];
  if (!allowed.includes(compression)) {
    throw new UsageError(
      `--compression ${compression} is not supported for ${format} output; use ${allowed.join(', ')}`,
    );
  }
  return {
    dir,
    format,
    compression,
    maxRows: opts.shardRows as number | undefined,
    maxBytes: parseSize(String(opts.shardSize ?? '128MB')),
  };
}

/** The `--text` values (repeatable) as one template or rules per file pattern; default `text`. */
export function textSpec(opts: Record<string, unknown>): TextSpec {
  const values = opts.text as string[] | string | undefined;
  if (values === undefined || (Array.isArray(values) && values.length === 0)) return 'text';
  return parseTextOption(values);
}
