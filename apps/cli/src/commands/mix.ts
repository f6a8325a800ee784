import { type Manifest, type RunResult, runRecipeFile, tagRecipeFile } from '@curate/pipeline';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../io.js';

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function printPlan(ctx: CommandContext, result: RunResult): void {
  const m = result.manifest;
  const unit = m.unit;
  ctx.say(
    `plan: ${m.target.budget.toLocaleString('en-US')} ${unit}` +
      (m.target.requested_budget !== null ? ` (requested ${m.target.requested_budget.toLocaleString('en-US')})` : '') +
      `, largest feasible ${m.target.max_budget.toLocaleString('en-US')}; ratio real ${pct(m.target.ratio.real)} / synthetic ${pct(m.target.ratio.synthetic)}`,
  );
  const rows: (string | number)[][] = [
    [
      'source',
      'kind',
      'read',
      'dropped',
      'available',
      `avail ${unit}`,
      `quota ${unit}`,
      'epochs',
      'sampled rows',
      'sampled tokens',
    ],
  ];
  for (const s of m.sources) {
    rows.push([
      s.name + (s.limiting ? ' *' : ''),
      s.kind,
      s.rows_read,
      s.rows_read - s.rows_available,
      s.rows_available,
      unit === 'tokens' ? s.tokens_available : s.rows_available,
      s.quota,
      Number(s.epochs.toFixed(3)),
      s.rows_sampled,
      s.tokens_sampled,
    ]);
  }
  ctx.say(table(rows));
  ctx.say('(* = the source whose cap limits the budget)');
  for (const s of m.sources) {
    const reasons = Object.entries(s.dropped).sort((a, b) => b[1] - a[1]);
    if (reasons.length) ctx.say(`  ${s.name} dropped: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  }
  const c = m.dedup.copies;
  if (c && c.synthetic_of_real + c.synthetic_of_synthetic + c.real_of_real + c.real_of_synthetic > 0) {
    ctx.say(
      `duplicates removed: ${c.synthetic_of_real} synthetic copies of real rows, ${c.synthetic_of_synthetic} synthetic of synthetic, ${c.real_of_real} real of real, ${c.real_of_synthetic} real of synthetic`,
    );
  }
  const a = m.target.achieved_ratio;
  ctx.say(
    `achieved: tokens real ${pct(a.tokens.real)} / synthetic ${pct(a.tokens.synthetic)}; documents real ${pct(a.documents.real)} / synthetic ${pct(a.documents.synthetic)}`,
  );
}

function printWarnings(ctx: CommandContext, m: Manifest, recipeWarnings: string[]): void {
  for (const w of recipeWarnings) ctx.warn(w);
  for (const w of m.warnings) ctx.warn(`[${w.code}] ${w.message}`);
}

async function run(ctx: CommandContext, args: string[], opts: Record<string, unknown>, dryRun: boolean) {
  const result = await runRecipeFile(args[0], {
    out: opts.out as string | undefined,
    overwrite: Boolean(opts.overwrite),
    workers: opts.workers as number | undefined,
    dryRun,
    allowShortfall: Boolean(opts.allowShortfall),
    onProgress: ctx.progress.listener,
    // commander: --work DIR is a string, --no-work false, neither undefined (the default dir)
    work: opts.work === false ? false : (opts.work as string | undefined),
  });
  ctx.progress.done();
  if (ctx.json) {
    ctx.emit(result.manifest);
    return;
  }
  printPlan(ctx, result);
  printWarnings(ctx, result.manifest, result.warnings);
  if (!result.dryRun) {
    const m = result.manifest;
    const bytes = m.output.shards.reduce((a, s) => a + s.bytes, 0);
    ctx.say(
      `wrote ${m.totals.rows_written.toLocaleString('en-US')} rows (${m.totals.tokens_written.toLocaleString('en-US')} tokens) in ${m.output.shards.length} shard(s), ${formatBytes(bytes)}, to ${result.outDir}` +
        (m.output.rejected.length
          ? `; ${m.totals.rows_rejected_written.toLocaleString('en-US')} rejected rows in rejected/`
          : '') +
        ` in ${m.timings.total_seconds.toFixed(1)} s`,
    );
    if (m.work) {
      const w = m.work.scan;
      ctx.say(
        `work dir ${m.work.dir}: attributes of ${w.reused} of ${w.files} input file(s) reused, ${w.computed} computed (${formatBytes(w.bytes_read)} read)`,
      );
    }
  }
}

export async function tagCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const r = await tagRecipeFile(args[0], {
    work: opts.work as string | undefined,
    out: opts.out as string | undefined,
    workers: opts.workers as number | undefined,
    onProgress: ctx.progress.listener,
  });
  ctx.progress.done();
  if (ctx.json) {
    ctx.emit(r);
    return;
  }
  ctx.say(
    `tagged ${r.files.length} input file(s), ${r.files.reduce((a, f) => a + f.rows, 0).toLocaleString('en-US')} rows, in ${r.work}: ${r.scan.reused} reused, ${r.scan.computed} computed (${formatBytes(r.scan.bytes_read)} read) in ${r.seconds.toFixed(1)} s`,
  );
}

export async function mixCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  if (opts.stage !== undefined || opts.slurm) {
    const staged = await import('./staged.js');
    if (opts.slurm) return staged.slurmSubmit(ctx, args, opts);
    return staged.stageCommand(ctx, args, opts);
  }
  await run(ctx, args, opts, Boolean(opts.dryRun));
}

export async function planCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  await run(ctx, args, opts, true);
}
