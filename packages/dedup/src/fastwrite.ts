/**
 * Pass 2 fast path for JSONL in (plain, gzip or zstd), uncompressed JSONL out: kept and rejected
 * rows are written without building batches. A canonical line whose keys are
 * the output schema in order is copied as bytes (rejected rows get
 * `,"reason":...` spliced before the closing brace); any other line is parsed
 * and written exactly as the shards JSONL writer writes it. The output schema
 * follows the generic path (`createSplitWriter`, which widens) batch by batch:
 * set by the first batch with a kept (rejected) row as the union of the file's
 * keys so far; a batch with new columns starts a new shard whose schema adds
 * them; missing columns are null. So the files are byte-identical to the
 * generic path's (tested).
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { close, closeSync, open, rename, rm, stat, write } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Stats } from '@curate/core';
import { type InputFile, jsonCell, type WrittenShard } from '@curate/shards';
import { hash32Bytes } from './exact.js';
import { checkStamp, inputChanged, type PassOneRecord } from './integrity.js';
import { isBlank, type LineChunk, LineScanner, LineShapeCache, parseLine, rawLines } from './jsonline.js';
import type { BatchSignatures } from './sign.js';

const openP = promisify(open);
const writeP = promisify(write);
const closeP = promisify(close);
const renameP = promisify(rename);
const statP = promisify(stat);
const rmP = promisify(rm);

export { isRawJsonl } from './filetext.js';

const OUT_CHUNK = 1 << 22;

/** JSONL shards written like the shards split writer (one shard per schema, renamed `prefix-i-of-n.jsonl` at close). */
class RawShardWriter {
  schema: string[] | undefined;
  schemaSet = new Set<string>();
  /** UTF-8 names a line must have, in order, to be copied as bytes; undefined: never (reason not last). */
  rawKeys: Buffer[] | undefined;
  private prefixes: string[] = [];
  private reasonCol = -1;
  private fd = -1;
  private tmp = '';
  private out = Buffer.allocUnsafe(OUT_CHUNK);
  private len = 0;
  private hash: Hash = createHash('sha256');
  private rows = 0;
  private readonly tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly done: { tmp: string; rows: number; sha256: string }[] = [];

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    readonly withReason: boolean,
  ) {}

  /** Columns of a batch as this writer sees them (rejected: without an input `reason`, then `reason`). */
  columnsOf(union: string[]): string[] {
    return this.withReason ? [...union.filter((k) => k !== 'reason'), 'reason'] : [...union];
  }

  /** Set the schema from the first batch, or widen it (new shard) with the batch's new columns. */
  async conform(union: string[]): Promise<void> {
    const cols = this.columnsOf(union);
    if (!this.schema) return this.setSchema(cols);
    const fresh = cols.filter((k) => !this.schemaSet.has(k));
    if (!fresh.length) return;
    await this.finish();
    this.setSchema([...this.schema, ...fresh]);
  }

  private setSchema(names: string[]): void {
    this.schema = names;
    this.schemaSet = new Set(names);
    this.prefixes = names.map((n, i) => (i === 0 ? '{' : ',') + JSON.stringify(n) + ':');
    this.reasonCol = this.withReason ? names.indexOf('reason') : -1;
    const raw = this.withReason ? (this.reasonCol === names.length - 1 ? names.slice(0, -1) : undefined) : names;
    this.rawKeys = raw?.map((n) => Buffer.from(n, 'utf8'));
  }

  private async ensureOpen(): Promise<void> {
    if (this.fd >= 0) return;
    await mkdir(this.dir, { recursive: true });
    this.tmp = join(this.dir, `.tmp-${this.prefix}-${String(this.done.length).padStart(5, '0')}-${this.tag}.jsonl`);
    this.fd = await openP(this.tmp, 'w');
    this.hash = createHash('sha256');
    this.rows = 0;
  }

  private async flush(need = 0): Promise<void> {
    await this.ensureOpen();
    if (this.len) {
      const data = this.out.subarray(0, this.len);
      this.hash.update(data);
      let off = 0;
      while (off < data.length) off += (await writeP(this.fd, data, off, data.length - off)).bytesWritten;
      this.len = 0;
    }
    // the buffer is reused once written (a fresh one per flush cost its pages' first-touch faults)
    if (need > this.out.length) this.out = Buffer.allocUnsafe(Math.max(OUT_CHUNK, need));
  }

  /**
   * `raw` without waiting, when the shard is open and the line fits the buffer; false (nothing
   * written) otherwise.
   */
  rawNow(b: Uint8Array, s: number, e: number, reason?: string): boolean {
    if (this.fd < 0 || reason !== undefined || this.len + e - s + 1 > this.out.length) return false;
    this.out.set(b.subarray(s, e), this.len);
    this.len += e - s;
    this.out[this.len++] = 10;
    this.rows++;
    return true;
  }

  /** The line's bytes, plus the reason for a rejected row (only when `rawKeys` matched). */
  async raw(b: Uint8Array, s: number, e: number, reason?: string): Promise<void> {
    if (this.fd < 0) await this.ensureOpen();
    const tail = reason === undefined ? undefined : `${e - s > 2 ? ',' : ''}"reason":${JSON.stringify(reason)}}`;
    const n = e - s + 1 + (tail === undefined ? 0 : Buffer.byteLength(tail));
    if (this.len + n > this.out.length) await this.flush(n);
    if (tail === undefined) {
      this.out.set(b.subarray(s, e), this.len);
      this.len += e - s;
    } else {
      this.out.set(b.subarray(s, e - 1), this.len);
      this.len += e - 1 - s;
      this.len += this.out.write(tail, this.len, 'utf8');
    }
    this.out[this.len++] = 10;
    this.rows++;
  }

  /** A parsed row, as the shards JSONL writer writes it with this schema. */
  async row(obj: Record<string, unknown>, reason?: string): Promise<void> {
    if (this.fd < 0) await this.ensureOpen();
    const names = this.schema as string[];
    let line = names.length ? '' : '{';
    for (let c = 0; c < names.length; c++) {
      const n = names[c];
      const v = c === this.reasonCol ? reason : Object.hasOwn(obj, n) ? obj[n] : null;
      line += this.prefixes[c] + jsonCell(v);
    }
    line += '}\n';
    const n = Buffer.byteLength(line);
    if (this.len + n > this.out.length) await this.flush(n);
    this.len += this.out.write(line, this.len, 'utf8');
    this.rows++;
  }

  private async finish(): Promise<void> {
    if (this.fd < 0) return;
    await this.flush();
    await closeP(this.fd);
    this.fd = -1;
    this.done.push({ tmp: this.tmp, rows: this.rows, sha256: this.hash.digest('hex') });
    this.tmp = '';
  }

  async close(): Promise<WrittenShard[]> {
    await this.finish();
    const total = this.done.length;
    const out: WrittenShard[] = [];
    for (let i = 0; i < total; i++) {
      const d = this.done[i];
      const path = join(
        this.dir,
        `${this.prefix}-${String(i).padStart(5, '0')}-of-${String(total).padStart(5, '0')}.jsonl`,
      );
      await renameP(d.tmp, path);
      d.tmp = path;
      out.push({ path, rows: d.rows, bytes: (await statP(path)).size, sha256: d.sha256 });
    }
    return out;
  }

  async abort(): Promise<void> {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = -1;
    }
    const files = [...this.done.map((d) => d.tmp), this.tmp].filter(Boolean);
    await Promise.all(files.map((f) => rmP(f, { force: true }).catch(() => {})));
  }
}

