/**
 * The text template of each input file. Rules per file pattern (`TextSpec`) are resolved into
 * `fileTexts` on the main thread (@curate/shards matches the patterns), so worker threads of the
 * raw JSONL fast path only read strings and never load @curate/shards.
 */
import { UsageError } from '@curate/core';
import type { InputFile } from '@curate/shards';
import type { SignOptions } from './sign.js';

/** The text template of input file `fileIndex` (rules must have been resolved into `fileTexts`). */
export function textOfFile(options: SignOptions, fileIndex: number): string {
  const t = options.fileTexts?.[fileIndex] ?? options.text ?? 'text';
  if (typeof t !== 'string') {
    throw new UsageError('text rules per file pattern must be resolved into fileTexts first', { code: 'E_USAGE' });
  }
  return t;
}

/** `options` for one file: its text as `text`, no `fileTexts` (what the fast path and its checks read). */
export function fileOptions(options: SignOptions, fileIndex: number): SignOptions & { text: string } {
  const { fileTexts: _all, ...rest } = options;
  return { ...rest, text: textOfFile(options, fileIndex) };
}

/**
 * Input files the fast path reads: JSONL, plain or compressed (decompressed as a stream). Here, not
 * in fastwrite.ts, so that worker threads never load @curate/shards (~0.15-0.25 s of CPU each).
 */
export function isRawJsonl(f: InputFile): boolean {
  return f.format === 'jsonl';
}
