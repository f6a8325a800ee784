/**
 * Pass 1 fast path for JSONL (plain; gzip and zstd decompressed as a stream, then
 * read whole, never in byte ranges) with a plain text column: lines are
 * scanned as bytes (no JSON.parse), the text goes through the byte kernel
 * (`RawTextKernel`), and only lines or texts the fast path does not cover are
 * decoded and parsed, so keys, signatures, ids, errors and row numbers are
 * those of the generic path (`BatchSigner` over `readShard`).
 */
import { threadId } from 'node:worker_threads';
import type { InputError } from '@curate/core';
import type { InputFile } from '@curate/shards';
import { exactKeyOfBytes, exactKeyPrepared, hash32Bytes } from './exact.js';
import { fileOptions, isRawJsonl, textOfFile } from './filetext.js';
import {
  decodeLine,
  isBlank,
  type LineChunk,
  LineScanner,
  LineShapeCache,
  parseLine,
  rawLines,
  T_LITERAL,
  T_STRING,
} from './jsonline.js';
import { MinHasher } from './minhash.js';
import { prepareWords } from './normalize.js';
import { RawTextKernel } from './rawtext.js';
import type { BatchSignatures, SignOptions } from './sign.js';

/** A part of a file: the lines whose first byte is in [from, to). */
export interface RangeTask {
  fileIndex: number;
  from: number;
  to: number;
}

/** What the first `batchSize` records of a file showed (for the generic path's missing-column check). */
export interface FirstBatchInfo {
  /** Records among the first batchSize that this range read. */
  records: number;
  sawText: boolean;
  keys: string[];
  /** Chunks (numbered from their own first record): the record that first had the text, and each key's first record. */
  textRec?: number;
  keyRecs?: number[];
}

/** A chunk of a file signed with its own numbering (`signJsonlChunk`), placed in the file once earlier chunks are counted. */
export interface ChunkTask extends RangeTask {
  chunk: number;
}

/** What a chunk held: its records (non-blank lines) and what its first `batchSize` records showed. */
export interface ChunkSummary {
  chunk: number;
  records: number;
  first: FirstBatchInfo;
}

/**
 * The FirstBatchInfo of a chunk whose first record is record `start` of its file: what its records
 * among the file's first `batchSize` showed, or undefined when it has none.
 */
export function placeFirst(info: FirstBatchInfo, start: number, batchSize: number): FirstBatchInfo | undefined {
  if (start >= batchSize) return undefined;
  const m = batchSize - start;
  const sawText = info.textRec !== undefined && info.textRec < m;
  const keyRecs = info.keyRecs ?? [];
  return {
    records: Math.min(info.records, m),
    sawText,
    keys: sawText ? [] : info.keys.filter((_, i) => keyRecs[i] < m),
  };
}

/** The plain column a template reads, or undefined when it is a real template. */
export function plainColumn(text: string): string | undefined {
  if (!text.includes('{') && !text.includes('}')) return text === '' ? undefined : text;
  const m = /^\{([^{}.]+)\}$/.exec(text);
  return m && m[1].trim() === m[1] ? m[1] : undefined;
}

/** Whether pass 1 can read `f` with the fast path under these options. */
export function fastSignable(f: InputFile, options: SignOptions): boolean {
  return (
    isRawJsonl(f) &&
    !options.conversation &&
    typeof (options.text ?? 'text') === 'string' &&
    plainColumn((options.text as string | undefined) ?? 'text') !== undefined &&
    !options.scoreColumn &&
    (options.shingle ?? 'word') === 'word'
  );
}

/** Lines and records before byte `to` (for a range that starts there). */
export async function countBefore(path: string, to: number): Promise<{ lines: number; records: number }> {
  let lines = 0;
  let records = 0;
  if (to <= 0) return { lines, records };
  for await (const c of rawLines(path, 0, to, true)) {
    for (let i = 0; i < c.count; i++) {
      lines++;
      if (!isBlank(c.buf, c.starts[i], c.ends[i])) records++;
    }
  }
  return { lines, records };
}

/**
 * The generic path's error for a text column that no row of a file's first
 * batch has, from the FirstBatchInfo of the file's ranges in file order.
 */
