/**
 * The scan stage: for every input file, the per-row attributes (quality values and reasons,
 * decontamination hits, tokens, text length, exact key, MinHash signature), from the work dir's
 * attribute shards when they verify, else computed on the worker threads and stored. Then the
 * recipe's thresholds decide each row (`decideFile`): a recipe that changes only thresholds,
 * ratios, seed or output re-reads no text here.
 */
import { mapLimit, type ProgressListener } from '@curate/core';
import { FilterChain } from '@curate/quality';
import type { Recipe } from '@curate/recipe';
import { expandInputs } from '@curate/shards';
import { runScans, type SamplePool, Threads } from '../pool.js';
import { decideFile, type FileScan, recipeFilters, type ScanTask } from '../scan.js';
import {
  type AttrContext,
  type AttrGroup,
  evalChecksums,
  fileGroups,
  loadAttributes,
  mergeComputed,
  needName,
  writeAttributes,
} from './attributes.js';
import type { WorkDir } from './workdir.js';

export interface ScanStageOptions {
  workers: number;
  /** Where attributes are reused from and stored; null: computed, not stored. */
  work: WorkDir | null;
  tool: string;
  signal?: AbortSignal;
  /** `scan` progress events (rows and input bytes done) as files complete, reused or computed. */
  onProgress?: ProgressListener;
  /** Receives the threads after the scan (for the write stage). */
  keep?: (pool: SamplePool) => void;
  /** Attribute groups not loaded (a rank of a later stage needs no signatures: `['minhash']`). */
  omit?: string[];
  /**
   * A later stage's rank (stages/ranks.ts): the attributes must be stored; called (and expected to
   * throw) for the first input whose groups are not, instead of computing them.
   */
  require?: (task: ScanTask, missing: string[]) => never;
}

/** What the scan stage reused and computed (for the manifest). */
export interface ScanRecord {
  files: number;
  reused: number;
  computed: number;
  /** Input bytes read to compute attributes (0 when everything was reused). */
  bytes_read: number;
  /** Attribute groups (file x group) reused and computed: a recipe adding a filter computes one group per file. */
  groups_reused: number;
  groups_computed: number;
}

export async function scanStage(
  recipe: Recipe,
  tasks: ScanTask[],
  options: ScanStageOptions,
): Promise<{ scans: FileScan[]; record: ScanRecord }> {
  const totalBytes = tasks.reduce((a, t) => a + t.size, 0);
  options.onProgress?.({ phase: 'scan', rows: 0, bytes: 0, totalBytes });
  // One of the threads pass 2 will use starts now and loads its modules (~0.4 s) while this thread
  // loads the attributes; the others start when the work is handed out. Measured on the re-mix
  // (farm-bench, 10 pairs): one early thread 0.974x the wall time of none; all early 1.008x one
  // (three threads on two cores slow this thread's own start as much as they gain).
  const threads = options.keep && options.workers > 1 ? new Threads(recipe, options.workers, 1) : undefined;
  try {
    return await scanWith(recipe, tasks, options, totalBytes, threads);
  } finally {
    if (threads && !threads.taken) await threads.close();
  }
}

async function scanWith(
  recipe: Recipe,
  tasks: ScanTask[],
  options: ScanStageOptions,
  totalBytes: number,
  threads: Threads | undefined,
): Promise<{ scans: FileScan[]; record: ScanRecord }> {
  const { work } = options;
  let doneBytes = 0;
  let doneRows = 0;
  const done = (t: ScanTask, r: FileScan) => {
    doneBytes += t.size;
    doneRows += r.rows;
    options.onProgress?.({ phase: 'scan', rows: doneRows, bytes: doneBytes, totalBytes });
  };
  const filters = await recipeFilters(recipe);
  const ctx: AttrContext = {
    recipe,
    filters,
    evalSums: work ? await evalChecksums(recipe, expandInputs) : [],
    tool: options.tool,
  };
  const scans: FileScan[] = new Array(tasks.length);
  const omit = new Set(options.omit ?? []);
  const all = tasks.map((t) => (work ? fileGroups(ctx, t) : []));
  const groups = all.map((gs) => gs.filter((g) => !omit.has(g.name)));
  const todo: ScanTask[] = [];
  // Per task: the scan loaded from the work dir and the groups still to compute.
  const partial = new Map<number, { scan: FileScan; missing: AttrGroup[] }>();
  let groupsReused = 0;
  let groupsComputed = 0;
  // the files' stored attributes, 8 files at a time (each is a few small reads and checks: their
  // waits overlap, and a corpus of thousands of files never holds thousands of open files); the
  // signatures are decoded only if near dedup runs (its verdicts not stored for this input)
  const stored = work
    ? await mapLimit(tasks, 8, (t) => loadAttributes(work, ctx, t, groups[t.id], { deferSigs: true }))
    : null;
  for (const [i, t] of tasks.entries()) {
    const loaded = stored ? stored[i] : null;
    if (options.require && !(loaded && loaded.missing.length === 0)) {
      options.require(t, loaded ? loaded.missing.map(needName) : groups[t.id].map(needName));
    }
    if (loaded && loaded.missing.length === 0) {
      scans[t.id] = loaded.scan;
      groupsReused += groups[t.id].length;
      done(t, loaded.scan);
    } else if (loaded) {
      partial.set(t.id, loaded);
      groupsReused += groups[t.id].length - loaded.missing.length;
      groupsComputed += loaded.missing.length;
      todo.push({ ...t, need: loaded.missing.map(needName), spans: true });
    } else {
      groupsComputed += groups[t.id].length;
      todo.push(work ? { ...t, spans: true } : t);
    }
  }
  // Attributes are stored as each file completes (a killed run keeps the files it finished).
  let writes: Promise<void> = Promise.resolve();
  let writeError: unknown = null;
  await runScans(
    recipe,
    todo,
    options.workers,
    (t, computed) => {
      const p = partial.get(t.id);
      const r = p ? mergeComputed(p.scan, computed, p.missing) : computed;
      scans[t.id] = r;
      const toWrite = p ? p.missing : groups[t.id];
      if (work) {
        writes = writes
          .then(() => (writeError ? undefined : writeAttributes(work, ctx, t, toWrite, r)))
          .catch((e) => {
            writeError ??= e;
          });
      }
      done(t, r);
    },
    options.signal,
    options.keep,
    threads,
  );
  await writes;
  if (writeError) throw writeError;
  // the signatures' identity for the dedup key (also where they were omitted or computed now)
  for (const t of tasks) {
    const g = all[t.id].find((x) => x.name === 'minhash');
    if (g && scans[t.id]) scans[t.id].sigGroup = g.key;
  }
  const chain = new FilterChain(filters);
  const evalNames = (recipe.dedup?.decontaminate ?? []).map((d) => d.name);
  for (const sc of scans) decideFile(sc, chain, evalNames);
  return {
    scans,
    record: {
      files: tasks.length,
      reused: tasks.length - todo.length,
      computed: todo.length,
      bytes_read: todo.reduce((a, t) => a + t.size, 0),
      groups_reused: groupsReused,
      groups_computed: groupsComputed,
    },
  };
}
