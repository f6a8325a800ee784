/** Row objects -> columnar batches, with the column set carried across batches of one file. */
import { type Batch, InputError } from '@curate/core';

/**
 * Accumulates row objects into columns. Columns are the union of keys in
 * first-seen order over the whole file so far (a later batch has every column
 * an earlier one had); a row without a key gets `null`.
 * With `only`, just those columns are kept, in that order.
 */
export class RowColumns {
  private names: string[] = [];
  private cols = new Map<string, unknown[]>();
  private seen = new Set<string>();
  length = 0;

  constructor(private readonly only?: string[]) {
    if (only) {
      for (const n of only) {
        if (!this.cols.has(n)) {
          this.names.push(n);
          this.cols.set(n, []);
        }
      }
    }
  }

  add(obj: Record<string, unknown>): void {
    const row = this.length++;
    if (this.only) {
      for (const n of this.names) {
        const v = obj[n];
        if (v !== undefined) {
          this.cols.get(n)![row] = v;
          this.seen.add(n);
        } else if (Object.hasOwn(obj, n)) this.seen.add(n);
      }
      return;
    }
    for (const k in obj) {
      let col = this.cols.get(k);
      if (col === undefined) {
        col = [];
        this.cols.set(k, col);
        this.names.push(k);
      }
      col[row] = obj[k];
    }
  }

  /** Hand out the rows collected so far as a batch and start a new one. */
  flush(file: string, offset: number): Batch {
    const length = this.length;
    const entries: [string, unknown[]][] = [];
    for (const n of this.names) {
      const col = this.cols.get(n)!;
      // Fill holes (rows without the key) and the tail with null.
      const out = new Array(length);
      for (let i = 0; i < length; i++) {
        const v = col[i];
        out[i] = v === undefined ? null : v;
      }
      entries.push([n, out]);
      this.cols.set(n, []);
    }
    this.length = 0;
    // fromEntries defines own properties, so a key such as "__proto__" stays a column.
    return { length, columns: Object.fromEntries(entries), file, offset };
  }

  /** Requested columns that no row so far had. */
  missing(): string[] {
    return this.only ? this.only.filter((n) => !this.seen.has(n)) : [];
  }
}

export function missingColumnError(file: string, missing: string[], available?: string[]): InputError {
  const avail = available ? `; columns: ${available.join(', ') || '(none)'}` : '';
  return new InputError(
    `missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}${avail}`,
    {
      code: 'E_MISSING_COLUMN',
      file,
    },
  );
}

/** Keep only `columns` of a batch (in that order); a missing one is E_MISSING_COLUMN. */
export function projectBatch(batch: Batch, columns: string[] | undefined, file: string): Batch {
  if (!columns) return batch;
  const missing = columns.filter((c) => !(c in batch.columns));
  if (missing.length) throw missingColumnError(file, missing, Object.keys(batch.columns));
  const out: Record<string, unknown[]> = {};
  for (const c of columns) out[c] = batch.columns[c];
  return { length: batch.length, columns: out, file: batch.file, offset: batch.offset };
}
