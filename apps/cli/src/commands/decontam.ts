import { decontamFiles } from '@curate/dedup';
import type { WriteCompression, WriteFormat } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { conversationOf, textSpec } from './options.js';
import { warnOutputReadBack } from './readback.js';
import { printRemovals } from './summary.js';

export async function decontamCommand(
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  await warnOutputReadBack(ctx, args, opts);
  const summary = await decontamFiles({
    inputs: args,
    against: opts.against as string[],
    evalText: opts.againstText as string | undefined,
    conversation: conversationOf(opts, 'decontaminate'),
    text: textSpec(opts),
    ngram: opts.ngram as number,
    out: String(opts.out),
    overwrite: Boolean(opts.overwrite),
    writeRejected: opts.rejected !== false,
    format: opts.format as WriteFormat | undefined,
    compression: opts.compression as WriteCompression | undefined,
    progress: ctx.progress.listener,
  });
  ctx.progress.done();
  ctx.emit({ command: 'decontam', ...summary });
  printRemovals(ctx, 'decontam', summary, String(opts.out));
  for (const e of summary.eval_sets) {
    ctx.say(
      `  eval set ${e.name}: ${e.rows} rows, ${e.ngrams} ${summary.ngram}-grams indexed (${e.short} short rows indexed whole, ${e.skipped} skipped)`,
    );
  }
}
