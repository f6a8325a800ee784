/**
 * `curate tag`: the scan stage alone. Computes (or verifies) the attribute shards of every input of
 * a recipe in the work dir, so later mixes over the same corpus (other ratios, seeds, thresholds)
 * re-read no text to decide; writes no output.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { ProgressListener } from '@curate/core';
import { loadRecipe, type Recipe } from '@curate/recipe';
import { expandInputs, type InputFile, isRemote } from '@curate/shards';
import { defaultWorkDir, scanTasks, TOOL_VERSION } from '../run.js';
import { passThroughColumns } from '../scan.js';
import { type ScanRecord, scanStage } from './scan.js';
import { WorkMirror } from './work-mirror.js';
import { WorkDir } from './workdir.js';

export interface TagOptions {
  /** Work dir (default: `.curate-work` beside the recipe's output directory); `s3://` mirrors a local cache to the prefix. */
  work?: string;
  /** The output directory the default work dir is derived from (default: the recipe's `output.dir`). */
  out?: string;
  workers?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface TagResult {
  work: string;
  scan: ScanRecord;
  /** Rows per input file, in task order. */
  files: { path: string; rows: number }[];
  seconds: number;
}

/** Tag a resolved recipe's inputs (see `tagRecipeFile` for a recipe file). */
export async function tagRecipe(recipe: Recipe, options: TagOptions = {}): Promise<TagResult> {
  const t0 = performance.now();
  const files: InputFile[][] = [];
  for (const s of recipe.sources) files.push(await expandInputs(s.paths));
  for (let i = 0; i < recipe.sources.length; i++) passThroughColumns(recipe, i);
  const tasks = scanTasks(files);
  // an s3:// work dir is a local cache mirrored to the prefix (work-mirror.ts), as for `curate mix`
  const remote = options.work && isRemote(options.work) ? options.work : null;
  const dir = remote
    ? WorkMirror.cacheDirOf(remote)
    : resolve(options.work ?? defaultWorkDir(options.out ?? recipe.output.dir));
  const mirror = remote ? await WorkMirror.open(remote) : null;
  let work: WorkDir | null = null;
  try {
    work = await WorkDir.open(dir, TOOL_VERSION);
    const { scans, record } = await scanStage(recipe, tasks, {
      workers: Math.max(1, options.workers ?? Math.min(availableParallelism(), 8)),
      work,
      tool: TOOL_VERSION,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    await mirror?.push();
    return {
      work: remote ?? dir,
      scan: record,
      files: tasks.map((t) => ({ path: t.path, rows: scans[t.id].rows })),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    // the files a failed run finished are verified by their markers: keep them for the rerun
    await mirror?.push().catch(() => {});
    throw e;
  } finally {
    await (work as WorkDir | null)?.release();
    await mirror?.release();
  }
}

/** Load a recipe file and tag its inputs (`curate tag recipe.yaml`). */
export async function tagRecipeFile(file: string, options: TagOptions = {}): Promise<TagResult> {
  const loaded = await loadRecipe(file, { overrides: options.out ? { out: options.out } : undefined });
  return tagRecipe(loaded.recipe, options);
}
