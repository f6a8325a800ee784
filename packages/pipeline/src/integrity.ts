/**
 * Pass 2 proves it reads what pass 1 judged. Pass 1 records each file's size and modification time
 * and an xxh32 of each row's rendered text (before any filter); pass 2 checks the stamp before and
 * after reading a file, and the hash of every row it writes (selected or rejected). A file rewritten
 * between the passes, even to the same size (the same lines in another order), then fails with
 * E_INPUT_CHANGED naming the file (and the row), instead of writing rows pass 1 never judged.
 */
import { InputError } from '@curate/core';
import { hash32 } from '@curate/dedup';
import { type FileStamp, stampOf } from './scan.js';

function changed(path: string, what: string, row?: number): InputError {
  return new InputError(
    `input changed between the passes of the run: ${what} (inputs must not change while curate runs)`,
    { code: 'E_INPUT_CHANGED', file: path, row },
  );
}

/** Fail unless `path` still has the size and modification time pass 1 saw. */
export async function checkStamp(path: string, was: FileStamp): Promise<void> {
  let now: FileStamp;
  try {
    now = await stampOf(path);
  } catch (e) {
    throw changed(path, `cannot stat it any more (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (now.size !== was.size) throw changed(path, `size ${was.size} -> ${now.size} bytes`);
  if (now.mtimeMs !== was.mtimeMs) {
    throw changed(path, `modified at ${new Date(now.mtimeMs).toISOString()}, after pass 1 read it`);
  }
}

/** Fail unless the rendered text of row `fileRow` of `path` hashes to what pass 1 recorded. */
export function checkRow(path: string, fileRow: number, raw: string, expected: number): void {
  if (hash32(raw) !== expected) throw changed(path, 'this row is not the row pass 1 read', fileRow);
}

/** Fail when pass 2 found a different number of rows (or of selected rows) than pass 1. */
export function rowsChanged(path: string, what: string): InputError {
  return changed(path, what);
}
