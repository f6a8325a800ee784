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
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { CurateError, type Row } from '@curate/core';

const FLUSH_BYTES = 8 << 20;

/**
 * The file calls the spill makes, as an object so a test can make a write fail or come up short
 * (a full disk is hard to make on demand). Production code never changes it.
 */
export const spillIo = { writeSync };

/** errno codes that mean the disk (or the quota, or the file size limit) is full. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Write all of `buf` at the end of `fd`: `write(2)` may write less than asked (it does when the disk
 * fills up mid-write), so loop; a write of 0 bytes or a failing one ends in an error naming `path`.
 */
export function writeAll(fd: number, buf: Buffer, path: string): void {
  let off = 0;
  try {
    while (off < buf.length) {
      const n = spillIo.writeSync(fd, buf, off, buf.length - off);
      if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'ENOSPC' });
      off += n;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && FULL.has(code)) {
      throw new CurateError(
        `no space left on the device while spilling the shuffle (${code}; ${off} of ${buf.length} bytes written): free space or choose another output directory`,
        { code: 'E_DISK_FULL', file: path, cause: e },
      );
    }
    throw new CurateError(`cannot write the shuffle spill: ${(e as Error).message}`, {
      code: 'E_SPILL_WRITE',
      file: path,
      cause: e,
    });
  }
}

/**
 * Write `buf` as the whole of `path` through a temporary name and a rename, with `writeAll`'s checks
 * (a short write or a full disk is an error naming the path, and the temporary file is removed).
 */
export function writeFileChecked(path: string, buf: Uint8Array): void {
  writePartsChecked(path, [buf]);
}

/**
 * `writeFileChecked` for bytes held in parts, written in order without joining them (a scatter
 * unit's records are a pass-2 thread's buffer: joining copied ~2 MB a unit on the main thread).
 * Returns the file's size and sha256.
 */
export function writePartsChecked(path: string, parts: Uint8Array[]): { bytes: number; sha256: string } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const c of parts) {
      if (c.byteLength === 0) continue;
      writeAll(fd, Buffer.from(c.buffer, c.byteOffset, c.byteLength), path);
      hash.update(c);
      bytes += c.byteLength;
    }
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw e;
  }
  return { bytes, sha256: hash.digest('hex') };
}

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
        writeAll(fd, Buffer.concat(parts), this.files[b]);
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
        const len = off + 4 <= buf.length ? buf.readUInt32LE(off) : -1;
        if (len < 0 || off + 4 + len > buf.length) {
          throw new CurateError(`internal: spill file truncated at byte ${off} of ${buf.length}`, {
            code: 'E_SPILL_CORRUPT',
            file: this.files[b],
          });
        }
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