/**
 * Key lists ("shapes") of canonical lines recorded by the pass-1 fast path,
 * per file and record, so that pass 2 copies those lines without scanning.
 */
export class LineShapes {
  /** Global shape id -> keys. */
  readonly keys: string[][] = [];
  private readonly ids = new Map<string, number>();
  private readonly local = new Map<string, number>();
  private readonly files = new Map<number, Int32Array>();

  /** The global id of a key list. */
  intern(keys: string[]): number {
    const name = keys.join('\u0000');
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.keys.length;
      this.keys.push(keys);
      this.ids.set(name, id);
    }
    return id;
  }

  /** Record the shapes of one pass-1 batch. */
  add(b: BatchSignatures): void {
    if (!b.shapes || b.signer === undefined) return;
    for (const s of b.newShapes ?? []) this.local.set(`${b.signer}/${s.id}`, this.intern(s.keys));
    let a = this.files.get(b.fileIndex);
    const end = b.offset + b.length;
    if (!a || a.length < end) {
      const n = new Int32Array(Math.max(end, (a?.length ?? 0) * 2, 1024)).fill(-2);
      if (a) n.set(a);
      a = n;
      this.files.set(b.fileIndex, a);
    }
    for (let r = 0; r < b.length; r++) {
      const s = b.shapes[r];
      a[b.offset + r] = s < 0 ? -1 : (this.local.get(`${b.signer}/${s}`) as number);
    }
  }

  /** Per record of a file: global shape id, -1 (not canonical) or -2 (unknown: scan the line). */
  of(fileIndex: number): Int32Array | undefined {
    return this.files.get(fileIndex);
  }
}

