import { extensionFor, inputReadingOutput, type WriteCompression, type WriteFormat } from '@curate/shards';
import type { CommandContext } from '../context.js';

/** Every extension an output may get when its format is not given (it follows the first input's). */
const ANY_EXT = ['.parquet', '.arrow', '.jsonl', '.jsonl.gz', '.jsonl.zst'];

/**
 * Warn once when an input pattern of this command would read its own output on the next
 * run (`curate dedup 'data/**\/*.jsonl' --out data/dedup`), as `curate mix` warns for recipes.
 */
export async function warnOutputReadBack(
  ctx: CommandContext,
  inputs: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  if (!opts.out) return;
  const format = opts.format as WriteFormat | undefined;
  const ext = format ? extensionFor(format, opts.compression as WriteCompression | undefined) : ANY_EXT;
  const hit = await inputReadingOutput(inputs, String(opts.out), ext, { cwd: ctx.io.cwd });
  if (hit) {
    ctx.warn(
      `--out ${opts.out} lies where the input "${hit}" reads: a later run over the same inputs would read this output back`,
    );
  }
}
