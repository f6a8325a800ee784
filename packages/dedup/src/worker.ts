/** Worker thread: signs its share of batches and posts them back (typed arrays transferred, text never copied). */
import { parentPort, workerData } from 'node:worker_threads';
import { CurateError } from '@curate/core';
import type { InputFile } from '@curate/shards';
import { type RangeTask, signJsonlRange } from './fastsign.js';
import type { BatchSignatures, SignOptions } from './sign.js';

function post(s: BatchSignatures): void {
  (parentPort as NonNullable<typeof parentPort>).postMessage({ type: 'batch', data: s }, [
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
  /** Byte ranges of raw JSONL files this worker signs. */
  ranges: RangeTask[];
}

const job = workerData as Job;
const port = parentPort;
if (!port) throw new Error('dedup worker must run in a worker thread');

try {
  if (job.fileIndexes.length) {
    // the generic reader (and @curate/shards) only when this worker has files the fast path does not read
    const { signFiles } = await import('./sign.js');
    for await (const s of signFiles(job.files, job.fileIndexes, job.options, job.part, job.stride)) post(s);
  }
  for (const r of job.ranges ?? []) for await (const s of signJsonlRange(job.files, r, job.options)) post(s);
  port.postMessage({ type: 'done' });
} catch (e) {
  const err = e as CurateError;
  port.postMessage({
    type: 'error',
    error: {
      name: err?.name,
      message: err?.message ?? String(e),
      code: err?.code,
      file: err?.file,
      row: err?.row,
      category: e instanceof CurateError ? e.category : 'runtime',
    },
  });
}
