import { parentPort, workerData } from 'node:worker_threads';
import type { Recipe } from '@curate/recipe';
import { serializeError, transferList } from './pool.js';
import { Scanner, type ScanTask } from './scan.js';

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');
const ready = Scanner.create((workerData as { recipe: Recipe }).recipe);
port.on('message', async (task: ScanTask) => {
  try {
    const scanner = await ready;
    const result = await scanner.scan(task);
    port.postMessage({ ok: true, result }, transferList(result));
  } catch (e) {
    port.postMessage({ ok: false, error: serializeError(e) });
  }
});
