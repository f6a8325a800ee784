/**
 * Pass 2 of `dedupFiles` proves it reads what pass 1 judged (issue 19.1). Pass 1 stats every file
 * before reading it and records an xxh32 per row: of the raw line for JSONL (the fast path hashes the
 * lines it scans, the generic path reads the lines alongside the parsed rows), of the rendered text
 * for Parquet and Arrow. Pass 2 checks each file's size and modification time before
 * and after reading it, its row count, and the hash of every row it writes (kept or rejected),
 * when it reads the row the same way; a mismatch is E_INPUT_CHANGED naming the file (and the row).
 */
import { InputError } from '@curate/core';
import { fileStamp, type InputFile } from '@curate/shards';
import { hash32Bytes } from './exact.js';
import { isBlank, type LineChunk, rawLines } from './jsonline.js';
import type { BatchSignatures } from './sign.js';

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/** Size and modification time of a local file or an `s3://` object. */
export async function stampOf(path: string): Promise<FileStamp> {
  return fileStamp(path);
}

export function inputChanged(path: string, what: string, row?: number): InputError {
  return new InputError(
    `input changed between the passes of the run: ${what} (inputs must not change while curate runs)`,
    { code: 'E_INPUT_CHANGED', file: path, row },
  );
}

/** Fail unless `path` still has the size and modification time pass 1 saw. */
export async function checkStamp(path: string, was: FileStamp, code = 'E_INPUT_CHANGED'): Promise<void> {
  let now: FileStamp;
  try {
    now = await stampOf(path);
  } catch (e) {
    throw retag(
      inputChanged(path, `cannot stat it any more (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`),
      code,
    );
  }
  if (now.size !== was.size) throw retag(inputChanged(path, `size ${was.size} -> ${now.size} bytes`), code);
  if (now.mtimeMs !== was.mtimeMs)
    throw retag(inputChanged(path, `modified at ${new Date(now.mtimeMs).toISOString()}, after pass 1 read it`), code);
}

function retag(e: InputError, code: string): InputError {
  return code === e.code ? e : new InputError(e.message, { code, file: e.file, row: e.row });
}

/** What pass 1 hashed per row of a file: the raw line (JSONL) or the rendered text (Parquet, Arrow). */
export type RowHashKind = 'line' | 'text';

/** Per file: the stamp before pass 1, the row count and the row hashes pass 1 saw. */
export class PassOneRecord {
  readonly stamps: FileStamp[] = [];
  private readonly hashes = new Map<number, Uint32Array>();
  private readonly counts = new Map<number, number>();
  private readonly kinds = new Map<number, RowHashKind>();

  /** Record the row hashes of one pass-1 batch. */
  add(b: BatchSignatures): void {
    const end = b.offset + b.length;
    this.counts.set(b.fileIndex, Math.max(this.counts.get(b.fileIndex) ?? 0, end));
    if (!b.rowHashes) return;
    this.kinds.set(b.fileIndex, b.rowHashKind ?? 'text');
    let a = this.hashes.get(b.fileIndex);
    if (!a || a.length < end) {
      const n = new Uint32Array(Math.max(end, (a?.length ?? 0) * 2, 1024));
      if (a) n.set(a);
      a = n;
      this.hashes.set(b.fileIndex, a);
    }
    a.set(b.rowHashes.subarray(0, b.length), b.offset);
  }

  /** Rows pass 1 read from a file. */
  rows(fileIndex: number): number {
    return this.counts.get(fileIndex) ?? 0;
  }

  /** The row hashes of a file, when pass 1 hashed its rows as `kind`. */
  hashesOf(fileIndex: number, kind: RowHashKind): Uint32Array | undefined {
    return this.kinds.get(fileIndex) === kind ? this.hashes.get(fileIndex) : undefined;
  }

  /** Whether some file's rows were hashed as `kind`. */
  has(kind: RowHashKind): boolean {
    for (const k of this.kinds.values()) if (k === kind) return true;
    return false;
  }

  /** Fail unless pass 2 read as many rows of the file as pass 1. */
  checkRows(fileIndex: number, path: string, rows: number): void {
    const was = this.rows(fileIndex);
    if (rows !== was) throw inputChanged(path, `pass 1 read ${was} rows, pass 2 ${rows}`);
  }
}

/**
 * xxh32 of the non-blank raw lines of a JSONL file, taken in order: lets the generic pass 2 (which
 * parses rows) check files pass 1 signed on the fast path (which hashed raw lines).
 */
export class LineHashReader {
  private readonly it: AsyncIterator<LineChunk>;
  private buf: number[] = [];
  private pos = 0;

  constructor(f: InputFile) {
    this.it = rawLines(f.path, 0, Number.POSITIVE_INFINITY, true, f.compression)[Symbol.asyncIterator]();
  }

  /** The hashes of the next `n` records (fewer at the end of the file). */
  async take(n: number): Promise<number[]> {
    while (this.buf.length - this.pos < n) {
      const r = await this.it.next();
      if (r.done) break;
      if (this.pos) {
        this.buf = this.buf.slice(this.pos);
        this.pos = 0;
      }
      const { buf, starts, ends, count } = r.value;
      for (let i = 0; i < count; i++)
        if (!isBlank(buf, starts[i], ends[i])) this.buf.push(hash32Bytes(buf.subarray(starts[i], ends[i])));
    }
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += out.length;
    return out;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
