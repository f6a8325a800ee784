import { UsageError } from '@curate/core';
import { dedupFiles, runDedupStage } from '@curate/dedup';
import type { WriteCompression, WriteFormat } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { table } from '../io.js';
import { conversationOf, textSpec } from './options.js';
import { warnOutputReadBack } from './readback.js';
import { printRemovals } from './summary.js';

/** The options `dedupFiles` and the distributed stages share, from the command line. */
function commonOptions(args: string[], opts: Record<string, unknown>) {
  return {
    inputs: args,
    overwrite: Boolean(opts.overwrite),
    format: opts.format as WriteFormat | undefined,
    compression: opts.compression as WriteCompression | undefined,
    writeRejected: opts.rejected !== false,
    conversation: conversationOf(opts, 'dedup'),
    text: textSpec(opts),
    threshold: opts.threshold as number,
    ngram: opts.ngram as number,
    numPerm: opts.numPerm as number,
    bands: opts.bands as number | undefined,
    rows: opts.rows as number | undefined,
    shingle: opts.shingle as 'word' | 'char',
    prefer: opts.prefer as 'real' | 'none',
    scoreColumn: opts.score as string | undefined,
    exact: opts.exact !== false,
  };
}

export async function dedupCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  if (opts.stage) return stageCommand(ctx, args, opts);
  if (!opts.out) throw new UsageError("required option '--out <dir>' not specified");
  if (opts.rank !== undefined || opts.worldSize !== undefined) {
    throw new UsageError('--rank and --world-size run one distributed stage: add --stage and --work-dir');
  }
  await warnOutputReadBack(ctx, args, opts);
  const summary = await dedupFiles({
    ...commonOptions(args, opts),
    out: String(opts.out),
    near: opts.near !== false,
    workers: opts.workers as number | undefined,
    progress: ctx.progress.listener,
  });
  ctx.emit({ command: 'dedup', ...summary });
  printRemovals(ctx, 'dedup', summary, String(opts.out));
  if (summary.near) {
    const n = summary.near;
    ctx.say(
      `near: threshold ${n.threshold}, ${n.num_perm} permutations as ${n.bands} bands x ${n.rows} rows, ${n.ngram}-${n.shingle} shingles; ${n.clusters} clusters`,
    );
    const sizes = Object.entries(n.cluster_sizes);
    if (sizes.length) ctx.say(table([['cluster size', 'clusters'], ...sizes.map(([k, v]) => [k, v])]));
  }
}

async function stageCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  if (!opts.workDir) throw new UsageError('--stage needs --work-dir (a directory shared by all ranks)');
  const stage = opts.stage as 'signatures' | 'buckets' | 'clusters' | 'remove';
  if (stage === 'remove' && !opts.out) throw new UsageError('--stage remove needs --out');
  const result = await runDedupStage(stage, {
    ...commonOptions(args, opts),
    workDir: String(opts.workDir),
    out: opts.out as string | undefined,
    rank: opts.rank as number | undefined,
    worldSize: opts.worldSize as number | undefined,
  });
  ctx.emit({ command: 'dedup', ...result });
  ctx.say(`dedup stage ${result.stage}: rank ${result.rank} of ${result.worldSize} done; manifest ${result.manifest}`);
}
