/**
 * Runs pass-1 scans on worker threads (or inline for one worker). Each worker
 * builds its own Scanner and reads its own input files: only small typed
 * arrays cross threads. Results are stored by task id, so the outcome does
 * not depend on which worker ran which file.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { CurateError, InputError, RecipeError, UsageError } from '@curate/core';
import type { Recipe } from '@curate/recipe';
import { adoptPrestarted } from './prestart.js';
import type { SampleResult, SampleTask } from './sample.js';
import { type FileScan, mergeParts, Scanner, type ScanTask } from './scan.js';

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
  const bufs = [r.tokens.buffer, r.chars.buffer, r.textHashes.buffer, r.sigRows.buffer, r.sigs.buffer];
  if (r.scores) bufs.push(r.scores.buffer);
  if (r.exactKeys) bufs.push(r.exactKeys.buffer);
  for (const c of r.filterCols) if (c) bufs.push(c.kind === 'values' ? c.values.buffer : c.codes.buffer);
  for (const h of r.decontamHits) bufs.push(h.buffer);
  return bufs as ArrayBuffer[];
}

/**
 * Worker threads started ahead of their first task: each spends ~0.25 s loading its modules, which
 * then overlaps the main thread's own start (a re-mix loads its attributes meanwhile). `now` of
 * them start at once; each of the others starts when the one before it has loaded its modules (it
 * says so on a port of its own), so no more than two threads are busy at a time on the way up, or
 * at `take` if that comes first. A thread that fails or exits before it is given work is
 * remembered, so the first run fails with its error.
 */
export class Threads {
  readonly workers: Worker[] = [];
  error: Error | null = null;
  /** True once `take` handed the threads over (their new owner ends them). */
  taken = false;
  private closed = false;
  private readonly url = new URL('./scan-worker.js', import.meta.url);
  /** `n` threads, `now` of them started at once and the rest one after another (see above). */
  constructor(
    private readonly recipe: Recipe,
    private readonly n: number,
    now = n,
  ) {
    for (let i = 0; i < Math.min(now, n); i++) this.add(i === 0 && now < n);
  }

  /**
   * Start one more thread; with `chain`, the next starts once this one has loaded its modules. The
   * first is the thread the command started before loading its own modules, when there is one
   * (prestart.ts).
   */
  private add(chain: boolean): Worker {
    const loaded = () => {
      if (chain && !this.taken && !this.closed && this.workers.length < this.n)
        this.add(this.workers.length + 1 < this.n);
    };
    const early = this.workers.length === 0 ? adoptPrestarted(this.recipe, loaded) : null;
    const w = early ?? this.start(loaded);
    w.on('error', (e) => {
      this.error ??= e;
    });
    w.on('exit', (code) => {
      this.error ??= new CurateError(`a scan worker exited with code ${code}`, { code: 'E_WORKER' });
    });
    this.workers.push(w);
    return w;
  }

  private start(loaded: () => void): Worker {
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(this.url, { workerData: { recipe: this.recipe, ready: port2 }, transferList: [port2] });
    port1.once('message', () => {
      port1.close();
      loaded();
    });
    port1.unref();
    return w;
  }

