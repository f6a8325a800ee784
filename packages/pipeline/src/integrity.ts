/**
 * Pass 2 proves it reads what pass 1 judged. Pass 1 records each file's size and modification time
 * and an xxh32 of each row's rendered text (before any filter); pass 2 checks the stamp before and
 * after reading a file, and the hash of every row it writes (selected or rejected). A file rewritten
 * between the passes, even to the same size (the same lines in another order), then fails with
 * E_INPUT_CHANGED naming the file (and the row), instead of writing rows pass 1 never judged.
 */
import type { InputError } from '@curate/core';
import { hash32, inputChanged } from '@curate/dedup';

export { checkStamp } from '@curate/dedup';

/** Fail unless the rendered text of row `fileRow` of `path` hashes to what pass 1 recorded. */
export function checkRow(path: string, fileRow: number, raw: string, expected: number): void {
  if (hash32(raw) !== expected) throw inputChanged(path, 'this row is not the row pass 1 read', fileRow);
}

/** Fail when pass 2 found a different number of rows (or of selected rows) than pass 1. */
export function rowsChanged(path: string, what: string): InputError {
  return inputChanged(path, what);
}
