/**
 * Readers of Megatron-LM indexed datasets and datatrove/nanotron `.ds` files written from the
 * published formats (Megatron-LM `megatron/core/datasets/indexed_dataset.py`, datatrove
 * `pipeline/tokens/tokenizer.py`), not from curate's writer: the tests' independent side.
 */
import { readFileSync } from 'node:fs';

export interface MegatronDataset {
  version: number;
  dtypeCode: number;
  lengths: number[];
  pointers: number[];
  documentIndices: number[];
  /** Token ids per sequence. */
  sequences: number[][];
}

/** Read PREFIX.idx + PREFIX.bin; throws on anything the format does not allow. */
export function readMegatron(prefix: string): MegatronDataset {
  const idx = readFileSync(`${prefix}.idx`);
  const bin = readFileSync(`${prefix}.bin`);
  if (idx.subarray(0, 9).toString('latin1') !== 'MMIDIDX\x00\x00') throw new Error('bad magic');
  let o = 9;
  const version = Number(idx.readBigUInt64LE(o));
  o += 8;
  const dtypeCode = idx.readUInt8(o);
  o += 1;
  const seqCount = Number(idx.readBigUInt64LE(o));
  o += 8;
  const docCount = Number(idx.readBigUInt64LE(o));
  o += 8;
  const lengths: number[] = [];
  for (let i = 0; i < seqCount; i++, o += 4) lengths.push(idx.readInt32LE(o));
  const pointers: number[] = [];
  for (let i = 0; i < seqCount; i++, o += 8) pointers.push(Number(idx.readBigInt64LE(o)));
  const documentIndices: number[] = [];
  for (let i = 0; i < docCount; i++, o += 8) documentIndices.push(Number(idx.readBigInt64LE(o)));
  if (o !== idx.length) throw new Error(`idx has ${idx.length - o} trailing bytes`);
  const size = { 8: 2, 4: 4 }[dtypeCode];
  if (!size) throw new Error(`dtype code ${dtypeCode}`);
  const sequences = lengths.map((len, i) => {
    const ids: number[] = [];
    for (let j = 0; j < len; j++) {
      const at = pointers[i] + j * size;
      ids.push(size === 2 ? bin.readUInt16LE(at) : bin.readInt32LE(at));
    }
    return ids;
  });
  const last = seqCount ? pointers[seqCount - 1] + lengths[seqCount - 1] * size : 0;
  if (last !== bin.length) throw new Error(`bin has ${bin.length} bytes, index covers ${last}`);
  return { version, dtypeCode, lengths, pointers, documentIndices, sequences };
}

/** Read PREFIX.ds (+ .ds.index, .ds.metadata): documents as token id lists. */
export function readDatatrove(dsPath: string, tokenSize: 2 | 4): { documents: number[][]; metadata: string[] } {
  const ds = readFileSync(dsPath);
  const index = readFileSync(`${dsPath}.index`);
  const metadata = readFileSync(`${dsPath}.metadata`, 'utf8').split('\n');
  const ends: number[] = [];
  for (let o = 0; o < index.length; o += 8) ends.push(Number(index.readBigUInt64LE(o)));
  const documents: number[][] = [];
  let start = 0;
  for (const end of ends) {
    const ids: number[] = [];
    for (let t = start; t < end; t++) ids.push(tokenSize === 2 ? ds.readUInt16LE(t * 2) : ds.readUInt32LE(t * 4));
    documents.push(ids);
    start = end;
  }
  if (start * tokenSize !== ds.length) throw new Error(`.ds has ${ds.length} bytes, index covers ${start * tokenSize}`);
  return { documents, metadata };
}

/** Read PREFIX.ds.loss (datatrove `save_loss_metadata`: one bool byte per token) split by .ds.index. */
export function readDatatroveLoss(dsPath: string): number[][] {
  const loss = readFileSync(`${dsPath}.loss`);
  const index = readFileSync(`${dsPath}.index`);
  const out: number[][] = [];
  let start = 0;
  for (let o = 0; o < index.length; o += 8) {
    const end = Number(index.readBigUInt64LE(o));
    out.push(Array.from(loss.subarray(start, end)));
    start = end;
  }
  if (start !== loss.length) throw new Error(`.ds.loss has ${loss.length} bytes, index covers ${start} tokens`);
  return out;
}
