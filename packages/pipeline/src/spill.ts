/**
 * External shuffle with bounded memory.
 *
 * The global output order is known before pass 2 (a permutation of positions
 * 0..N-1). Pass 2 streams the sources in their own order and appends each
 * selected row, tagged with its output position, to bucket file
 * `floor(position * K / N)`. Buckets are then read back one at a time, sorted
 * by position and written out. Peak memory is one bucket (the caller chooses K
 * from the estimated output size, ~64 MB of text per bucket) plus small write
 * buffers, however large the output. Records are length-prefixed
 * `v8.serialize([position, row])`, which keeps every JS value type (bigint,
 * Uint8Array, nested objects) exactly.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Row } from '@curate/core';

const FLUSH_BYTES = 8 << 20;

export class BucketSpill {
  private readonly files: string[];
  private readonly buffers: Buffer[][];
  private readonly counts: number[];
  private buffered = 0;

  constructor(
    dir: string,
    readonly bucketCount: number,
    readonly totalRows: number,
  ) {
    this.files = Array.from({ length: bucketCount }, (_, i) => join(dir, `bucket-${String(i).padStart(5, '0')}.bin`));
    this.buffers = Array.from({ length: bucketCount }, () => []);
    this.counts = new Array(bucketCount).fill(0);
  }

  bucketOf(position: number): number {
    return Math.min(this.bucketCount - 1, Math.floor((position * this.bucketCount) / Math.max(1, this.totalRows)));
  }

  add(position: number, row: Row): void {
    const b = this.bucketOf(position);
    const body = serialize([position, row]);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    this.buffers[b].push(head, body);
    this.counts[b]++;
    this.buffered += body.length + 4;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  /** Add a record already serialized as `add` would (length prefix included). */
  addRecord(position: number, record: Uint8Array): void {
    const b = this.bucketOf(position);
    this.buffers[b].push(record as Buffer);
    this.counts[b]++;
    this.buffered += record.length;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    for (let b = 0; b < this.bucketCount; b++) {
      const parts = this.buffers[b];
      if (!parts.length) continue;
      const fd = openSync(this.files[b], 'a');
      try {
        writeSync(fd, Buffer.concat(parts));
      } finally {
        closeSync(fd);
      }
      this.buffers[b] = [];
    }
    this.buffered = 0;
  }

  /** Rows in output order, one bucket in memory at a time; bucket files are deleted as they are read. */
  *drain(): Generator<Row[]> {
    this.flush();
    let expected = 0;
    for (let b = 0; b < this.bucketCount; b++) {
      if (this.counts[b] === 0) continue;
      const buf = readFileSync(this.files[b]);
      const records: [number, Row][] = [];
      let off = 0;
      while (off < buf.length) {
        const len = buf.readUInt32LE(off);
        records.push(deserialize(buf.subarray(off + 4, off + 4 + len)) as [number, Row]);
        off += 4 + len;
      }
      rmSync(this.files[b], { force: true });
      records.sort((x, y) => x[0] - y[0]);
      for (const [pos] of records) {
        if (pos !== expected) throw new Error(`internal: shuffle position ${pos} where ${expected} was expected`);
        expected++;
      }
      yield records.map((r) => r[1]);
    }
    if (expected !== this.totalRows) {
      throw new Error(`internal: shuffle produced ${expected} rows, ${this.totalRows} expected`);
    }
  }
}
