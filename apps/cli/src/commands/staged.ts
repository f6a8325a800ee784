import { resolve } from 'node:path';
import { UsageError } from '@curate/core';
import {
  defaultWorkDir,
  RANK_STAGES,
  type RankStageName,
  resolveStageRank,
  runKeyOf,
  runStageFile,
  THEN_STAGE,
  TOOL_VERSION,
} from '@curate/pipeline';
import { loadRecipe } from '@curate/recipe';
import { expandInputs, isRemote } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { runsOf, type StageState, stageStates, submit, submittedSizes } from '../slurm.js';

/** `curate mix recipe.yaml --stage S --rank i --world-size n --work DIR`: one rank of one stage. */
export async function stageCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const stage = String(opts.stage) as RankStageName;
  if (!RANK_STAGES.includes(stage)) {
    throw new UsageError(`--stage must be one of ${RANK_STAGES.join(', ')}, got "${stage}"`);
  }
  if (typeof opts.work !== 'string') {
    throw new UsageError('--stage needs --work DIR: the work dir every rank shares (a cluster file system)');
  }
  const r = resolveStageRank(stage, {
    rank: opts.rank as number | undefined,
    worldSize: opts.worldSize as number | undefined,
  });
  const res = await runStageFile(args[0], r, {
    work: opts.work,
    andNext: Boolean(opts.then),
    out: opts.out as string | undefined,
    overwrite: Boolean(opts.overwrite),
    workers: opts.workers as number | undefined,
    allowShortfall: Boolean(opts.allowShortfall),
    onProgress: ctx.progress.listener,
  });
  ctx.progress.done();
  const next = res.next;
  if (ctx.json) {
    const one = (x: typeof res) => ({ ...x.marker, run: x.run, output: x.result?.outDir });
    ctx.emit({ ...one(res), ...(next ? { next: one(next) } : {}) });
    return;
  }
  const fmt = (o: Record<string, number> | undefined) =>
    Object.entries(o ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  for (const x of next ? [res, next] : [res]) {
    const u = x.marker.units;
    ctx.say(
      `stage ${x.stage} rank ${x.rank} of ${x.worldSize} done in ${x.marker.seconds.toFixed(1)} s: computed ${fmt(u?.computed)}; reused ${fmt(u?.reused)}` +
        (x.result?.outDir ? `; wrote ${x.result.outDir}` : ''),
    );
  }
}

function count(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be an integer >= 1, got "${String(v)}"`);
  return n;
}

/** `curate mix recipe.yaml --slurm`: write the sbatch scripts, submit the incomplete ranks, print the job ids. */
export async function slurmSubmit(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const loaded = await loadRecipe(args[0], {
    overrides: opts.out ? { out: opts.out as string } : undefined,
  });
  const recipe = loaded.recipe;
  const outDir = resolve((opts.out as string | undefined) ?? recipe.output.dir);
  if (opts.work === false) throw new UsageError('--slurm needs a work dir: drop --no-work');
  const work = resolve((opts.work as string | undefined) ?? defaultWorkDir(outDir));
  if (isRemote(work)) throw new UsageError('--slurm: the work dir must be a shared file system path, not s3://');
  const files = [];
  for (const s of recipe.sources) files.push(await expandInputs(s.paths));
  const run = await runKeyOf(recipe, files, TOOL_VERSION);
  const passThrough: string[] = ['--out', outDir];
  if (opts.overwrite) passThrough.push('--overwrite');
  if (opts.allowShortfall) passThrough.push('--allow-shortfall');
  const res = await submit(loaded.file, work, run, {
    ranks: {
      scan: count(opts.scanRanks, '--scan-ranks', 4),
      dedup: count(opts.dedupRanks, '--dedup-ranks', 2),
      write: count(opts.writeRanks, '--write-ranks', 4),
    },
    partition: opts.partition as string | undefined,
    time: opts.time as string | undefined,
    cpus: opts.cpus as number | undefined,
    mem: opts.mem as string | undefined,
    extra: (opts.sbatch as string[] | undefined) ?? [],
    passThrough,
  });
  if (ctx.json) {
    ctx.emit({ run: res.run, work, scripts: res.dir, submitted: res.submitted, folded: res.folded });
    return;
  }
  if (!res.submitted.length) {
    ctx.say(`nothing to submit: every stage of run ${res.run} is done or queued (curate status ${work})`);
    return;
  }
  for (const s of res.submitted) {
    ctx.say(`${s.stage}: job ${s.job_id} (ranks ${s.ranks.join(',')} of ${s.world_size})`);
    const folded = res.folded.find((f) => THEN_STAGE[s.stage] === f);
    if (folded && s === res.submitted.filter((x) => x.stage === s.stage).at(-1)) {
      ctx.say(`${folded}: in the last ${s.stage} rank to finish (no job of its own)`);
    }
  }
  ctx.say(`scripts and logs in ${res.dir}; follow with: curate status ${work}`);
}

function line(st: StageState): string {
  const parts = [`${st.done.length} done`, `${st.running.length} running`];
  if (st.pending.length) parts.push(`${st.pending.length} pending`);
  parts.push(`${st.failed.length} failed`);
  if (st.todo.length) parts.push(`${st.todo.length} not run`);
  return `${st.stage.padEnd(9)} ${String(st.worldSize).padStart(4)} rank(s): ${parts.join(', ')}`;
}

/** `curate status DIR`: each stage's ranks done / running / failed, and each failed rank's log. */
export async function statusCommand(ctx: CommandContext, args: string[]): Promise<void> {
  const work = resolve(args[0]);
  const runs = await runsOf(work);
  if (!runs.length) {
    throw new UsageError(`${work} holds no staged run (no ranks/ or slurm/ directory): pass the --work DIR of one`);
  }
  const all: { run: string; stages: StageState[] }[] = [];
  for (const run of runs) all.push({ run, stages: await stageStates(work, run, submittedSizes(work, run)) });
  if (ctx.json) {
    ctx.emit({ work, runs: all });
    return;
  }
  for (const { run, stages } of all) {
    ctx.say(`run ${run} in ${work}`);
    for (const st of stages) {
      ctx.say(`  ${line(st)}`);
      for (const f of st.failed) ctx.say(`    rank ${f.rank} failed: ${f.line}${f.log ? ` (log: ${f.log})` : ''}`);
    }
  }
}
