/** Resolve paths, directories and globs into a sorted list of input shards. */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { InputError } from '@curate/core';
import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';
import { detectFormat, isKnownShard } from './detect.js';
import { isRemote, type ObjectInfo, storageFor } from './storage/index.js';
import type { InputFile } from './types.js';

/** Options of `expandInputs` and `inputFile`. */
export interface InputOptions {
  /** Base directory of relative patterns (default: the process's working directory). */
  cwd?: string;
  /**
   * Read FIFOs, sockets and devices too. By default they are refused (`E_NOT_REGULAR_FILE`): a FIFO
   * without a writer blocks forever and a device such as /dev/zero never ends.
   */
  allowSpecialFiles?: boolean;
}

function kindOfFile(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** `st` (of `path`, links followed) as an input file, or the refusal of a non-regular file. */
function toInputFile(path: string, st: Stats, shown: string, options: InputOptions): InputFile {
  if (!st.isFile() && !options.allowSpecialFiles) {
    throw new InputError(
      `is ${kindOfFile(st)}, not a regular file: refused, as it may never end or never answer (the library option allowSpecialFiles reads it)`,
      { code: 'E_NOT_REGULAR_FILE', file: shown },
    );
  }
  const { format, compression } = detectFormat(path);
  return compression ? { path, format, compression, size: st.size } : { path, format, size: st.size };
}

async function statOf(path: string, shown: string): Promise<Stats> {
  return stat(path).catch((e: NodeJS.ErrnoException) => {
    const what =
      e.code === 'ENOENT' ? 'file not found (or a broken link)' : e.code === 'ELOOP' ? 'a loop of links' : e.message;
    throw new InputError(what, { code: 'E_NOT_FOUND', file: shown, cause: e });
  });
}

/** Fewer path segments first, then by path: the name a file reached several ways is listed under. */
function preferred(a: string, b: string): boolean {
  const da = a.split(sep).length;
  const db = b.split(sep).length;
  return da < db || (da === db && a < b);
}

function remoteFile(o: ObjectInfo): InputFile {
  const { format, compression } = detectFormat(o.path);
  return compression ? { path: o.path, format, compression, size: o.size } : { path: o.path, format, size: o.size };
}

/** True when no segment of `rel` (a path below a listed prefix) is hidden (`.name`). */
function visible(rel: string): boolean {
  return !rel.split('/').some((s) => s.startsWith('.'));
}

/**
 * Objects of an `s3://` pattern: a glob (listed under its static prefix, page by page, matched
 * like a local glob: `*` within a segment, `**` across), an object, or a "directory" (every
 * object with a shard extension below `URL/`, hidden names skipped).
 */
async function expandRemote(pattern: string): Promise<InputFile[]> {
  const store = storageFor(pattern);
  const list = async (prefix: string) => {
    const out: ObjectInfo[] = [];
    for await (const o of store.list(prefix)) out.push(o);
    return out;
  };
  if (isDynamicPattern(pattern)) {
    const scan = picomatch.scan(pattern);
    const base = scan.base.endsWith('/') ? scan.base : `${scan.base}/`;
    const match = picomatch(pattern, { dot: false });
    const all = await list(base);
    const matches = all.filter((o) => match(o.path));
    const files = matches.filter((o) => isKnownShard(o.path));
    if (files.length === 0) {
      const extra = matches.length ? ` (${matches.length} objects matched, none with a shard extension)` : '';
      throw new InputError(`no input files match "${pattern}"${extra}`, { code: 'E_NO_MATCH', file: pattern });
    }
    return files.map(remoteFile);
  }
  if (!pattern.endsWith('/')) {
    const st = await store.stat(pattern);
    if (st) {
      detectFormat(pattern);
      return [remoteFile(st)];
    }
  }
  const dir = pattern.endsWith('/') ? pattern : `${pattern}/`;
  const all = await list(dir);
  if (all.length === 0) throw new InputError('file or directory not found', { code: 'E_NOT_FOUND', file: pattern });
  const files = all.filter((o) => visible(o.path.slice(dir.length)) && isKnownShard(o.path));
  if (files.length === 0) {
    throw new InputError('directory contains no .parquet, .arrow, .arrows, .feather, .jsonl or .json files', {
      code: 'E_NO_MATCH',
      file: pattern,
    });
  }
  return files.map(remoteFile);
}

function byPath(a: InputFile, b: InputFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Expand files, directories (recursively, known extensions only, hidden files
 * skipped) and globs into absolute input files, sorted by path.
 *
 * Links are followed, directory links included, and every file is listed once however many
 * ways lead to it (by device and inode: overlapping patterns, a link to a listed file, a link
 * loop or a link to a parent directory), under its shortest path. FIFOs, sockets and devices
 * are refused unless `allowSpecialFiles`.
 */
export async function expandInputs(patterns: string[], options: InputOptions = {}): Promise<InputFile[]> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const found = new Map<string, InputFile>(); // by device:inode
  const add = (file: InputFile, st: Stats) => {
    const key = `${st.dev}:${st.ino}`;
    const had = found.get(key);
    if (!had || preferred(file.path, had.path)) found.set(key, file);
  };
  const remote = new Map<string, InputFile>();
  for (const pattern of patterns) {
    if (isRemote(pattern)) {
      for (const f of await expandRemote(pattern)) remote.set(f.path, f);
      continue;
    }
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
        add(toInputFile(abs, st, pattern, options), st);
        continue;
      }
    }
    for (const p of paths) {
      const path = resolve(p);
      const pst = await statOf(path, path);
      add(toInputFile(path, pst, path, options), pst);
    }
  }
  return [...found.values(), ...remote.values()].sort(byPath);
}

/** An input file for one path (format by extension); a missing file is `E_NOT_FOUND`. */
export async function inputFile(path: string, options: InputOptions = {}): Promise<InputFile> {
  detectFormat(path);
  if (isRemote(path)) {
    const o = await storageFor(path).stat(path);
    if (!o) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: path });
    return remoteFile(o);
  }
  const st = await stat(path).catch(() => undefined);
  if (!st || st.isDirectory()) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: path });
  return toInputFile(path, st, path, options);
}
