/**
 * Drop reasons of a source's rows, compact: a Uint32 code per row (0: kept) into a table of
 * distinct reason strings. A reason repeats across rows (`dedup:exact:dup_of=<id>` for every copy
 * of one document, `filter:c4:no_terminal_punct` for thousands), so a million dropped copies cost
 * 4 MB here instead of a Map entry and a string each (~100 bytes a row before).
 */
export class RowReasons {
  private readonly codes: Uint32Array;
  private readonly table: string[] = [''];
  private readonly codeOf = new Map<string, number>();
  private count = 0;

  constructor(readonly rows: number) {
    this.codes = new Uint32Array(rows);
  }

  /** Rows with a reason. */
  get size(): number {
    return this.count;
  }

  has(row: number): boolean {
    return this.codes[row] !== 0;
  }

  get(row: number): string | undefined {
    const c = this.codes[row];
    return c === 0 ? undefined : this.table[c];
  }

  set(row: number, reason: string): void {
    if (row < 0 || row >= this.rows || !Number.isInteger(row)) throw new RangeError(`row ${row} out of range`);
    let c = this.codeOf.get(reason);
    if (c === undefined) {
      c = this.table.length;
      this.table.push(reason);
      this.codeOf.set(reason, c);
    }
    if (this.codes[row] === 0) this.count++;
    this.codes[row] = c;
  }

  /** The dropped rows, in row order. */
  dropped(): Uint32Array {
    const out = new Uint32Array(this.count);
    let k = 0;
    for (let r = 0; r < this.rows; r++) if (this.codes[r] !== 0) out[k++] = r;
    return out;
  }

  /** The reasons of the dropped rows, in row order. */
  *values(): IterableIterator<string> {
    for (let r = 0; r < this.rows; r++) if (this.codes[r] !== 0) yield this.table[this.codes[r]];
  }

  /** Dropped rows per reason (without walking rows twice for counters). */
  counts(): Map<string, number> {
    const n = new Uint32Array(this.table.length);
    for (let r = 0; r < this.rows; r++) n[this.codes[r]]++;
    const out = new Map<string, number>();
    for (let c = 1; c < this.table.length; c++) if (n[c]) out.set(this.table[c], n[c]);
    return out;
  }
}