/** Rows of one batch, written at its end (when its columns, hence the schema, are known). */
class BatchRows {
  n = 0;
  bufs: Buffer[] = [];
  starts: number[] = [];
  ends: number[] = [];
  /** Interned key list of a canonical line, or -1 (then objs[i] holds the parsed row). */
  shapes: number[] = [];
  objs: (Record<string, unknown> | undefined)[] = [];
  reasons: (string | undefined)[] = [];
  clear(): void {
    this.n = 0;
    this.bufs.length = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.shapes.length = 0;
    this.objs.length = 0;
    this.reasons.length = 0;
  }
}

/**
 * `writeSplit` for JSONL inputs (plain, gzip or zstd) written as uncompressed JSONL:
 * same files, rows, stats and errors, without JSON.parse for canonical lines.
 */
export async function writeSplitJsonl(
  files: InputFile[],
  fileIndexes: number[],
  options: {
    dir: string;
    prefix?: string;
    writeRejected?: boolean;
    batchSize?: number;
    progress?: (p: { phase: string; rows: number; bytes: number }) => void;
  },
  reasonOf: (docIndex: number) => string | undefined,
  stats: Stats,
  fileScale: number,
  known: LineShapes = new LineShapes(),
  passOne?: PassOneRecord,
): Promise<{ kept: WrittenShard[]; rejected: WrittenShard[] }> {
  const prefix = options.prefix ?? 'shard';
  const kept = new RawShardWriter(options.dir, prefix, false);
  const rej =
    (options.writeRejected ?? true) ? new RawShardWriter(join(options.dir, 'rejected'), prefix, true) : undefined;
  const batcher = new SplitBatcher(known, reasonOf, stats, fileScale, options.batchSize ?? 2048);
  const batch = batcher.batch;
  const rawOk = (w: RawShardWriter, shape: number): boolean => {
    const keys = known.keys[shape];
    const raw = w.rawKeys;
    if (!raw || raw.length !== keys.length) return false;
    for (let i = 0; i < keys.length; i++) if (!raw[i].equals(Buffer.from(keys[i], 'utf8'))) return false;
    return true;
  };
  const writeRows = async (w: RawShardWriter, wantKept: boolean, path: string) => {
    const ok = new Map<number, boolean>();
    for (let i = 0; i < batch.n; i++) {
      const reason = batch.reasons[i];
      if ((reason === undefined) !== wantKept) continue;
      const shape = batch.shapes[i];
      let raw = false;
      if (shape >= 0) {
        let r = ok.get(shape);
        if (r === undefined) ok.set(shape, (r = rawOk(w, shape)));
        raw = r;
      }
      if (raw) {
        // most lines fit the writer's buffer: no promise per line
        if (!w.rawNow(batch.bufs[i], batch.starts[i], batch.ends[i], reason))
          await w.raw(batch.bufs[i], batch.starts[i], batch.ends[i], reason);
      } else {
        const obj = batch.objs[i] ?? parseLine(batch.bufs[i], batch.starts[i], batch.ends[i], path, -1);
        await w.row(obj, reason);
      }
    }
  };
  try {
    let rowsDone = 0;
    let bytesDone = 0;
    for (const fi of fileIndexes) {
      const f = files[fi];
      stats.read(f.path, 0);
      if (passOne) await checkStamp(f.path, passOne.stamps[fi]);
      batcher.startFile(fi, f.path, passOne?.hashesOf(fi, 'line'));
      const endBatch = async () => {
        if (batch.n === 0) return;
        stats.read(f.path, batch.n);
        stats.kept(f.path, batcher.nKept);
        if (batcher.nKept) {
          await kept.conform(batcher.union);
          await writeRows(kept, true, f.path);
        }
        if (batcher.nRej && rej) {
          await rej.conform(batcher.union);
          await writeRows(rej, false, f.path);
        }
        rowsDone += batch.n;
        batcher.clear();
      };
      for await (const chunk of rawLines(f.path, 0, Number.POSITIVE_INFINITY, false, f.compression)) {
        // the per-line work is SplitBatcher.fill, a plain method: V8 compiles a loop inside an
        // async function at several times the cost
        let i = 0;
        while (i < chunk.count) {
          i = batcher.fill(chunk, i);
          if (batcher.full()) await endBatch();
        }
      }
      await endBatch();
      if (passOne) {
        await checkStamp(f.path, passOne.stamps[fi]);
        passOne.checkRows(fi, f.path, batcher.records);
      }
      bytesDone += f.size;
      options.progress?.({ phase: 'write', rows: rowsDone, bytes: bytesDone });
    }
    return { kept: await kept.close(), rejected: rej ? await rej.close() : [] };
  } catch (e) {
    await kept.abort();
    await rej?.abort();
    throw e;
  }
}

