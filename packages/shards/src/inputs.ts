/** Resolve paths, directories and globs into a sorted list of input shards. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '@curate/core';
import { glob, isDynamicPattern } from 'tinyglobby';
import { detectFormat, isKnownShard } from './detect.js';
import type { InputFile } from './types.js';

async function toInputFile(path: string, size?: number): Promise<InputFile> {
  const { format, compression } = detectFormat(path);
  const bytes = size ?? (await stat(path)).size;
  return compression ? { path, format, compression, size: bytes } : { path, format, size: bytes };
}

function byPath(a: InputFile, b: InputFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Expand files, directories (recursively, known extensions only, hidden files
 * skipped) and globs into absolute input files, sorted by path and de-duplicated.
 */
export async function expandInputs(patterns: string[], options: { cwd?: string } = {}): Promise<InputFile[]> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const found = new Map<string, InputFile>();
  for (const pattern of patterns) {
    let paths: string[];
    const abs = resolve(cwd, pattern);
    // An existing path is taken literally even when it looks like a glob (`data (1)/x.jsonl`).
    const st = await stat(abs).catch(() => undefined);
    if (!st && isDynamicPattern(pattern)) {
      const matches = await glob(pattern, { cwd, absolute: true, onlyFiles: true, expandDirectories: false });
      paths = matches.filter(isKnownShard);
      if (paths.length === 0) {
        const extra = matches.length ? ` (${matches.length} files matched, none with a shard extension)` : '';
        throw new InputError(`no input files match "${pattern}"${extra}`, { code: 'E_NO_MATCH', file: pattern });
      }
    } else {
      if (!st) throw new InputError('file or directory not found', { code: 'E_NOT_FOUND', file: pattern });
      if (st.isDirectory()) {
        const matches = await glob('**/*', { cwd: abs, absolute: true, onlyFiles: true });
        paths = matches.filter(isKnownShard);
        if (paths.length === 0) {
          throw new InputError('directory contains no .parquet, .arrow, .arrows, .feather, .jsonl or .json files', {
            code: 'E_NO_MATCH',
            file: pattern,
          });
        }
      } else {
        detectFormat(pattern);
        found.set(abs, await toInputFile(abs, st.size));
        continue;
      }
    }
    for (const p of paths) {
      const abs = resolve(p);
      if (!found.has(abs)) found.set(abs, await toInputFile(abs));
    }
  }
  return [...found.values()].sort(byPath);
}

/** An input file for one path (format by extension); a missing file is `E_NOT_FOUND`. */
export async function inputFile(path: string): Promise<InputFile> {
  const { format, compression } = detectFormat(path);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: path });
  return compression ? { path, format, compression, size: st.size } : { path, format, size: st.size };
}
