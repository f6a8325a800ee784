/**
 * Stream the documents of a token dataset (Megatron-LM `.bin`/`.idx` or datatrove/nanotron `.ds`),
 * one document at a time, in bounded memory: the index is read whole (a few bytes per document),
 * the token file in blocks of about 1 MiB.
 */
import { open, readFile } from 'node:fs/promises';
import { InputError } from '@curate/core';

export interface TokenDocument {
  /** 0-based document index in the dataset. */
  index: number;
  /** Token ids of the document (its EOD included, as written). */
  ids: Uint32Array;
}

export interface TokenDatasetOptions {
  /** `.ds` files: bytes per token id (2 or 4; default from `.ds.metadata`'s tokenizer is unknown, so 2 unless given). */
  tokenSize?: 2 | 4;
}

const MAGIC = 'MMIDIDX\x00\x00';

/** Document spans (byte offset, token count) and token size of a dataset. */
async function spans(
  path: string,
  options: TokenDatasetOptions,
): Promise<{ file: string; size: 2 | 4; offsets: number[]; counts: number[] }> {
  const bad = (why: string, file: string) => new InputError(why, { code: 'E_TOKEN_DATASET', file });
  if (path.endsWith('.ds')) {
    const size = options.tokenSize ?? 2;
    const index = await readFile(`${path}.index`);
    if (index.length % 8) throw bad('.ds.index is not a list of uint64', `${path}.index`);
    const offsets: number[] = [];
    const counts: number[] = [];
    let start = 0;
    for (let o = 0; o < index.length; o += 8) {
      const end = Number(index.readBigUInt64LE(o));
      if (end < start) throw bad('document ends go backwards', `${path}.index`);
      offsets.push(start * size);
      counts.push(end - start);
      start = end;
    }
    return { file: path, size, offsets, counts };
  }
  const prefix = path.replace(/\.(bin|idx)$/, '');
  const idxFile = `${prefix}.idx`;
  const idx = await readFile(idxFile);
  if (idx.length < 34 || idx.subarray(0, 9).toString('latin1') !== MAGIC)
    throw bad('not a Megatron index (magic)', idxFile);
  if (idx.readBigUInt64LE(9) !== 1n)
    throw bad(`Megatron index version ${idx.readBigUInt64LE(9)} (expected 1)`, idxFile);
  const code = idx.readUInt8(17);
  const size = code === 8 ? 2 : code === 4 ? 4 : 0;
  if (!size) throw bad(`Megatron dtype code ${code} (curate reads 8 uint16 and 4 int32)`, idxFile);
  const n = Number(idx.readBigUInt64LE(18));
  if (idx.length < 34 + 12 * n) throw bad('index shorter than its sequence count', idxFile);
  const counts: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < n; i++) counts.push(idx.readInt32LE(34 + 4 * i));
  for (let i = 0; i < n; i++) offsets.push(Number(idx.readBigInt64LE(34 + 4 * n + 8 * i)));
  return { file: `${prefix}.bin`, size: size as 2 | 4, offsets, counts };
}

/**
 * The documents of a token dataset: `path` is a Megatron prefix (or its `.bin`/`.idx`) or a `.ds`
 * file. Megatron's dtype comes from the index; for `.ds` pass `tokenSize` (2 unless the vocabulary
 * needs 4, as nanotron decides).
 */
export async function* readTokenDataset(
  path: string,
  options: TokenDatasetOptions = {},
): AsyncGenerator<TokenDocument> {
  const { file, size, offsets, counts } = await spans(path, options);
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.alloc(1 << 20);
    let bufStart = 0;
    let bufLen = 0;
    for (let i = 0; i < counts.length; i++) {
      const from = offsets[i];
      const bytes = counts[i] * size;
      if (from < bufStart || from + bytes > bufStart + bufLen) {
        if (bytes > buf.length) buf = Buffer.alloc(bytes);
        const { bytesRead } = await fh.read(buf, 0, buf.length, from);
        if (bytesRead < bytes) {
          throw new InputError(`document ${i} ends past the end of the file`, { code: 'E_TOKEN_DATASET', file });
        }
        bufStart = from;
        bufLen = bytesRead;
      }
      const at = from - bufStart;
      const ids = new Uint32Array(counts[i]);
      for (let j = 0; j < counts[i]; j++)
        ids[j] = size === 2 ? buf.readUInt16LE(at + 2 * j) : buf.readUInt32LE(at + 4 * j);
      yield { index: i, ids };
    }
  } finally {
    await fh.close();
  }
}
