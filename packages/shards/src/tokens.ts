/**
 * Tokenized shards that trainers read directly: one dataset per output shard.
 *
 * - `megatron`: Megatron-LM's indexed dataset, `PREFIX.bin` (token ids, little-endian uint16 or
 *   int32) + `PREFIX.idx`: magic `MMIDIDX\0\0`, version 1 (uint64), dtype code (uint8: 8 uint16,
 *   4 int32), sequence count (uint64), document count (uint64, sequences + 1), sequence lengths
 *   (int32 each), sequence pointers (int64 byte offsets into .bin), document indices (int64,
 *   `0..n`: one sequence per document).
 * - `nanotron`: datatrove's `DocumentTokenizer` layout that nanotron's `DatatroveFolderDataset`
 *   reads: `PREFIX.ds` (token ids, little-endian uint16 or uint32), `PREFIX.ds.index` (uint64 end of
 *   each document, in tokens, cumulative) and `PREFIX.ds.metadata` (tokenizer, token count, humanised count);
 *   with `lossMask`, `PREFIX.ds.loss`: one byte per token (1 = trained on, 0 = masked), as datatrove's
 *   `save_loss_metadata` writes it.
 *
 * Every document is its text's token ids followed by one EOD id. Each dataset has a sidecar
 * `PREFIX.provenance.parquet`, one row per document in dataset order, holding every column of the
 * written batch except the text (source, kind, source_row, epoch, generator, ...) plus
 * `token_start` (the document's first token in the dataset) and `tokens` (its token count, EOD
 * excluded: the EOD is at `token_start + tokens`).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type Batch, dict, InputError } from '@curate/core';
import { createFileWriter } from './formats.js';
import { inferColumns } from './infer.js';
import { createRotation } from './rotation.js';
import type { ColumnSpec, FileWriter, WrittenShard } from './types.js';

export type TokenFormat = 'megatron' | 'nanotron';

export interface TokenShardWriterOptions {
  dir: string;
  format: TokenFormat;
  /** Token ids of a document's text (no BOS/EOS added). */
  encode: (text: string) => ArrayLike<number>;
  /** Appended after every document. */
  eod: number;
  /** Bytes per token id: 2 (uint16) or 4 (Megatron int32, datatrove uint32). */
  tokenSize: 2 | 4;
  /** Written to nanotron's `.ds.metadata` (datatrove writes the tokenizer's name there). */
  tokenizerName: string;
  /** Column holding the text (default `text`). */
  textColumn?: string;
  /** Columns of the provenance sidecar (the batch's columns without the text); inferred when absent. */
  columns?: ColumnSpec[];
  /** Start a new dataset after this many documents. */
  maxRows?: number;
  /** Start a new dataset after about this many bytes of token ids. */
  maxBytes?: number;
  /** File name prefix (default `shard`). */
  prefix?: string;
  /**
   * nanotron only: write `.ds.loss`. Called per row: the character ranges (flat, ascending start,
   * end pairs) of the text whose tokens are trained on, or null for all of the document (EOD
   * included). With ranges, the text is encoded in pieces cut at the range ends (a range's tokens
   * start at a token boundary, as an assistant reply does at inference after `assistant\n`), the
   * ranges' tokens are 1, every other token and the EOD 0.
   */
  lossMask?: (batch: Batch, row: number, text: string) => readonly number[] | null;
}

/** One written dataset: `path` is the token file (.bin / .ds); `files` every file of the dataset. */
export interface WrittenTokenShard extends WrittenShard {
  tokens: number;
  files: { path: string; bytes: number; sha256: string }[];
}

export interface TokenShardWriter {
  write(batch: Batch): Promise<void>;
  close(): Promise<WrittenTokenShard[]>;
  abort(): Promise<void>;
}

/** Megatron-LM DType codes. */
export const MEGATRON_DTYPE = { uint16: 8, int32: 4 } as const;
export const MEGATRON_MAGIC = Buffer.from('MMIDIDX\0\0', 'latin1');

/** The extensions of a dataset's files, the token file first. */
export function tokenFileExtensions(format: TokenFormat, loss = false): string[] {
  return format === 'megatron'
    ? ['.bin', '.idx', '.provenance.parquet']
    : ['.ds', '.ds.index', '.ds.metadata', ...(loss ? ['.ds.loss'] : []), '.provenance.parquet'];
}

