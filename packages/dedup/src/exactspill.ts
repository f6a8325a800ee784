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

// spill folders not yet removed: removed at exit too (a caller that failed before `resolve`)
const live = new Set<string>();
let hooked = false;
function removeLive(): void {
  for (const d of live) rmSync(d, { recursive: true, force: true });
  live.clear();
}
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

// little-endian scratch for 64-bit keys and doubles (records are not 8-byte aligned)
const K64 = new BigUint64Array(1);
const K8 = new Uint8Array(K64.buffer);
const D64 = new Float64Array(1);
const D8 = new Uint8Array(D64.buffer);

function partitionOf(key: string | bigint): number {
  if (typeof key === 'bigint') {
    K64[0] = key;
    return K8[0] & (PARTITIONS - 1);
  }
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
    live.add(this.dir);
    if (!hooked) {
      hooked = true;
      process.once('exit', removeLive);
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
      K64[0] = key;
      for (let i = 0; i < 8; i++) b[o + i] = K8[i];
      o += 8;
    } else {
      b[o++] = 1;
      b.writeUInt16LE(keyBytes, o);
      o += 2;
      o += b.write(key, o, 'utf8');
    }
    D64[0] = docIndex;
    for (let i = 0; i < 8; i++) b[o + i] = D8[i];
    o += 8;
    if (id === undefined) b[o++] = 0;
    else {
      b[o++] = 1;
      b[o++] = kind;
      D64[0] = score;
      for (let i = 0; i < 8; i++) b[o + i] = D8[i];
      o += 8;
      b.writeUInt32LE(idBytes, o);
      o += 4;
      o += b.write(id, o, 'utf8');
    }
    this.lens[p] = o;
    this.rows++;
  }

  /**
   * Every record of partition p, in the order added, to `fn` (no object per record): `id` is
   * undefined for a document already beaten.
   */
  private forEach(
    p: number,
    fn: (key: string | bigint, docIndex: number, id: string | undefined, kind: number, score: number) => void,
  ): void {
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
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, len, buf.length - len, pos);
        } catch (e) {
          throw spillError(path, e);
        }
        pos += n;
        len += n;
        let o = 0;
        for (;;) {
          // a record cut by the end of the buffer waits for the next read
          const start = o;
          if (len - o < 1) break;
          const tag = buf[o++];
          let key: string | bigint;
          if (tag === 0) {
            if (len - o < 8) {
              o = start;
              break;
            }
            for (let i = 0; i < 8; i++) K8[i] = buf[o + i];
            key = K64[0];
            o += 8;
          } else {
            if (len - o < 2) {
              o = start;
              break;
            }
            const kl = buf[o] | (buf[o + 1] << 8);
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
          for (let i = 0; i < 8; i++) D8[i] = buf[o + i];
          const docIndex = D64[0];
          o += 8;
          if (buf[o++] === 0) {
            fn(key, docIndex, undefined, 1, Number.NaN);
            continue;
          }
          if (len - o < 13) {
            o = start;
            break;
          }
          const kind = buf[o];
          for (let i = 0; i < 8; i++) D8[i] = buf[o + 1 + i];
          const score = D64[0];
          const il = buf.readUInt32LE(o + 9);
          if (len - o < 13 + il) {
            o = start;
            break;
          }
          const id = buf.toString('utf8', o + 13, o + 13 + il);
          o += 13 + il;
          fn(key, docIndex, id, kind, score);
        }
        if (n === 0) {
          if (o < len) throw spillError(path, new Error('truncated record'));
          return;
        }
        // keep the unread tail; grow for a record longer than the buffer
        buf.copy(buf, 0, o, len);
        len -= o;
        if (len === buf.length) {
          const nb = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(nb, 0, 0, len);
          buf = nb;
        }
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
      this.forEach(p, (key, docIndex, id, kind, score) => {
        if (id === undefined) return;
        const b = best.get(key);
        if (!b) best.set(key, { index: docIndex, kind, score, id, slot: -1 });
        else if (compareForKeep(prefer, docIndex, kind, score, b.index, b.kind, b.score) < 0) {
          b.index = docIndex;
          b.kind = kind;
          b.score = score;
          b.id = id;
        }
      });
      groups += best.size;
      this.forEach(p, (key, docIndex) => {
        const b = best.get(key);
        if (!b) throw spillError(this.path(p), new Error('a key without a kept document'));
        if (b.index === docIndex) return;
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
        out.docs[out.m] = docIndex;
        out.groupOf[out.m] = b.slot;
        out.m++;
      });
    }
    return { removals: out, groups, losing: out.keptIndex.length };
  }

  /** Remove the spill folder. */
  dispose(): void {
    this.bufs.fill(undefined);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
  }
}
