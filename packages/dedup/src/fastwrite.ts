/**
 * Pass 2 fast path for JSONL in, JSONL out (uncompressed): kept and rejected
 * rows are written without building batches. A canonical line whose keys are
 * the output schema in order is copied as bytes (rejected rows get
 * `,"reason":...` spliced before the closing brace); any other line is parsed
 * and written exactly as the shards JSONL writer writes it. The output schema
 * follows the generic path (`createSplitWriter`) batch by batch: fixed by the
 * first batch with a kept (rejected) row as the union of the file's keys so
 * far, later columns are E_SCHEMA_CHANGED, missing ones null. So the files are
 * byte-identical to the generic path's (tested).
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { close, closeSync, open, rename, rm, stat, write } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InputError, type Stats } from '@curate/core';
import type { InputFile, WrittenShard } from '@curate/shards';
import { isBlank, LineScanner, parseLine, rawLines } from './jsonline.js';

const openP = promisify(open);
const writeP = promisify(write);
const closeP = promisify(close);
const renameP = promisify(rename);
const statP = promisify(stat);
const rmP = promisify(rm);

/** Input files the fast path reads: uncompressed JSONL. */
export function isRawJsonl(f: InputFile): boolean {
  return f.format === 'jsonl' && !f.compression;
}

/** The shards JSONL writer's text of one cell. */
export function jsonCell(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? String(Number(v))
        : JSON.stringify(v.toString());
    default:
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? jsonCell(x) : x)) ?? 'null';
  }
}

const OUT_CHUNK = 1 << 22;

