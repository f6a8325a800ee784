import { UsageError } from '@curate/core';
import { createFilter, type Filter, filterFiles, parseFilterList } from '@curate/quality';
import type { WriteCompression, WriteFormat } from '@curate/shards';
import { parse } from 'yaml';
import type { CommandContext } from '../context.js';
import { conversationOf, textSpec } from './options.js';
import { warnOutputReadBack } from './readback.js';
import { printRemovals } from './summary.js';

export async function filterCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  await warnOutputReadBack(ctx, args, opts);
  const conversation = conversationOf(opts, 'quality');
  const summary = await filterFiles({
    inputs: args,
    out: String(opts.out),
    filters: filtersOf(opts, conversation !== undefined),
    conversation,
    text: textSpec(opts),
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

/**
 * `--where` conditions (each a YAML flow mapping as in a recipe's `where:`, errors naming `--where[i]`)
 * first, then the `--filters` list; at least one of the two.
 */
function filtersOf(opts: Record<string, unknown>, conversation: boolean): Filter[] {
  const where = (opts.where as string[] | undefined) ?? [];
  if (opts.filters === undefined && where.length === 0)
    throw new UsageError('give --filters NAMES, --where CONDITION, or both');
  const out = where.map((text, i) => {
    let params: unknown;
    try {
      params = parse(text);
    } catch (e) {
      throw new UsageError(`--where[${i}]: not a YAML mapping: ${(e as Error).message.split('\n')[0]}`);
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params))
      throw new UsageError(
        `--where[${i}]: must be a mapping such as '{column: status, eq: ok}', got ${JSON.stringify(text)}`,
      );
    return createFilter('where', params, `--where[${i}]`);
  });
  if (opts.filters !== undefined) out.push(...filterList(String(opts.filters), conversation));
  return out;
}

/**
 * `--filters` with default parameters; for conversations c4 runs in filter mode (drop the document
 * instead of removing its lines: turns are kept exactly, as a recipe requires for conversation sources).
 */
export function filterList(list: string, conversation: boolean): Filter[] {
  const filters = parseFilterList(list);
  if (!conversation) return filters;
  return filters.map((f, i) => (f.name === 'c4' ? createFilter('c4', { mode: 'filter' }, `--filters[${i}]`) : f));
}
