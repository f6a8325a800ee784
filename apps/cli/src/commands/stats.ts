import { CurateError, loadTokenizer, UsageError } from '@curate/core';
import { computeStats, formatMetricsTable } from '@curate/metrics';
import { evaluateFilters, formatPassRates } from '@curate/quality';
import { compileTextSpec, conversationView, readShards } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { table } from '../io.js';
import { filterList } from './filter.js';
import { conversationOf, textSpec } from './options.js';

/** The filters of `--filters default`: the published heuristic chain. */
export const DEFAULT_FILTERS = 'gopher_quality,gopher_repetition,c4,fineweb';

export async function statsCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const conversation = conversationOf(opts, 'quality');
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
    conversation,
    cwd: ctx.io.cwd,
  });
  let rates: Awaited<ReturnType<typeof evaluateFilters>> | undefined;
  const filterNames = String(opts.filters ?? 'default');
  if (filterNames !== 'none') {
    const filters = filterList(filterNames === 'default' ? DEFAULT_FILTERS : filterNames, conversation !== undefined);
    // a conversation: the filters see the turns of --roles (default assistant), as in curate filter
    const tpl = conversation ? conversationView(conversation, 'quality') : compileTextSpec(text, ctx.io.cwd);
    rates = await evaluateFilters(readShards(args, { cwd: ctx.io.cwd }), filters, {
      text: (batch, row) => {
        if (row === 0) tpl.check(batch);
        return tpl.render(batch, row);
      },
    });
  }
  const slimOf = (g: typeof stats.groups) =>
    Object.fromEntries(Object.entries(g).map(([k, { unigram: _u, ...rest }]) => [k, rest]));
  const slim = slimOf(stats.groups);
  const roles = stats.roles
    ? Object.fromEntries(Object.entries(stats.roles).map(([g, r]) => [g, slimOf(r)]))
    : undefined;
  ctx.emit({
    command: 'stats',
    tokenizer: tokName,
    groups: slim,
    comparisons: stats.comparisons,
    warnings: stats.warnings,
    ...(roles ? { roles, role_comparisons: stats.roleComparisons } : {}),
    filters: rates,
  });
  ctx.say(formatMetricsTable(stats.groups));
  for (const [name, c] of Object.entries(stats.comparisons)) {
    ctx.say(
      `  ${name} vs real: JSD ${c.jsd.toFixed(3)}, length distance ${c.lengthDistance.toFixed(2)} octaves, distinct-2 ratio ${c.distinctRatio.toFixed(2)}`,
    );
  }
  if (stats.roles) {
    // per role, each turn a document: how long the turns are and how diverse
    const rows: (string | number)[][] = [
      ['group', 'role', 'turns', 'words', 'words/turn', 'distinct-2', 'hapax', 'deflate'],
    ];
    for (const [g, byRole] of Object.entries(stats.roles))
      for (const [role, r] of Object.entries(byRole))
        rows.push([
          g,
          role,
          r.documents,
          r.words,
          r.length.mean.toFixed(1),
          r.distinct[2].toFixed(3),
          r.hapaxShare.toFixed(3),
          r.compressionRatio.toFixed(2),
        ]);
    ctx.say('');
    ctx.say('per role (each turn a document):');
    ctx.say(table(rows));
    for (const [g, byRole] of Object.entries(stats.roleComparisons ?? {}))
      for (const [role, c] of Object.entries(byRole))
        ctx.say(
          `  ${g} ${role} vs real ${role}: JSD ${c.jsd.toFixed(3)}, length distance ${c.lengthDistance.toFixed(2)} octaves, distinct-2 ratio ${c.distinctRatio.toFixed(2)}`,
        );
  }
  for (const w of stats.warnings) ctx.warn(`[${w.code}] ${w.message}`);
  if (rates) {
    ctx.say('');
    ctx.say(`filter pass rates (${rates.rows.toLocaleString('en-US')} rows; each filter alone, then the chain):`);
    ctx.say(formatPassRates(rates));
  }
}