export async function checkFirstBatch(text: string, file: string, infos: FirstBatchInfo[]): Promise<void> {
  let records = 0;
  const keys: string[] = [];
  for (const i of infos) {
    if (i.sawText) return;
    records += i.records;
    for (const k of i.keys) if (!keys.includes(k)) keys.push(k);
  }
  if (records === 0) return;
  // @curate/shards is loaded only here: worker threads of the fast path never load it (~0.2 s of CPU each)
  const { compileTemplate } = await import('@curate/shards');
  try {
    compileTemplate(text).check({ length: 0, columns: Object.fromEntries(keys.map((k) => [k, []])), file });
  } catch (e) {
    throw e as InputError;
  }
}

/** Text of a non-string cell, as @curate/shards' templates render it (values from JSON.parse: no bigint). */
function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v) ?? '';
  return String(v);
}

const ASCII_PLAIN = new Uint8Array(256);
for (let c = 32; c < 127; c++) ASCII_PLAIN[c] = c === 92 ? 0 : 1;

/**
 * Signatures of the records of one file range, in batches of `batchSize`
 * records. The batch covering the file's first `batchSize` records carries
 * `first` (FirstBatchInfo).
 */
export async function* signJsonlRange(
  files: InputFile[],
  task: RangeTask,
  options: SignOptions,
): AsyncGenerator<BatchSignatures & { first?: FirstBatchInfo }> {
  const f = files[task.fileIndex];
  const path = f.path;
  const st = new RangeSigner(path, task, fileOptions(options, task.fileIndex), await countBefore(path, task.from));
  yield* signLines(f, task, st);
  const last = st.rest();
  if (last) yield last;
}

/**
 * The records of a chunk numbered from 0 within it (batch offsets relative to the chunk; rows without
 * an id get none: the caller, which knows the records before the chunk, adds both), so no signer
 * counts the lines before its chunk and chunks can be signed in any order by any thread. Returns
 * the chunk's record count and first-batch information. Errors name lines within the chunk: a
 * caller re-signs a failed chunk with `signJsonlRange` for the file's line numbers.
 */
export async function* signJsonlChunk(
  files: InputFile[],
  task: ChunkTask,
  options: SignOptions,
): AsyncGenerator<BatchSignatures, ChunkSummary> {
  const f = files[task.fileIndex];
  const st = new RangeSigner(f.path, task, fileOptions(options, task.fileIndex), { lines: 0, records: 0 }, true);
  yield* signLines(f, task, st);
  const last = st.rest();
  if (last?.length) yield last;
  return st.summary(task.chunk);
}

async function* signLines(
  f: InputFile,
  task: RangeTask,
  st: RangeSigner,
): AsyncGenerator<BatchSignatures & { first?: FirstBatchInfo }> {
  const path = f.path;
  // the generator only moves chunks and batches: the per-line work is RangeSigner.fill, a plain
  // method (V8 compiled this generator with the loop inside twice per run, ~35 ms each)
  for await (const chunk of rawLines(path, task.from, task.to, true, f.compression)) {
    let li = 0;
    while (li < chunk.count) {
      li = st.fill(chunk, li);
      if (st.full()) yield st.take();
    }
  }
}

/** The state of `signJsonlRange`: the current batch and what the lines so far showed. */
class RangeSigner {
  private readonly batchSize: number;
  private readonly col: string;
  private readonly idCol: string;
  private readonly kindCol: string;
  private readonly near: boolean;
  private readonly strip: boolean;
  private readonly mh: MinHasher;
  private readonly k: number;
  private readonly kernel = new RawTextKernel();
  private readonly sc = new LineScanner();
  private readonly textKey: Buffer;
  private readonly idKey: Buffer;
  private readonly kindKey: Buffer;
  private readonly kindReal = Buffer.from('"real"', 'latin1');
  private line: number;
  private rec: number;
  private first: FirstBatchInfo | undefined;
  private readonly keySet = new Set<string>();
  // shapes (key lists) of canonical lines, interned locally; pass 2 copies those lines without a scan
  private readonly signer: string;
  private readonly shapeIds = new Map<string, number>();
  private newShapes: { id: number; keys: string[] }[] = [];
  private readonly shapes = new LineShapeCache();
  private out: BatchSignatures;
  private r = 0;

