import { filterFiles } from '@curate/quality';
import type { WriteCompression, WriteFormat } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { warnOutputReadBack } from './readback.js';
import { printRemovals } from './summary.js';

export async function filterCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  await warnOutputReadBack(ctx, args, opts);
  const summary = await filterFiles({
    inputs: args,
    out: String(opts.out),
    filters: String(opts.filters),
    text: String(opts.text ?? 'text'),
    overwrite: Boolean(opts.overwrite),
    rejected: opts.rejected !== false,
    format: opts.format as WriteFormat | undefined,
    compression: opts.compression as WriteCompression | undefined,
    progress: ctx.progress.listener,
  });
  ctx.progress.done();
  ctx.emit({ command: 'filter', ...summary });
  printRemovals(ctx, 'filter', { ...summary, removed: summary.dropped }, String(opts.out));
  if (summary.cleaned)
    ctx.say(`${summary.cleaned.toLocaleString('en-US')} kept rows had lines removed by c4 clean mode`);
}