  /**
   * Hand the threads over (our early listeners removed); throws the error of one that already
   * failed, and then they stay ours (`close` ends them).
   */
  take(): Worker[] {
    if (this.error) throw this.error;
    for (const w of this.workers) detach(w);
    this.taken = true;
    while (this.workers.length < this.n) detach(this.add(false));
    return this.workers;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export async function runScans(
  recipe: Recipe,
  tasks: ScanTask[],
  workers: number,
  onDone: (task: ScanTask, result: FileScan) => void,
  signal?: AbortSignal,
  /** Receives the threads after a successful pass 1 (for pass 2); otherwise they are ended. */
  keep?: (pool: SamplePool) => void,
  /** Threads started earlier (`Threads`): used here and kept, or ended with the others. */
  started?: Threads,
): Promise<FileScan[]> {
  const results: FileScan[] = new Array(tasks.length);
  if (tasks.length === 0 && workers > 1 && keep) {
    // nothing to scan (every file's attributes were reused): threads for the write stage only
    keep(new SamplePool((started ?? new Threads(recipe, workers)).take()));
    return results;
  }
  if (workers <= 1 || tasks.length <= 1) {
    if (tasks.length > 0) {
      const scanner = await Scanner.create(recipe);
      for (const t of tasks) {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        results[t.id] = await scanner.scan(t);
        onDone(t, results[t.id]);
      }
    }
    // threads started for pass 2 are kept for it; without `keep` the caller ends them
    if (started && keep) keep(new SamplePool(started.take()));
    return results;
  }
  // Largest files first balances the threads; results are keyed by task id. The last (smallest)
  // file is scanned in one part per thread, so the threads finish together instead of one of them
  // scanning it alone at the end (short rows cost more per byte: in the benchmark, 9 MB of chat
  // answers took as long as 25 MB of books). The parts are merged into the whole file's scan.
  const queue: ScanTask[] = [...tasks].sort((a, b) => b.size - a.size || a.id - b.id);
  const n = Math.min(workers, tasks.length);
  const split = queue.pop() as ScanTask;
  for (let p = 0; p < n; p++) queue.push({ ...split, part: p, parts: n });
  const parts = new Map<number, { scans: FileScan[]; errors: (Error | undefined)[]; left: number }>();
  // threads started earlier (at least `workers` of them), else `n` new ones
  const pool: Worker[] = (started ?? new Threads(recipe, n)).take();
  let kept = false;
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
          if ((t.parts ?? 1) > 1) {
            // one part of a file: when all are in, merge them (or report the error of the first row)
            let st = parts.get(t.id);
            if (!st) {
              st = { scans: [], errors: [], left: t.parts as number };
              parts.set(t.id, st);
            }
            const p = t.part ?? 0;
            if (msg.ok) st.scans[p] = msg.result;
            else st.errors[p] = deserializeError(msg.error);
            if (--st.left === 0) {
              const errs = st.errors.filter((e): e is Error => e !== undefined);
              if (errs.length > 0) {
                const rowOf = (e: Error) => (e as { row?: number }).row ?? -1;
                return fail(errs.reduce((a, b) => (rowOf(b) < rowOf(a) ? b : a)));
              }
              const whole = mergeParts(st.scans);
              const { part: _p, parts: _n, ...task } = t;
              results[t.id] = whole;
              onDone(task, whole);
            }
            next(w);
            return;
          }
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
        const w = pool[i];
        w.on('error', (e) => fail(e));
        w.on('exit', (code) => {
          if (code !== 0) fail(new CurateError(`a scan worker exited with code ${code}`, { code: 'E_WORKER' }));
        });
        active++;
        next(w);
      }
    });
    if (keep) {
      for (const w of pool) detach(w);
      keep(new SamplePool(pool));
      kept = true;
    }
  } finally {
    if (!kept) await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}

/** Remove our listeners (not all: Node's own `newListener` hooks start the message port). */
function detach(w: Worker): void {
  for (const e of ['message', 'error', 'exit']) w.removeAllListeners(e);
}

/** The pass-1 threads, kept for pass 2: each runs `sampleFile` on the files it is given. */
export class SamplePool {
  constructor(private readonly workers: Worker[]) {}

  get size(): number {
    return this.workers.length;
  }

  /** Run the tasks, each on the next free thread; `onDone` gets each result as it arrives. */
  run(
    tasks: SampleTask[],
    onDone: (task: SampleTask, result: SampleResult) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const queue = [...tasks].sort((a, b) => b.cost - a.cost || a.id - b.id);
    return new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        for (const w of this.workers) detach(w);
        reject(e);
      };
      // hand the thread its next task before filing the result it sent (the scatter writes of a
      // result took 50-70 ms of the main thread, which the thread spent idle when it came first)
      const next = (w: Worker): boolean => {
        if (failed) return true;
        if (signal?.aborted) {
          fail((signal.reason as Error) ?? new Error('aborted'));
          return true;
        }
        const t = queue.shift();
        if (!t) return false;
        w.once('message', (msg: { ok: true; result: SampleResult } | { ok: false; error: SerializedError }) => {
          if (!msg.ok) return fail(deserializeError(msg.error));
          const busy = next(w);
          try {
            onDone(t, msg.result); // files the records into the spill: may fail (disk full)
          } catch (e) {
            return fail(e as Error);
          }
          if (!busy) finish(w);
        });
        w.postMessage(t);
        return true;
      };
      const finish = (w: Worker) => {
        detach(w);
        if (--active === 0 && !failed) resolve();
      };
      if (queue.length === 0) return resolve();
      for (const w of this.workers) {
        w.on('error', (e) => fail(e));
        w.on('exit', (code) => fail(new CurateError(`a scan worker exited with code ${code}`, { code: 'E_WORKER' })));
        active++;
      }
      for (const w of [...this.workers]) if (!next(w)) finish(w);
    });
  }

  /** Run one task on the first thread (idle: after `run`) and return its result; `transfer` moves those buffers. */
  call<T>(task: object, transfer: ArrayBuffer[] = []): Promise<T> {
    const w = this.workers[0];
    return new Promise<T>((resolve, reject) => {
      const done = () => detach(w);
      w.once('message', (msg: { ok: true; result: T } | { ok: false; error: SerializedError }) => {
        done();
        if (msg.ok) resolve(msg.result);
        else reject(deserializeError(msg.error));
      });
      w.once('error', (e) => {
        done();
        reject(e);
      });
      w.once('exit', (code) => {
        done();
        reject(new CurateError(`a scan worker exited with code ${code}`, { code: 'E_WORKER' }));
      });
      w.postMessage(task, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