  constructor(
    private readonly path: string,
    task: RangeTask,
    private readonly options: SignOptions,
    start: { lines: number; records: number },
    /** Chunk mode (`signJsonlChunk`): `first` is kept to the end (`summary`), ids of rows without one are left out. */
    private readonly relative = false,
  ) {
    this.batchSize = options.batchSize ?? 2048;
    this.col = plainColumn(textOfFile(options, task.fileIndex)) as string;
    this.idCol = options.idColumn ?? 'id';
    this.kindCol = options.kindColumn ?? 'kind';
    this.near = options.near ?? true;
    this.strip = options.stripPunctuation ?? false;
    this.mh = new MinHasher(options);
    this.k = this.mh.numPerm;
    this.sc.lazyKey = Buffer.from(this.col, 'utf8');
    this.textKey = Buffer.from(this.col, 'utf8');
    this.idKey = Buffer.from(this.idCol, 'utf8');
    this.kindKey = Buffer.from(this.kindCol, 'utf8');
    this.line = start.lines;
    this.rec = start.records;
    this.first =
      this.rec < this.batchSize
        ? relative
          ? { records: 0, sawText: false, keys: [], keyRecs: [] }
          : { records: 0, sawText: false, keys: [] }
        : undefined;
    this.signer = `${threadId}:${task.fileIndex}:${task.from}`;
    this.out = newBatch(task.fileIndex, this.rec, this.batchSize, this.near ? this.k : 0);
  }

  private noteKeys(keys: Iterable<string>, row: number): void {
    for (const key of keys)
      if (!this.keySet.has(key)) {
        this.keySet.add(key);
        this.first?.keys.push(key);
        this.first?.keyRecs?.push(row);
      }
  }

  /** Chunk mode: the records read and the first-batch information. */
  summary(chunk: number): ChunkSummary {
    return { chunk, records: this.rec, first: this.first ?? { records: 0, sawText: false, keys: [], keyRecs: [] } };
  }

  /** A local id of a new key list (pass 2 maps it to a global one through `newShapes`). */
  private readonly internLocal = (keys: string[]): number => {
    const name = keys.join('\u0000');
    let id = this.shapeIds.get(name);
    if (id === undefined) {
      id = this.shapeIds.size;
      this.shapeIds.set(name, id);
      this.newShapes.push({ id, keys });
    }
    return id;
  };

  private jsonValue(buf: Uint8Array, i: number): unknown {
    return JSON.parse(decodeLine(buf, this.sc.valStart[i], this.sc.valEnd[i]));
  }

  /** Whether the current batch is complete. */
  full(): boolean {
    return this.r === this.batchSize;
  }

  /** Take the complete batch (and start the next). */
  take(): BatchSignatures & { first?: FirstBatchInfo } {
    const out: BatchSignatures & { first?: FirstBatchInfo } = this.out;
    out.length = this.r;
    out.signer = this.signer;
    out.newShapes = this.newShapes;
    this.newShapes = [];
    if (this.first && this.rec >= this.batchSize && !this.relative) {
      out.first = this.first;
      this.first = undefined;
    }
    this.out = newBatch(out.fileIndex, this.rec, this.batchSize, this.near ? this.k : 0);
    this.r = 0;
    return out;
  }

  /** The last, partial batch (or one carrying `first` alone), if any. */
  rest(): (BatchSignatures & { first?: FirstBatchInfo }) | undefined {
    const r = this.r;
    if (r === 0 && (!this.first || this.relative)) return undefined;
    const b: BatchSignatures & { first?: FirstBatchInfo } =
      r < this.batchSize ? shrink(this.out, r, this.near ? this.k : 0) : this.out;
    b.signer = this.signer;
    b.newShapes = this.newShapes;
    if (this.first && !this.relative) b.first = this.first;
    return b;
  }

