/**
 * On-disk state of `ExactDeduper` past its memory budget: documents are appended to one of
 * `PARTITIONS` files by the low bits of their key, so every copy of a key lands in one file; `resolve`
 * then reads the files one by one, twice (the kept document per key, then the others), holding per
 * partition only its distinct keys. A record: key (tag 0: 64-bit bigint; 1: UTF-8 string with a
 * u16 length), docIndex (f64), then a flag: 1 with the keep metadata (kind u8, score f64, id u32 +
 * UTF-8) for a document that may be kept, 0 for one already beaten by a kept document of its key.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CurateError } from '@curate/core';
import { compareForKeep, type Prefer } from './keep.js';

export const PARTITIONS = 64;
const BUF = 128 << 10;
const READ = 1 << 20;

/** A disk error as one line naming the spill file. */
export function spillError(path: string, e: unknown): CurateError {
  const err = e as NodeJS.ErrnoException;
  return new CurateError(`exact dedup: cannot use spill file ${path}: ${err?.code ?? ''} ${err?.message ?? e}`.trim(), {
    code: 'E_DEDUP_SPILL',
    file: path,
  });
}

function partitionOf(key: string | bigint): number {
  if (typeof key === 'bigint') return Number(key & BigInt(PARTITIONS - 1));
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (PARTITIONS - 1);
}

/** Removals found on disk, in the order found (`ExactDeduper.resolve` sorts them by index). */
export interface SpillRemovals {
  docs: Float64Array;
  groupOf: Uint32Array;
  m: number;
  keptIndex: number[];
  keptId: string[];
}

export class ExactSpill {
  readonly dir: string;
  private readonly bufs: (Buffer | undefined)[] = new Array(PARTITIONS);
  private readonly lens = new Uint32Array(PARTITIONS);
  private readonly used = new Uint8Array(PARTITIONS);
  rows = 0;

  constructor(parent: string) {
    try {
      this.dir = mkdtempSync(join(parent, 'exact-spill-'));
    } catch (e) {
      throw spillError(parent, e);
    }
  }

  private path(p: number): string {
    return join(this.dir, `part-${String(p).padStart(3, '0')}.bin`);
  }