/** datatrove's `humanize.metric(n, unit="T")`-style count for `.ds.metadata`: `1.23 MT`. */
function humanTokens(n: number): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? String(n) : x.toPrecision(3)} ${units[i]}T`;
}

const FLUSH_BYTES = 1 << 20;

interface OpenDataset {
  index: number;
  tokens: FileHandle;
  /** Token file bytes written (flushed + buffered). */
  bytes: number;
  buf: Buffer;
  used: number;
  /** Token count per document, EOD included. */
  lengths: number[];
  provenance: FileWriter;
  tmp: string;
  rows: number;
  /** `.ds.loss` (lossMask): one byte per token. */
  loss?: FileHandle;
  lossBuf?: Buffer;
  lossUsed: number;
}

export function createTokenShardWriter(options: TokenShardWriterOptions): TokenShardWriter {
  const { format, tokenSize, eod } = options;
  const textColumn = options.textColumn ?? 'text';
  const prefix = options.prefix ?? 'shard';
  const maxRows = options.maxRows && options.maxRows > 0 ? options.maxRows : Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes && options.maxBytes > 0 ? options.maxBytes : Number.POSITIVE_INFINITY;
  const maxId = tokenSize === 2 ? 0xffff : 0x7fffffff;
  if (!Number.isInteger(eod) || eod < 0 || eod > maxId) {
    throw new InputError(`EOD id ${eod} does not fit ${tokenSize}-byte token ids`, { code: 'E_TOKEN_DTYPE' });
  }
  const lossMask = format === 'nanotron' ? options.lossMask : undefined;
  const exts = tokenFileExtensions(format, Boolean(lossMask));
  const [tokenExt] = exts;
  let columns = options.columns;
  /** The batch being written (the first one's columns make the provenance schema). */
  let writing: Batch | undefined;

  const provenanceColumns = (batch: Batch): ColumnSpec[] => {
    if (!columns) {
      const sub = dict<unknown[]>();
      for (const k of Object.keys(batch.columns)) if (k !== textColumn) sub[k] = batch.columns[k];
      columns = inferColumns({ length: batch.length, columns: sub, types: batch.types, declared: batch.declared });
    }
    return [...columns, { name: 'token_start', type: 'int64' }, { name: 'tokens', type: 'int64' }];
  };

  const openDataset = async (tmp: string, index: number): Promise<OpenDataset> => {
    const tokens = await open(`${tmp}${tokenExt}`, 'w');
    const provenance = await createFileWriter('parquet', `${tmp}.provenance.parquet`, {
      columns: provenanceColumns(writing as Batch),
      compression: 'zstd',
    });
    const d: OpenDataset = {
      index,
      tokens,
      bytes: 0,
      buf: Buffer.allocUnsafe(FLUSH_BYTES + 64),
      used: 0,
      lengths: [],
      provenance,
      tmp,
      rows: 0,
      lossUsed: 0,
    };
    if (lossMask) {
      d.loss = await open(`${tmp}.ds.loss`, 'w');
      d.lossBuf = Buffer.allocUnsafe(FLUSH_BYTES + 64);
    }
    return d;
  };

  const flush = async (d: OpenDataset) => {
    if (d.used > 0) await d.tokens.write(d.buf, 0, d.used);
    d.used = 0;
    if (d.loss && d.lossBuf && d.lossUsed > 0) await d.loss.write(d.lossBuf, 0, d.lossUsed);
    d.lossUsed = 0;
  };

  /** `text` encoded piece by piece, cut at the ranges' ends; mask 1 on the ranges' tokens. */
  const encodeRanges = (text: string, ranges: readonly number[]): { ids: number[]; mask: Uint8Array } => {
    const ids: number[] = [];
    const bits: number[] = [];
    let at = 0;
    const put = (end: number, bit: number) => {
      if (end <= at) return;
      const part = options.encode(text.slice(at, end));
      for (let j = 0; j < part.length; j++) {
        ids.push(part[j]);
        bits.push(bit);
      }
      at = end;
    };
    for (let r = 0; r + 1 < ranges.length; r += 2) {
      put(Math.min(text.length, ranges[r]), 0);
      put(Math.min(text.length, ranges[r + 1]), 1);
    }
    put(text.length, 0);
    return { ids, mask: Uint8Array.from(bits) };
  };

  /** Append one document's loss bytes (mask, or all ones when null) and the EOD's. */
  const putLoss = async (d: OpenDataset, n: number, mask: Uint8Array | null) => {
    if (d.lossUsed + n + 1 > (d.lossBuf as Buffer).length) {
      await flush(d);
      if (n + 1 > (d.lossBuf as Buffer).length) d.lossBuf = Buffer.allocUnsafe(n + 1);
    }
    const b = d.lossBuf as Buffer;
    if (mask) b.set(mask.subarray(0, n), d.lossUsed);
    else b.fill(1, d.lossUsed, d.lossUsed + n);
    b[d.lossUsed + n] = mask ? 0 : 1;
    d.lossUsed += n + 1;
  };

  /** Append one document's ids and the EOD to the token buffer (flushing first when it is full). */
  const putDocument = async (d: OpenDataset, ids: ArrayLike<number>, file: string | undefined) => {
    const need = (ids.length + 1) * tokenSize;
    if (d.used + need > d.buf.length) {
      await flush(d);
      if (need > d.buf.length) d.buf = Buffer.allocUnsafe(need);
    }
    const buf = d.buf;
    let o = d.used;
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j];
      if (!(id >= 0 && id <= maxId)) {
        throw new InputError(`token id ${id} does not fit ${tokenSize}-byte token ids`, {
          code: 'E_TOKEN_DTYPE',
          file,
        });
      }
      if (tokenSize === 2) buf.writeUInt16LE(id, o);
      else buf.writeInt32LE(id, o);
      o += tokenSize;
    }
    if (tokenSize === 2) buf.writeUInt16LE(eod, o);
    else buf.writeInt32LE(eod, o);
    o += tokenSize;
    d.used = o;
    d.bytes += need;
  };

  const finishDataset = async (d: OpenDataset): Promise<{ rows: number; tokens: number }> => {
    await flush(d);
    await d.tokens.close();
    await d.loss?.close();
    await d.provenance.close();
    const n = d.lengths.length;
    let total = 0;
    for (const l of d.lengths) total += l;
    if (format === 'megatron') {
      const idx = Buffer.alloc(9 + 8 + 1 + 8 + 8 + 4 * n + 8 * n + 8 * (n + 1));
      let o = MEGATRON_MAGIC.copy(idx, 0);
      idx.writeBigUInt64LE(1n, o);
      o += 8;
      idx.writeUInt8(tokenSize === 2 ? MEGATRON_DTYPE.uint16 : MEGATRON_DTYPE.int32, o);
      o += 1;
      idx.writeBigUInt64LE(BigInt(n), o);
      o += 8;
      idx.writeBigUInt64LE(BigInt(n + 1), o);
      o += 8;
      for (const l of d.lengths) {
        idx.writeInt32LE(l, o);
        o += 4;
      }
      let ptr = 0;
      for (const l of d.lengths) {
        idx.writeBigInt64LE(BigInt(ptr), o);
        o += 8;
        ptr += l * tokenSize;
      }
      for (let i = 0; i <= n; i++) {
        idx.writeBigInt64LE(BigInt(i), o);
        o += 8;
      }
      await writeWhole(`${d.tmp}.idx`, idx);
    } else {
      const index = Buffer.alloc(8 * n);
      let end = 0;
      for (let i = 0; i < n; i++) {
        end += d.lengths[i];
        index.writeBigUInt64LE(BigInt(end), 8 * i);
      }
      await writeWhole(`${d.tmp}.ds.index`, index);
      await writeWhole(
        `${d.tmp}.ds.metadata`,
        Buffer.from([options.tokenizerName, String(total), humanTokens(total)].join('\n')),
      );
    }
    return { rows: d.rows, tokens: total };
  };

  const datasets = createRotation<OpenDataset, { rows: number; tokens: number }>({
    dir: options.dir,
    prefix,
    exts,
    kind: 'token shard writer',
    open: openDataset,
    finish: finishDataset,
    discard: async (d) => {
      await d.tokens.close().catch(() => {});
      await d.loss?.close().catch(() => {});
      await d.provenance.close().catch(() => {});
    },
  });

  const writeBatch = async (batch: Batch) => {
    if (batch.length === 0) return;
    const texts = batch.columns[textColumn];
    if (!texts) {
      throw new InputError(`no "${textColumn}" column to tokenize`, { code: 'E_MISSING_COLUMN', file: batch.file });
    }
    let pos = 0;
    while (pos < batch.length) {
      writing = batch;
      const d = await datasets.current();
      const start = pos;
      const starts: number[] = [];
      const counts: number[] = [];
      while (pos < batch.length && d.rows < maxRows && d.bytes < maxBytes) {
        const text = texts[pos];
        let ids: ArrayLike<number>;
        if (lossMask && d.loss) {
          const ranges = typeof text === 'string' ? lossMask(batch, pos, text) : null;
          let mask: Uint8Array | null = null;
          if (ranges && typeof text === 'string') ({ ids, mask } = encodeRanges(text, ranges));
          else ids = typeof text === 'string' ? options.encode(text) : [];
          await putLoss(d, ids.length, mask);
        } else ids = typeof text === 'string' ? options.encode(text) : [];
        starts.push(d.bytes / tokenSize);
        await putDocument(d, ids, batch.file);
        counts.push(ids.length);
        d.lengths.push(ids.length + 1);
        d.rows++;
        pos++;
      }
      const cols = dict<unknown[]>();
      for (const c of columns as ColumnSpec[])
        cols[c.name] = batch.columns[c.name]?.slice(start, pos) ?? new Array(pos - start).fill(null);
      cols.token_start = starts;
      cols.tokens = counts;
      await d.provenance.write({ length: pos - start, columns: cols });
      if (d.rows >= maxRows || d.bytes >= maxBytes) await datasets.rotate();
    }
  };

  return {
    write: (batch) => datasets.run(() => writeBatch(batch)),
    async close() {
      const out = await datasets.close();
      return out.map(({ info, files }) => ({ ...files[0], rows: info.rows, tokens: info.tokens, files }));
    },
    abort: () => datasets.abort(),
  };
}

async function writeWhole(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.write(data, 0, data.length);
  } finally {
    await fh.close();
  }
}
