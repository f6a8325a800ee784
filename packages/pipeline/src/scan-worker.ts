import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Recipe } from '@curate/recipe';
import { type DiversityTask, diversityResults, mergeSourceStates } from './diversity.js';
import { serializeError, transferList } from './pool.js';
import { type SampleTask, sampleFile } from './sample.js';
import { Scanner, type ScanTask } from './scan.js';

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');
// A thread the command started before it had read the recipe (prestart.ts) gets it in an `init`
// message, before any task.
const data = workerData as { recipe?: Recipe; ready?: MessagePort };
let recipe = data.recipe as Recipe;
const ready = data.ready;
// modules loaded: the thread that started this one may start the next (pool.ts `Threads`)
ready?.postMessage(true);
ready?.close();
// Each scanner is built on the first task that needs it: threads kept only for the write stage (a
// re-mix whose files' attributes were all reused) never load the tokenizer, eval sets or MinHash.
let full: Promise<Scanner> | null = null;
let textOnly: Promise<Scanner> | null = null;
port.on('message', async (task: ScanTask | SampleTask | DiversityTask | { kind: 'init'; recipe: Recipe }) => {
  if ('kind' in task && task.kind === 'init') {
    recipe = task.recipe;
    return;
  }
  try {
    if ('kind' in task && task.kind === 'diversity') {
      const t = task as DiversityTask;
      port.postMessage({ ok: true, result: diversityResults(mergeSourceStates(t.states, t.seed), t.sources, t.seed) });
      return;
    }
    if ('kind' in task && task.kind === 'sample') {
      textOnly ??= Scanner.create(recipe, { textOnly: true });
      const result = await sampleFile(await textOnly, task);
      port.postMessage({ ok: true, result }, [
        result.data.buffer as ArrayBuffer,
        result.offsets.buffer as ArrayBuffer,
        result.positions.buffer as ArrayBuffer,
        result.rejectedData.buffer as ArrayBuffer,
      ]);
      return;
    }
    full ??= Scanner.create(recipe);
    const scanner = await full;
    const result = await scanner.scan(task as ScanTask);
    port.postMessage({ ok: true, result }, transferList(result));
  } catch (e) {
    port.postMessage({ ok: false, error: serializeError(e) });
  }
});