class RawShardWriter {
  schema: string[] | undefined;
  schemaSet = new Set<string>();
  /** UTF-8 bytes of the schema names that a raw line must have, in order (the rejected schema without `reason`). */
  rawKeys: Buffer[] = [];
  private prefixes: string[] = [];
  private fd = -1;
  private tmp = '';
  private out = Buffer.allocUnsafe(OUT_CHUNK);
  private len = 0;
  private hash: Hash = createHash('sha256');
  private bytes = 0;
  rows = 0;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    readonly withReason: boolean,
  ) {}

  setSchema(names: string[]): void {
    this.schema = names;
    this.schemaSet = new Set(names);
    this.prefixes = names.map((n, i) => (i === 0 ? '{' : ',') + JSON.stringify(n) + ':');
    const raw = this.withReason ? names.slice(0, -1) : names;
    this.rawKeys = raw.map((n) => Buffer.from(n, 'utf8'));
  }

  private async ensureOpen(): Promise<void> {
    if (this.fd >= 0) return;
    await mkdir(this.dir, { recursive: true });
    this.tmp = join(this.dir, `.tmp-${this.prefix}-00000-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
    this.fd = await openP(this.tmp, 'w');
  }

  private room(n: number): Promise<void> | undefined {
    if (this.len + n <= this.out.length) return undefined;
    return this.flush(n);
  }

  private async flush(need = 0): Promise<void> {
    await this.ensureOpen();
    if (this.len) {
      const data = this.out.subarray(0, this.len);
      this.hash.update(data);
      let off = 0;
      while (off < data.length) off += (await writeP(this.fd, data, off, data.length - off)).bytesWritten;
      this.bytes += data.length;
      this.out = Buffer.allocUnsafe(Math.max(OUT_CHUNK, need));
      this.len = 0;
    } else if (need > this.out.length) this.out = Buffer.allocUnsafe(need);
  }

  /** The line's bytes, plus the reason for a rejected row. */
  async raw(b: Uint8Array, s: number, e: number, reason?: string): Promise<void> {
    if (this.fd < 0) await this.ensureOpen();
    const tail = reason === undefined ? undefined : `${e - s > 2 ? ',' : ''}"reason":${JSON.stringify(reason)}}`;
    const n = e - s + 1 + (tail === undefined ? 0 : Buffer.byteLength(tail) - 1);
    const w = this.room(n);
    if (w) await w;
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
      const v = this.withReason && c === names.length - 1 ? reason : Object.hasOwn(obj, n) ? obj[n] : null;
      line += this.prefixes[c] + jsonCell(v);
    }
    line += '}\n';
    const n = Buffer.byteLength(line);
    const w = this.room(n);
    if (w) await w;
    this.len += this.out.write(line, this.len, 'utf8');
    this.rows++;
  }

  async close(): Promise<WrittenShard[]> {
    if (this.fd < 0) return [];
    await this.flush();
    await closeP(this.fd);
    this.fd = -1;
    const path = join(this.dir, `${this.prefix}-00000-of-00001.jsonl`);
    await renameP(this.tmp, path);
    this.tmp = '';
    const st = await statP(path);
    return [{ path, rows: this.rows, bytes: st.size, sha256: this.hash.digest('hex') }];
  }

  async abort(): Promise<void> {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = -1;
    }
    if (this.tmp) await rmP(this.tmp, { force: true }).catch(() => {});
  }
}

function schemaError(k: string, schema: string[], file: string): InputError {
  return new InputError(
    `column "${k}" is not in the output schema (${schema.join(', ')}), which was fixed by the first batch`,
    { code: 'E_SCHEMA_CHANGED', file },
  );
}

interface Pending {
  bytes?: Buffer;
  obj?: Record<string, unknown>;
  canonical: boolean;
  keys: string[];
  reason?: string;
}

/** True when the scanned line's keys are exactly `keys` in order. */
function sameKeys(sc: LineScanner, keys: Buffer[]): boolean {
  if (sc.nkeys !== keys.length) return false;
  const b = sc.b;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const s = sc.keyStart[i];
    if (sc.keyEnd[i] - s !== k.length) return false;
    for (let j = 0; j < k.length; j++) if (b[s + j] !== k[j]) return false;
  }
  return true;
}

function keyStrings(sc: LineScanner): string[] {
  const out: string[] = new Array(sc.nkeys);
  const b = sc.b as Buffer;
  for (let i = 0; i < sc.nkeys; i++) out[i] = b.toString('utf8', sc.keyStart[i], sc.keyEnd[i]);
  return out;
}

/**
 * `writeSplit` for uncompressed JSONL inputs written as uncompressed JSONL:
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
): Promise<{ kept: WrittenShard[]; rejected: WrittenShard[] }> {
  const prefix = options.prefix ?? 'shard';
  const kept = new RawShardWriter(options.dir, prefix, false);
  const rej =
    (options.writeRejected ?? true) ? new RawShardWriter(join(options.dir, 'rejected'), prefix, true) : undefined;
  const batchSize = options.batchSize ?? 2048;
  const sc = new LineScanner();
  try {
    let rowsDone = 0;
    let bytesDone = 0;
    for (const fi of fileIndexes) {
      const f = files[fi];
      stats.read(f.path, 0);
      const union: string[] = [];
      const unionSet = new Set<string>();
      let line = 0;
      let rec = 0;
      let inBatch = 0;
      let nKept = 0;
      let nRej = 0;
      let pendKept: Pending[] | undefined;
      let pendRej: Pending[] | undefined;
      const addKeys = (keys: string[]) => {
        for (const k of keys)
          if (!unionSet.has(k)) {
            unionSet.add(k);
            union.push(k);
          }
      };
      const endBatch = async () => {
        if (inBatch === 0) return;
        stats.read(f.path, inBatch);
        stats.kept(f.path, nKept);
        if (nKept) {
          if (!kept.schema) {
            kept.setSchema([...union]);
            for (const p of pendKept ?? []) await writePending(kept, p);
            pendKept = undefined;
          }
          for (const k of union) if (!kept.schemaSet.has(k)) throw schemaError(k, kept.schema as string[], f.path);
        }
        if (nRej && rej) {
          if (!rej.schema) {
            rej.setSchema([...union.filter((k) => k !== 'reason'), 'reason']);
            for (const p of pendRej ?? []) await writePending(rej, p);
            pendRej = undefined;
          }
          for (const k of union) if (!rej.schemaSet.has(k)) throw schemaError(k, rej.schema as string[], f.path);
        }
        rowsDone += inBatch;
        inBatch = 0;
        nKept = 0;
        nRej = 0;
      };
      for await (const chunk of rawLines(f.path)) {
        const { buf, starts, ends } = chunk;
        for (let i = 0; i < chunk.count; i++) {
          const s = starts[i];
          const e = ends[i];
          const ln = line++;
          if (isBlank(buf, s, e)) continue;
          const reason = reasonOf(fi * fileScale + rec);
          rec++;
          const w = reason === undefined ? kept : rej;
          if (reason === undefined) nKept++;
          else {
            nRej++;
            stats.drop(f.path, reason);
          }
          const canonical = sc.scan(buf, s, e) && sc.canonical;
          let obj: Record<string, unknown> | undefined;
          let keys: string[] | undefined;
          if (canonical) {
            // keys equal to a fixed schema are in the union already
            const known =
              (kept.schema && sameKeys(sc, kept.rawKeys)) || (rej?.schema !== undefined && sameKeys(sc, rej.rawKeys));
            if (!known) keys = keyStrings(sc);
          } else {
            obj = parseLine(buf, s, e, f.path, ln);
            keys = Object.keys(obj);
          }
          if (keys) addKeys(keys);
          if (w) {
            if (!w.schema) {
              const p: Pending = {
                canonical,
                keys: keys ?? keyStrings(sc),
                reason,
                obj,
                bytes: obj ? undefined : Buffer.from(buf.subarray(s, e)),
              };
              if (w === kept) (pendKept ??= []).push(p);
              else (pendRej ??= []).push(p);
            } else if (canonical && sameKeys(sc, w.rawKeys)) {
              await w.raw(buf, s, e, reason);
            } else {
              await w.row(obj ?? parseLine(buf, s, e, f.path, ln), reason);
            }
          }
          if (++inBatch === batchSize) await endBatch();
        }
      }
      await endBatch();
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

async function writePending(w: RawShardWriter, p: Pending): Promise<void> {
  const names = w.withReason ? (w.schema as string[]).slice(0, -1) : (w.schema as string[]);
  const same = p.canonical && p.keys.length === names.length && p.keys.every((k, i) => k === names[i]);
  if (same && p.bytes) await w.raw(p.bytes, 0, p.bytes.length, p.reason);
  else await w.row(p.obj ?? (JSON.parse(new TextDecoder().decode(p.bytes)) as Record<string, unknown>), p.reason);
}
