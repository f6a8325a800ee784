/**
 * Runs pass-1 scans on worker threads (or inline for one worker). Each worker
 * builds its own Scanner and reads its own input files: only small typed
 * arrays cross threads. Results are stored by task id, so the outcome does
 * not depend on which worker ran which file.
 */
import { Worker } from 'node:worker_threads';
import { CurateError, InputError, RecipeError, UsageError } from '@curate/core';
import type { Recipe } from '@curate/recipe';
import { type FileScan, Scanner, type ScanTask } from './scan.js';

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  category?: string;
  file?: string;
  row?: number;
  path?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof CurateError) {
    return {
      name: e.name,
      message: e.message,
      code: e.code,
      category: e.category,
      file: e.file,
      row: e.row,
      path: e.path,
      stack: e.stack,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, stack: err.stack };
}

export function deserializeError(s: SerializedError): Error {
  const opts = { code: s.code, file: s.file, row: s.row, path: s.path };
  let e: Error;
  switch (s.category) {
    case 'input':
      e = new InputError(s.message, opts);
      break;
    case 'recipe':
      e = new RecipeError(s.message, opts);
      break;
    case 'usage':
      e = new UsageError(s.message, opts);
      break;
    case 'runtime':
      e = new CurateError(s.message, opts);
      break;
    default:
      e = new Error(s.message);
  }
  if (s.stack) e.stack = s.stack;
  return e;
}

export function transferList(r: FileScan): ArrayBuffer[] {
  const bufs = [r.tokens.buffer, r.chars.buffer, r.sigRows.buffer, r.sigs.buffer];
  if (r.scores) bufs.push(r.scores.buffer);
  return bufs as ArrayBuffer[];
}

export async function runScans(
  recipe: Recipe,
  tasks: ScanTask[],
  workers: number,
  onDone: (task: ScanTask, result: FileScan) => void,
  signal?: AbortSignal,
): Promise<FileScan[]> {
  const results: FileScan[] = new Array(tasks.length);
  if (workers <= 1 || tasks.length <= 1) {
    const scanner = await Scanner.create(recipe);
    for (const t of tasks) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      results[t.id] = await scanner.scan(t);
      onDone(t, results[t.id]);
    }
    return results;
  }
  // Largest files first balances the threads; results are keyed by task id.
  const queue = [...tasks].sort((a, b) => b.size - a.size || a.id - b.id);
  const n = Math.min(workers, tasks.length);
  const url = new URL('./scan-worker.js', import.meta.url);
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const next = (w: Worker) => {
        if (failed) return;
        const t = queue.shift();
        if (!t) {
          if (--active === 0) resolve();
          return;
        }
        w.once('message', (msg: { ok: true; result: FileScan } | { ok: false; error: SerializedError }) => {
          if (!msg.ok) return fail(deserializeError(msg.error));
          results[t.id] = msg.result;
          onDone(t, msg.result);
          next(w);
        });
        w.postMessage(t);
      };
      const onAbort = () => fail((signal?.reason as Error) ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      for (let i = 0; i < n; i++) {
        const w = new Worker(url, { workerData: { recipe } });
        pool.push(w);
        w.on('error', (e) => fail(e));
        w.on('exit', (code) => {
          if (code !== 0) fail(new CurateError(`a scan worker exited with code ${code}`, { code: 'E_WORKER' }));
        });
        active++;
        next(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}
