/** Worker thread: signs its share of batches and posts them back (typed arrays transferred, text never copied). */
import { parentPort, workerData } from 'node:worker_threads';
import { CurateError } from '@curate/core';
import type { InputFile } from '@curate/shards';
import { type ChunkTask, signJsonlChunk } from './fastsign.js';
import type { BatchSignatures, SignOptions } from './sign.js';

function post(s: BatchSignatures, chunk?: number): void {
  (parentPort as NonNullable<typeof parentPort>).postMessage({ type: 'batch', data: s, chunk }, [
    s.kinds.buffer,
    s.scores.buffer,
    s.hasSig.buffer,
    s.sigs.buffer,
    ...(s.shapes ? [s.shapes.buffer] : []),
    ...(s.rowHashes ? [s.rowHashes.buffer] : []),
  ] as ArrayBuffer[]);
}

interface Job {
  files: InputFile[];
  /** Files this worker reads (all of them when splitting by batches). */
  fileIndexes: number[];
  options: SignOptions;
  part: number;
  stride: number;
  /** Chunks of raw JSONL files, taken in order by every signer through `control`. */
  chunks: ChunkTask[];
  /** [next chunk to take, 1 once a chunk failed] */
  control: Int32Array;
}

function errorData(e: unknown) {
  const err = e as CurateError;
  return {
    name: err?.name,
    message: err?.message ?? String(e),
    code: err?.code,
    file: err?.file,
    row: err?.row,
    category: e instanceof CurateError ? e.category : 'runtime',
  };
}

const job = workerData as Job;
if (!parentPort) throw new Error('dedup worker must run in a worker thread');
const port = parentPort;

// An async function rather than top-level await, so the CLI's bundle can be CommonJS (apps/cli
// scripts/bundle.mjs: CommonJS modules load from V8's code cache).
async function main(): Promise<void> {
  try {
    if (job.fileIndexes.length) {
      // the generic reader (and @curate/shards) only when this worker has files the fast path does not read
      const { signFiles } = await import('./sign.js');
      for await (const s of signFiles(job.files, job.fileIndexes, job.options, job.part, job.stride)) post(s);
    }
    const { chunks, control } = job;
    for (;;) {
      if (Atomics.load(control, 1)) break;
      const c = Atomics.add(control, 0, 1);
      if (c >= chunks.length) break;
      try {
        const it = signJsonlChunk(job.files, chunks[c], job.options);
        for (;;) {
          const n = await it.next();
          if (n.done) {
            port.postMessage({ type: 'chunk', summary: n.value });
            break;
          }
          post(n.value, c);
        }
      } catch (e) {
        Atomics.store(control, 1, 1);
        port.postMessage({ type: 'chunkError', chunk: c, error: errorData(e) });
      }
    }
    port.postMessage({ type: 'done' });
  } catch (e) {
    port.postMessage({ type: 'error', error: errorData(e) });
  }
}
void main();