  private flush(p: number): void {
    const b = this.bufs[p];
    if (!b || this.lens[p] === 0) return;
    const path = this.path(p);
    try {
      const fd = openSync(path, 'a');
      try {
        let off = 0;
        while (off < this.lens[p]) off += writeSync(fd, b, off, this.lens[p] - off);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw spillError(path, e);
    }
    this.used[p] = 1;
    this.lens[p] = 0;
  }

  /** Append one document: with `id` (kind, score) when it may be kept, without when already beaten. */
  add(key: string | bigint, docIndex: number, id?: string, kind = 1, score = Number.NaN): void {
    const p = partitionOf(key);
    const keyBytes = typeof key === 'bigint' ? 8 : Buffer.byteLength(key);
    const idBytes = id === undefined ? 0 : Buffer.byteLength(id);
    const need = 1 + (typeof key === 'bigint' ? 8 : 2 + keyBytes) + 8 + 1 + (id === undefined ? 0 : 13 + idBytes);
    let b = this.bufs[p];
    if (!b) {
      b = Buffer.allocUnsafe(Math.max(BUF, need));
      this.bufs[p] = b;
    }
    if (this.lens[p] + need > b.length) {
      this.flush(p);
      if (need > b.length) {
        b = Buffer.allocUnsafe(need);
        this.bufs[p] = b;
      }
    }
    let o = this.lens[p];
    if (typeof key === 'bigint') {
      b[o++] = 0;
      b.writeBigUInt64LE(key, o);
      o += 8;
    } else {
      b[o++] = 1;
      b.writeUInt16LE(keyBytes, o);
      o += 2;
      o += b.write(key, o, 'utf8');
    }
    b.writeDoubleLE(docIndex, o);
    o += 8;
    if (id === undefined) b[o++] = 0;
    else {
      b[o++] = 1;
      b[o++] = kind;
      b.writeDoubleLE(score, o);
      o += 8;
      b.writeUInt32LE(idBytes, o);
      o += 4;
      o += b.write(id, o, 'utf8');
    }
    this.lens[p] = o;
    this.rows++;
  }

  /** Every record of partition p, in the order added. */
  private *records(
    p: number,
  ): Generator<{ key: string | bigint; docIndex: number; id?: string; kind: number; score: number }> {
    const path = this.path(p);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw spillError(path, e);
    }
    try {
      let buf = Buffer.allocUnsafe(READ);
      let len = 0;
      let pos = 0;
      let eof = false;
      for (;;) {
        // one record needs at most its key (<= 2 + 65535) + id: refill when fewer bytes than a record may need
        let o = 0;
        const rec: { key: string | bigint; docIndex: number; id?: string; kind: number; score: number }[] = [];
        for (;;) {
          const start = o;
          if (len - o < 1) break;
          const tag = buf[o++];
          let key: string | bigint;
          if (tag === 0) {
            if (len - o < 8) {
              o = start;
              break;
            }
            key = buf.readBigUInt64LE(o);
            o += 8;
          } else {
            if (len - o < 2) {
              o = start;
              break;
            }
            const kl = buf.readUInt16LE(o);
            if (len - o < 2 + kl) {
              o = start;
              break;
            }
            key = buf.toString('utf8', o + 2, o + 2 + kl);
            o += 2 + kl;
          }
          if (len - o < 9) {
            o = start;
            break;
          }
          const docIndex = buf.readDoubleLE(o);
          o += 8;
          if (buf[o++] === 0) {
            rec.push({ key, docIndex, kind: 1, score: Number.NaN });
            continue;
          }
          if (len - o < 13) {
            o = start;
            break;
          }
          const kind = buf[o];
          const score = buf.readDoubleLE(o + 1);
          const il = buf.readUInt32LE(o + 9);
          if (len - o < 13 + il) {
            o = start;
            break;
          }
          const id = buf.toString('utf8', o + 13, o + 13 + il);
          o += 13 + il;
          rec.push({ key, docIndex, id, kind, score });
        }
        yield* rec;
        if (eof && o >= len) return;
        if (eof) throw spillError(path, new Error('truncated record'));
        // keep the unread tail, read more (grow for a record longer than the buffer)
        buf.copy(buf, 0, o, len);
        len -= o;
        if (len === buf.length) {
          const nb = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(nb, 0, 0, len);
          buf = nb;
        }
        let n: number;
        try {
          n = readSync(fd, buf, len, buf.length - len, pos);
        } catch (e) {
          throw spillError(path, e);
        }
        pos += n;
        len += n;
        if (n === 0) eof = true;
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The removals of every partition (per key the preferred document is kept) and the distinct keys. */
  resolve(prefer: Prefer): { removals: SpillRemovals; groups: number; losing: number } {
    for (let p = 0; p < PARTITIONS; p++) this.flush(p);
    this.bufs.fill(undefined);
    const out: SpillRemovals = {
      docs: new Float64Array(1024),
      groupOf: new Uint32Array(1024),
      m: 0,
      keptIndex: [],
      keptId: [],
    };
    let groups = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      if (!this.used[p]) continue;
      const best = new Map<string | bigint, { index: number; kind: number; score: number; id: string; slot: number }>();
      for (const r of this.records(p)) {
        if (r.id === undefined) continue;
        const b = best.get(r.key);
        if (!b) best.set(r.key, { index: r.docIndex, kind: r.kind, score: r.score, id: r.id, slot: -1 });
        else if (compareForKeep(prefer, r.docIndex, r.kind, r.score, b.index, b.kind, b.score) < 0) {
          b.index = r.docIndex;
          b.kind = r.kind;
          b.score = r.score;
          b.id = r.id;
        }
      }
      groups += best.size;
      for (const r of this.records(p)) {
        const b = best.get(r.key);
        if (!b) throw spillError(this.path(p), new Error('a key without a kept document'));
        if (b.index === r.docIndex) continue;
        if (b.slot < 0) {
          b.slot = out.keptIndex.length;
          out.keptIndex.push(b.index);
          out.keptId.push(b.id);
        }
        if (out.m === out.docs.length) {
          const d = new Float64Array(out.m * 2);
          d.set(out.docs);
          out.docs = d;
          const g = new Uint32Array(out.m * 2);
          g.set(out.groupOf);
          out.groupOf = g;
        }
        out.docs[out.m] = r.docIndex;
        out.groupOf[out.m] = b.slot;
        out.m++;
      }
    }
    return { removals: out, groups, losing: out.keptIndex.length };
  }

  /** Remove the spill folder. */
  dispose(): void {
    this.bufs.fill(undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