  /** Sign the chunk's lines from `li` until the batch is full or the chunk ends; returns the next line. */
  fill(chunk: LineChunk, li: number): number {
    const { buf, starts, ends } = chunk;
    const { sc, kernel, mh, k, batchSize, near, strip, path, col, idCol, kindCol, options } = this;
    const first = this.first;
    const out = this.out;
    for (; li < chunk.count && this.r < batchSize; li++) {
      const s = starts[li];
      const e = ends[li];
      const ln = this.line++;
      if (isBlank(buf, s, e)) continue;
      const row = this.rec++;
      const r = this.r;
      out.rowHashes![r] = hash32Bytes(buf.subarray(s, e));
      const inFirst = row < batchSize;
      if (inFirst && first) first.records++;
      let text: string | undefined;
      let fast = false;
      let id: unknown;
      let real = false;
      let parse = !(sc.scan(buf, s, e) && sc.plainKeys && sc.lazyCount <= 1);
      const ti = parse ? -1 : sc.find(this.textKey);
      const lazyText = ti >= 0 && sc.valType[ti] === T_STRING;
      // the text string was only skipped by the scanner: the kernel validates it, else JSON.parse decides
      if (lazyText) {
        fast = kernel.scan(buf, sc.valStart[ti] + 1, sc.valEnd[ti] - 1, strip);
        if (!fast) parse = true;
      }
      if (!parse) {
        out.shapes![r] =
          sc.canonical && (!lazyText || kernel.canonical) ? this.shapes.shapeOf(sc, buf, this.internLocal) : -1;
        if (inFirst && first && !first.sawText) {
          if (ti >= 0) {
            first.sawText = true;
            first.textRec = row;
          } else {
            const ks: string[] = [];
            for (let i = 0; i < sc.nkeys; i++) ks.push(buf.toString('utf8', sc.keyStart[i], sc.keyEnd[i]));
            this.noteKeys(ks, row);
          }
        }
        if (ti < 0) text = '';
        else if (!lazyText) text = cellText(this.jsonValue(buf, ti));
        const ii = sc.find(this.idKey);
        if (ii >= 0) {
          const vs = sc.valStart[ii];
          const ve = sc.valEnd[ii];
          if (sc.valType[ii] === T_STRING && isAsciiPlain(buf, vs + 1, ve - 1))
            id = buf.toString('latin1', vs + 1, ve - 1);
          else if (sc.valType[ii] === T_LITERAL && buf[vs] === 110) id = null;
          else id = this.jsonValue(buf, ii);
        }
        const ki = sc.find(this.kindKey);
        if (ki >= 0) {
          const vs = sc.valStart[ki];
          const ve = sc.valEnd[ki];
          if (ve - vs === 6) real = buf.compare(this.kindReal, 0, 6, vs, ve) === 0;
          else if (sc.valType[ki] === T_STRING && !isAsciiPlain(buf, vs + 1, ve - 1))
            real = this.jsonValue(buf, ki) === 'real';
        }
      } else {
        fast = false;
        out.shapes![r] = -1;
        const obj = parseLine(buf, s, e, path, ln);
        if (inFirst && first && !first.sawText) {
          if (Object.hasOwn(obj, col)) {
            first.sawText = true;
            first.textRec = row;
          } else this.noteKeys(Object.keys(obj), row);
        }
        text = cellText(Object.hasOwn(obj, col) ? obj[col] : null);
        id = Object.hasOwn(obj, idCol) ? obj[idCol] : null;
        real = Object.hasOwn(obj, kindCol) && obj[kindCol] === 'real';
      }
      // chunk mode: no id yet for a row without one (its row number in the file is not known here)
      out.ids[r] =
        id === undefined || id === null || id === ''
          ? this.relative
            ? (undefined as unknown as string)
            : `${path}:${row}`
          : String(id);
      out.kinds[r] = real ? 0 : 1;
      out.scores[r] = Number.NaN;
      if (fast) {
        out.keys[r] = exactKeyOfBytes(kernel.norm.subarray(0, kernel.normLength));
        out.chars += kernel.chars;
        if (near && kernel.wordCount > 0) {
          mh.signatureOfWords(kernel.words, kernel.wordCount, out.sigs.subarray(r * k, r * k + k));
          out.hasSig[r] = 1;
        }
      } else {
        const t = text as string;
        out.chars += t.length;
        const prepared = prepareWords(t);
        out.keys[r] = exactKeyPrepared(prepared, options);
        if (near) out.hasSig[r] = mh.signaturePrepared(prepared, out.sigs.subarray(r * k, r * k + k)) ? 1 : 0;
      }
      this.r = r + 1;
    }
    return li;
  }
}

function isAsciiPlain(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (ASCII_PLAIN[b[i]] === 0) return false;
  return true;
}

function newBatch(fileIndex: number, offset: number, n: number, k: number): BatchSignatures {
  return {
    fileIndex,
    offset,
    length: n,
    keys: new Array(n),
    ids: new Array(n),
    kinds: new Uint8Array(n),
    scores: new Float64Array(n),
    hasSig: new Uint8Array(n),
    sigs: new Int32Array(n * k),
    chars: 0,
    shapes: new Int32Array(n),
    rowHashes: new Uint32Array(n),
    rowHashKind: 'line',
  };
}

function shrink(b: BatchSignatures, n: number, k: number): BatchSignatures {
  return {
    ...b,
    length: n,
    keys: b.keys.slice(0, n),
    ids: b.ids.slice(0, n),
    kinds: b.kinds.slice(0, n),
    scores: b.scores.slice(0, n),
    hasSig: b.hasSig.slice(0, n),
    sigs: b.sigs.slice(0, n * k),
    shapes: b.shapes?.slice(0, n),
    rowHashes: b.rowHashes?.slice(0, n),
  };
}
