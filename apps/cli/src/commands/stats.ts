import { CurateError, loadTokenizer, UsageError } from '@curate/core';
import { computeStats, formatMetricsTable } from '@curate/metrics';
import { evaluateFilters, formatPassRates, parseFilterList } from '@curate/quality';
import { compileTextSpec, readShards } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { textSpec } from './options.js';

/** The filters of `--filters default`: the published heuristic chain. */
export const DEFAULT_FILTERS = 'gopher_quality,gopher_repetition,c4,fineweb';

export async function statsCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const text = textSpec(opts);
  const tokName = String(opts.tokenizer ?? 'words');
  const tokenizer = await loadTokenizer(tokName).catch((e) => {
    if (e instanceof CurateError) throw e; // a bad tokenizer.json: the error names the file
    throw new UsageError(`--tokenizer: unknown tokenizer "${tokName}"`);
  });
  const stats = await computeStats({
    inputs: args,
    text,
    groupBy: opts.groupBy as string | undefined,
    tokenizer,
    cwd: ctx.io.cwd,
  });
  let rates: Awaited<ReturnType<typeof evaluateFilters>> | undefined;
  const filterList = String(opts.filters ?? 'default');
  if (filterList !== 'none') {
    const filters = parseFilterList(filterList === 'default' ? DEFAULT_FILTERS : filterList);
    const tpl = compileTextSpec(text, ctx.io.cwd);
    rates = await evaluateFilters(readShards(args, { cwd: ctx.io.cwd }), filters, {
      text: (batch, row) => {
        if (row === 0) tpl.check(batch);
        return tpl.render(batch, row);
      },
    });
  }
  const slim = Object.fromEntries(Object.entries(stats.groups).map(([k, { unigram: _u, ...rest }]) => [k, rest]));
  ctx.emit({
    command: 'stats',
    tokenizer: tokName,
    groups: slim,
    comparisons: stats.comparisons,
    warnings: stats.warnings,
    filters: rates,
  });
  ctx.say(formatMetricsTable(stats.groups));
  for (const [name, c] of Object.entries(stats.comparisons)) {
    ctx.say(
      `  ${name} vs real: JSD ${c.jsd.toFixed(3)}, length distance ${c.lengthDistance.toFixed(2)} octaves, distinct-2 ratio ${c.distinctRatio.toFixed(2)}`,
    );
  }
  for (const w of stats.warnings) ctx.warn(`[${w.code}] ${w.message}`);
  if (rates) {
    ctx.say('');
    ctx.say(`filter pass rates (${rates.rows.toLocaleString('en-US')} rows; each filter alone, then the chain):`);
    ctx.say(formatPassRates(rates));
  }
}
