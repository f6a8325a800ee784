/**
 * `curate mix recipe.yaml --stage S --rank i --world-size n --work DIR`: one rank of one stage of the
 * staged mix (stages/ranks.ts says which units each rank owns). The scan and dedup ranks run their
 * own modules; plan, scatter, write and finalize run `runRecipe` with hooks that make it read only
 * what the stages before stored (failing closed when it is not there) and do only its share.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CurateError, UsageError } from '@curate/core';
import { loadRecipe, type Recipe } from '@curate/recipe';
import { expandInputs, isRemote } from '@curate/shards';
import { type RunOptions, type RunResult, runRecipe, scanTasks, TOOL_VERSION } from './run.js';
import { passThroughColumns } from './scan.js';
import { holderAlive, UnitClaims } from './stages/claims.js';
import {
  assignByBytes,
  claimFile,
  clearRankMarkers,
  dedupRank,
  fileRecord,
  jobOf,
  markerBase,
  type RankMarker,
  type RankStageName,
  rangeOwner,
  ranksDir,
  readEdges,
  requireSingle,
  runKeyOf,
  type StageRank,
  scanRank,
  stageIncomplete,
  verifiedDone,
  writeRankMarker,
} from './stages/ranks.js';
import { mkdirChecked, WorkDir } from './stages/workdir.js';

export interface StageOptions extends Omit<RunOptions, 'rankStage' | 'dryRun'> {
  /** The work dir every rank shares (required). */
  work: string;
  /**
   * dedup and write ranks (`--then`): the rank that finds every rank of its stage done runs the one-rank stage
   * after it (plan, finalize) in the same process, so a scheduler needs no job (and no wait for an
   * allocation and a process start) for it. Claimed with an exclusive file: it runs once.
   */
  andNext?: boolean;
}

/** The one-rank stage an `andNext` rank runs after its own (see `StageOptions.andNext`). */
export const THEN_STAGE: Partial<Record<RankStageName, RankStageName>> = { dedup: 'plan', write: 'finalize' };

export interface StageResult {
  stage: RankStageName;
  rank: number;
  worldSize: number;
  /** The staged run's key (its markers are under `WORK/ranks/<run>/`). */
  run: string;
  marker: RankMarker;
  /** finalize: the run's result (manifest, output directory). */
  result?: RunResult;
  /** The one-rank stage this rank ran after its own (`andNext`), when it was the last of its stage. */
  next?: StageResult;
  /** write: every write unit was done when this rank ended (it or another rank computed them). */
  complete?: boolean;
}

/** Load a recipe file and run one rank of one stage (`curate mix --stage`). */
export async function runStageFile(file: string, r: StageRank, options: StageOptions): Promise<StageResult> {
  const loaded = await loadRecipe(file, { overrides: options.out ? { out: options.out } : undefined });
  return runStage(loaded.recipe, r, { ...options, recipeFile: loaded.file });
}

/**
 * Run one rank of one stage of a recipe's staged mix; writes its rank marker (done or failed). With
 * `andNext`, the last rank of a dedup or write stage to finish also runs plan or finalize.
 */
export async function runStage(recipe: Recipe, r: StageRank, options: StageOptions): Promise<StageResult> {
  const next = options.andNext ? THEN_STAGE[r.stage] : undefined;
  const res = await runOneStage(recipe, r, options, next);
  if (!next) return res;
  const workDir = resolve(options.work);
  if (r.stage === 'write') {
    // every write unit done (the write ranks take each other's units: a rank not started yet may
    // find nothing left, and finalize need not wait for it)
    if (!res.complete) return res;
  } else {
    // every rank of this stage done (verified markers, this one's included)?
    const dir = ranksDir(workDir, res.run, r.stage);
    for (let k = 0; k < r.worldSize; k++) if (!(await verifiedDone(dir, k, r.worldSize))) return res;
  }
  const nextDir = ranksDir(workDir, res.run, next);
  if (await verifiedDone(nextDir, 0, 1)) return res; // done before (a rerun of this rank)
  // two ranks finishing together may both see every marker: the claim lets one of them run it
  await mkdirChecked(nextDir);
  const me = { rank: r.rank, host: hostname(), job: jobOf().job };
  if (!(await claimFile(join(nextDir, THEN_CLAIM), me))) return res;
  const ran = await runOneStage(
    recipe,
    { stage: next, rank: 0, worldSize: 1 },
    { ...options, andNext: false },
    undefined,
  );
  return { ...res, next: ran };
}

/** The claim of an `andNext` stage, in its ranks folder; removed when a rank of the stage before starts. */
const THEN_CLAIM = 'then.claim';