/** The per-line half of `writeSplitJsonl`: one file's lines into batches, with the union of their keys. */
class SplitBatcher {
  readonly batch = new BatchRows();
  private readonly sc = new LineScanner();
  /** Keys of the file's rows so far, in first-seen order. */
  union: string[] = [];
  private unionSet = new Set<string>();
  private shapesSeen = new Set<number>();
  private pass1: Int32Array | undefined;
  /** xxh32 of each line pass 1 signed (checked for every line written). */
  private rowHashes: Uint32Array | undefined;
  private fileIndex = 0;
  private path = '';
  private line = 0;
  private rec = 0;
  nKept = 0;
  nRej = 0;
  // a scanned canonical line with the previous scanned line's key bytes reuses its shape
  private readonly shapes = new LineShapeCache();
  private readonly intern = (keys: string[]): number => this.known.intern(keys);

  constructor(
    private readonly known: LineShapes,
    private readonly reasonOf: (docIndex: number) => string | undefined,
    private readonly stats: Stats,
    private readonly fileScale: number,
    private readonly batchSize: number,
  ) {}

  /** Records of the current file so far. */
  get records(): number {
    return this.rec;
  }

  startFile(fileIndex: number, path: string, rowHashes?: Uint32Array): void {
    this.rowHashes = rowHashes;
    this.fileIndex = fileIndex;
    this.path = path;
    this.union = [];
    this.unionSet = new Set();
    this.shapesSeen = new Set();
    this.pass1 = this.known.of(fileIndex);
    this.line = 0;
    this.rec = 0;
    this.clear();
  }

  full(): boolean {
    return this.batch.n === this.batchSize;
  }

  clear(): void {
    this.batch.clear();
    this.nKept = 0;
    this.nRej = 0;
  }

  private addKeys(keys: string[]): void {
    for (const k of keys)
      if (!this.unionSet.has(k)) {
        this.unionSet.add(k);
        this.union.push(k);
      }
  }

  /** Batch the chunk's lines from `i` until the batch is full or the chunk ends; returns the next line. */
  fill(chunk: LineChunk, i: number): number {
    const { buf, starts, ends } = chunk;
    const { batch, sc, pass1, batchSize, path } = this;
    const shapeKeys = this.known.keys;
    for (; i < chunk.count && batch.n < batchSize; i++) {
      const s = starts[i];
      const e = ends[i];
      const ln = this.line++;
      if (isBlank(buf, s, e)) continue;
      const reason = this.reasonOf(this.fileIndex * this.fileScale + this.rec);
      const rec = this.rec++;
      const hashes = this.rowHashes;
      if (hashes && (rec >= hashes.length || hash32Bytes(buf.subarray(s, e)) !== hashes[rec]))
        throw inputChanged(path, 'this row is not the row pass 1 read', rec);
      if (reason === undefined) this.nKept++;
      else {
        this.nRej++;
        this.stats.drop(path, reason);
      }
      let shape = pass1 && rec < pass1.length ? pass1[rec] : -2;
      let obj: Record<string, unknown> | undefined;
      if (shape === -2) shape = sc.scan(buf, s, e) && sc.canonical ? this.shapes.shapeOf(sc, buf, this.intern) : -1;
      if (shape >= 0) {
        if (!this.shapesSeen.has(shape)) {
          this.shapesSeen.add(shape);
          this.addKeys(shapeKeys[shape]);
        }
      } else {
        obj = parseLine(buf, s, e, path, ln);
        this.addKeys(Object.keys(obj));
      }
      const j = batch.n++;
      batch.bufs[j] = buf;
      batch.starts[j] = s;
      batch.ends[j] = e;
      batch.shapes[j] = shape;
      batch.objs[j] = obj;
      batch.reasons[j] = reason;
    }
    return i;
  }
}
