/**
 * The writer of a mix's output shards, chosen by `output.format`: row shards (parquet, arrow,
 * jsonl) through `createShardWriter`, or token datasets (megatron, nanotron) through
 * `createTokenShardWriter` with the recipe's tokenizer.json, EOD token and token size. Every file
 * of a token dataset (.bin, .idx, provenance sidecar ...) is listed as a written shard, so the
 * manifest holds each one's bytes and sha256.
 */
import { type Batch, InputError, loadTokenizerFile } from '@curate/core';
import { eodId, type Recipe, tokenSize } from '@curate/recipe';
import {
  chatmlRanges,
  createShardWriter,
  createTokenShardWriter,
  type ShardWriter,
  type ShardWriterOptions,
  type WriteCompression,
  type WriteFormat,
} from '@curate/shards';

/** Does the recipe write token ids (megatron, nanotron)? */
export function tokenizedOutput(recipe: Recipe): boolean {
  return recipe.output.format === 'megatron' || recipe.output.format === 'nanotron';
}

/** Format and codec of row shards (rejected rows of a tokenized output are zstd Parquet). */
export function rowShardFormat(recipe: Recipe): { format: WriteFormat; compression: WriteCompression } {
  return tokenizedOutput(recipe)
    ? { format: 'parquet', compression: 'zstd' }
    : { format: recipe.output.format as WriteFormat, compression: recipe.output.compression };
}

/** The output writer; `options.format`/`compression` are taken from the recipe. */
export async function createOutputWriter(
  recipe: Recipe,
  options: Omit<ShardWriterOptions, 'format' | 'compression'>,
): Promise<ShardWriter> {
  if (!tokenizedOutput(recipe)) return createShardWriter({ ...options, ...rowShardFormat(recipe) });
  const tok = await loadTokenizerFile(recipe.tokenizer);
  const eod = eodId(recipe, tok);
  if (eod === undefined) {
    throw new InputError(`EOD token ${JSON.stringify(recipe.output.eod_token ?? tok.eod)} is not in the vocabulary`, {
      code: 'E_TOKENIZER_EOD',
      file: recipe.tokenizer,
    });
  }
  const writer = createTokenShardWriter({
    dir: options.dir,
    format: recipe.output.format as 'megatron' | 'nanotron',
    encode: (text) => tok.encode(text),
    eod,
    tokenSize: tokenSize(recipe, tok),
    tokenizerName: tok.file,
    columns: options.columns?.filter((c) => c.name !== 'text'),
    maxRows: options.maxRows,
    maxBytes: options.maxBytes,
    prefix: options.prefix,
    lossMask: recipe.output.loss_mask ? assistantRanges(recipe) : undefined,
  });
  return {
    write: (batch) => writer.write(batch),
    abort: () => writer.abort(),
    async close() {
      const datasets = await writer.close();
      return datasets.flatMap((d) => d.files.map((f) => ({ ...f, rows: d.rows })));
    },
  };
}

/** `output.loss_mask: assistant`: the assistant turns' content of conversation sources' rows; other rows whole. */
function assistantRanges(recipe: Recipe): (batch: Batch, row: number, text: string) => number[] | null {
  const chats = new Set(recipe.sources.filter((s) => s.conversation).map((s) => s.name));
  const assistant = new Set(['assistant'] as const);
  return (batch, row, text) =>
    chats.has(batch.columns.source?.[row] as string) ? chatmlRanges(text, assistant) : null;
}
