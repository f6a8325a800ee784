/** File format detection by extension. */
import { InputError } from '@curate/core';
import type { ShardFormat, StreamCompression } from './types.js';

const FORMAT_BY_EXT: Record<string, ShardFormat> = {
  '.parquet': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.arrows': 'arrows',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
};

const COMPRESSION_BY_EXT: Record<string, StreamCompression> = { '.gz': 'gzip', '.zst': 'zstd' };

/** Formats whose whole file may be gzip/zstd compressed (`.jsonl.gz`, `.json.zst`). */
const TEXT_FORMATS = new Set<ShardFormat>(['jsonl', 'json']);

function extOf(name: string): string {
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  const dot = name.lastIndexOf('.');
  return dot > slash ? name.slice(dot).toLowerCase() : '';
}

/** The format (and whole-file compression) of a path, from its extension. */
export function detectFormat(path: string): { format: ShardFormat; compression?: StreamCompression } {
  let name = path;
  let compression: StreamCompression | undefined;
  const outer = extOf(name);
  if (outer in COMPRESSION_BY_EXT) {
    compression = COMPRESSION_BY_EXT[outer];
    name = name.slice(0, -outer.length);
  }
  const ext = extOf(name);
  const format = FORMAT_BY_EXT[ext];
  if (!format || (compression && !TEXT_FORMATS.has(format))) {
    throw new InputError(
      `unknown shard format "${extOf(path) || '(no extension)'}": expected .parquet, .arrow, .feather, .arrows, .jsonl, .ndjson or .json (text formats may end in .gz or .zst)`,
      { code: 'E_UNKNOWN_FORMAT', file: path },
    );
  }
  return compression ? { format, compression } : { format };
}

/** True when the path has an extension curate reads. */
export function isKnownShard(path: string): boolean {
  try {
    detectFormat(path);
    return true;
  } catch {
    return false;
  }
}
