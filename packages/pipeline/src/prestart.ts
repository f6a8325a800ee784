/**
 * A mix's first worker thread, started before the process has loaded its own modules.
 *
 * Starting `curate mix` costs the main thread ~0.2 s of module loading before it reaches the scan
 * stage, and the first worker thread then spends ~0.3 s loading its own (measured in a re-mix's CPU
 * profile on the 2-core VM: the main thread loaded until 274 ms, the thread from 274 to 574 ms, and
 * the second core idled until 274 ms). The `curate` command (bin/curate.js) calls
 * `prestartScanThread` first, so that thread loads on the idle core while the main thread loads;
 * the pool (`Threads`, pool.ts) adopts it for its first thread and sends it the recipe. A thread
 * nobody adopts (a usage error, a one-thread run) does not keep the process alive: it is unref'd
 * until adopted.
 *
 * This module imports only `node:worker_threads`, so the command loads it in a few milliseconds.
 */
import { MessageChannel, Worker } from 'node:worker_threads';

interface Prestarted {
  worker: Worker;
  /** Its modules are loaded (it said so on its port). */
  ready: boolean;
  /** Called once when it becomes ready (set by the adopter). */
  onReady: (() => void) | null;
  failed: boolean;
}

let slot: Prestarted | null = null;
let taken = 0;

/** Start the scan-worker thread now (at most one); it waits for the recipe (`adoptPrestarted`). */
export function prestartScanThread(): void {
  if (slot) return;
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./scan-worker.js', import.meta.url), {
    workerData: { ready: port2 },
    transferList: [port2],
  });
  worker.unref();
  const p: Prestarted = { worker, ready: false, onReady: null, failed: false };
  port1.once('message', () => {
    port1.close();
    p.ready = true;
    p.onReady?.();
  });
  port1.unref();
  const fail = () => {
    p.failed = true;
  };
  worker.on('error', fail);
  worker.on('exit', fail);
  slot = p;
}

/**
 * The prestarted thread, given `recipe`, or null when there is none (or it failed before it was
 * adopted). `onReady` runs once its modules are loaded (at once if they already are).
 */
export function adoptPrestarted(recipe: unknown, onReady: () => void): Worker | null {
  const p = slot;
  slot = null;
  if (!p) return null;
  p.worker.removeAllListeners('error');
  p.worker.removeAllListeners('exit');
  if (p.failed) {
    void p.worker.terminate();
    return null;
  }
  p.worker.ref();
  p.worker.postMessage({ kind: 'init', recipe });
  taken++;
  if (p.ready) queueMicrotask(onReady);
  else p.onReady = onReady;
  return p.worker;
}

/** How many prestarted threads a pool adopted in this process (for tests). */
export function prestartedAdopted(): number {
  return taken;
}