async function runOneStage(
  recipe: Recipe,
  r: StageRank,
  options: StageOptions,
  /** The stage this rank may run after it (its claim from an earlier attempt is cleared). */
  next: RankStageName | undefined,
): Promise<StageResult> {
  if (typeof options.work !== 'string' || !options.work) {
    throw new UsageError('--stage needs --work DIR: a work dir every rank sees (a cluster file system)', {
      code: 'E_RANK',
    });
  }
  if (isRemote(options.work)) {
    throw new UsageError('--stage: an s3:// work dir is not supported for ranks yet; use a shared file system', {
      code: 'E_RANK',
    });
  }
  const started = performance.now();
  const workers = Math.max(1, options.workers ?? Math.min(availableParallelism(), 8));
  const files = [];
  for (const s of recipe.sources) files.push(await expandInputs(s.paths));
  for (let i = 0; i < recipe.sources.length; i++) passThroughColumns(recipe, i);
  const tasks = scanTasks(files, options.qualitySignals !== false);
  const run = await runKeyOf(recipe, files, TOOL_VERSION);
  const workDir = resolve(options.work);
  const dir = ranksDir(workDir, run, r.stage);
  await mkdirChecked(dir);
  await clearRankMarkers(dir, r.rank, r.worldSize);
  // a write rank is running to the others from now on: they leave its units to it (stages/claims.ts)
  if (r.stage === 'write') await UnitClaims.register(dir, r.rank, r.worldSize);
  // an earlier attempt's claim (that run of the next stage failed or was killed): cleared when its
  // holder is dead or was this rank. A live one stays: a write rank may start while another one,
  // which found every unit done, runs finalize.
  if (next) {
    const claim = join(ranksDir(workDir, run, next), THEN_CLAIM);
    const h = await readFile(claim, 'utf8')
      .then((t) => JSON.parse(t) as { rank?: number; host?: string; pid?: number; job?: string | null })
      .catch(() => null);
    if (h && (h.rank === r.rank || !holderAlive(h))) await rm(claim, { force: true });
  }
  const fail = (what: string): never => {
    throw stageIncomplete(r, workDir, what);
  };
  // the finalize stage is done and its output is there (a local output's manifest; a deleted output is made again)
  const outDir = options.out ?? recipe.output.dir;
  const finalized = async (): Promise<boolean> =>
    (await verifiedDone(ranksDir(workDir, run, 'finalize'), 0, 1)) !== null &&
    (isRemote(outDir) ||
      (await stat(join(resolve(outDir), 'manifest.json')).then(
        () => true,
        () => false,
      )));
  try {
    let units: RankMarker['units'];
    let complete: boolean | undefined;
    const files: NonNullable<RankMarker['files']> = [];
    let result: RunResult | undefined;
    if (r.stage === 'scan' || r.stage === 'dedup') {
      const work = await WorkDir.open(workDir, TOOL_VERSION, { shared: true });
      if (r.stage === 'scan') {
        units = await scanRank(recipe, tasks, r, { work, workers, tool: TOOL_VERSION, signal: options.signal, dir });
      } else {
        const d = await dedupRank(recipe, tasks, r, { work, tool: TOOL_VERSION, out: dir });
        units = d.units;
        if (d.file) files.push(await fileRecord(dir, d.file));
      }
    } else if (r.stage === 'write' && (await finalized())) {
      // finalize ran (the other write ranks took this one's units): nothing is left to do
      complete = true;
      units = { computed: {}, reused: {} };
    } else {
      const stage = r.stage;
      let writeUnits: RankMarker['units'];
      result = await runRecipe(recipe, {
        ...options,
        workers,
        work: workDir,
        rankStage: {
          stage,
          fail,
          before: async (work) => {
            if (stage === 'plan') return { edges: (await readEdges(work, run, r)).edges };
            await requireSingle(work, run, 'plan', r);
            return {
              requireStored: () =>
                fail('the dedup verdicts the plan stage stores are missing: run the plan stage again'),
            };
          },
          part:
            stage === 'plan'
              ? undefined
              : {
                  step: stage === 'finalize' ? 'link' : stage,
                  rank: r.rank,
                  scatter: scatterOwner(tasks, r),
                  write: (u, count) => rangeOwner(u, count, r.worldSize) === r.rank,
                  rejected: r.rank === 0,
                  take:
                    stage === 'write'
                      ? {
                          worldSize: r.worldSize,
                          startedDir: dir,
                          scatterOwner: scatterOwners(tasks, r.worldSize),
                          writeOwner: (u, count) => rangeOwner(u, count, r.worldSize),
                          finalized,
                        }
                      : undefined,
                  missing: (step, unit) =>
                    fail(
                      step === 'scatter'
                        ? `scatter unit ${unit} has no completion marker: run the scatter stage's ranks first`
                        : `${step} unit ${unit} has no completion marker: run the write stage's ranks first`,
                    ),
                },
          units: (u, done) => {
            writeUnits = { computed: u.computed, reused: u.reused };
            complete = done;
          },
        },
      });
      units = writeUnits;
    }
    const marker: RankMarker = { ...markerBase(r, started), status: 'done', units, files };
    writeRankMarker(dir, marker);
    return { stage: r.stage, rank: r.rank, worldSize: r.worldSize, run, marker, result, complete };
  } catch (e) {
    const err = e instanceof CurateError ? e : null;
    const line = err ? err.toLine() : e instanceof Error ? e.message.split('\n')[0] : String(e);
    writeRankMarker(dir, {
      ...markerBase(r, started),
      status: 'failed',
      error: { code: err?.code ?? 'E_UNEXPECTED', line },
    });
    throw e;
  }
}

/** The scatter units (one per input file) a rank owns: files balanced by bytes, as the scan's. */
function scatterOwner(tasks: ReturnType<typeof scanTasks>, r: StageRank): (si: number, fi: number) => boolean {
  const owner = scatterOwners(tasks, r.worldSize);
  return (si, fi) => owner(si, fi) === r.rank;
}

/** The rank owning each scatter unit (an input file), balanced by bytes. */
function scatterOwners(tasks: ReturnType<typeof scanTasks>, worldSize: number): (si: number, fi: number) => number {
  const owner = assignByBytes(
    tasks.map((t) => t.size),
    worldSize,
  );
  const of = new Map(tasks.map((t) => [`${t.sourceIndex}/${t.fileIndex}`, owner[t.id]]));
  return (si, fi) => of.get(`${si}/${fi}`) ?? 0;
}
