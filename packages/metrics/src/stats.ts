/**
 * `computeStats`: metrics over shard files, optionally per group (a column such
 * as `source`, `kind` or `generator`), for `curate stats`.
 */
import { InputError, type Tokenizer, withFile } from '@curate/core';
import {
  type ConversationOptions,
  checkTextSpec,
  compileConversation,
  compileTextSpec,
  expandInputs,
  type FileTextTemplate,
  readShard,
  type TextSpec,
} from '@curate/shards';
import {
  type Comparison,
  compareToReal,
  diversityWarnings,
  type MetricWarning,
  type WarningThresholds,
} from './compare.js';
import { CorpusMetrics, type MetricsOptions, type MetricsResult } from './corpus-metrics.js';
import { compareRoles, RoleMetrics } from './roles.js';

export interface StatsOptions {
  /** Files, directories or globs (any format @curate/shards reads). */
  inputs: string[];
  /**
   * Text column or template over columns, e.g. `"{instruction}\n\n{response}"` (default `text`), or
   * one per file pattern (`TextSpec` of @curate/shards) when the inputs differ in columns.
   */
  text?: TextSpec;
  /**
   * The documents are conversations (a column holding a list of turns; see @curate/shards'
   * `ConversationOptions`): the group metrics are taken over the chat-template rendering (what the
   * trainer sees; `text` is not used) and `roles` gives the same metrics per role, each turn a document.
   */
  conversation?: ConversationOptions;
  /** Column whose value names each row's group; without it every row is in group `all`. */
  groupBy?: string;
  /**
   * The group that is the real pool for comparisons and warnings. Default: `real`
   * when grouping yields a group of that name (e.g. `groupBy: 'kind'`).
   */
  real?: string;
  /** Token counts for `tokens` (default: words). */
  tokenizer?: Tokenizer;
  metrics?: MetricsOptions;
  thresholds?: Partial<WarningThresholds>;
  cwd?: string;
  signal?: AbortSignal;
}

export interface StatsResult {
  groups: Record<string, MetricsResult>;
  /** Every row together (the groups merged). */
  total: MetricsResult;
  /** Each other group against the real pool, when there is one. */
  comparisons: Record<string, Comparison>;
  warnings: MetricWarning[];
  /** Conversations only: per group, the metrics of each role's turns (each turn a document). */
  roles?: Record<string, Record<string, MetricsResult>>;
  /** Conversations only: per group, each role against the same role of the real pool. */
  roleComparisons?: Record<string, Record<string, Comparison>>;
}

export async function computeStats(options: StatsOptions): Promise<StatsResult> {
  const conv = options.conversation ? compileConversation(options.conversation) : undefined;
  const spec = conv ? conv.options.column : (options.text ?? 'text');
  const template: FileTextTemplate = conv ? { ...conv, forFile: () => conv } : compileTextSpec(spec, options.cwd);
  const files = await expandInputs(options.inputs, { cwd: options.cwd });
  checkTextSpec(
    spec,
    files.map((f) => f.path),
    options.cwd,
  );
  /** Only the columns a file's template (and the grouping) read. */
  const columnsOf = (path: string) => {
    const columns = [...template.forFile(path).columns];
    if (options.groupBy && !columns.includes(options.groupBy)) columns.push(options.groupBy);
    return columns;
  };
  async function* batches() {
    for (const f of files) yield* readShard(f, { columns: columnsOf(f.path), signal: options.signal });
  }
  const acc = new Map<string, CorpusMetrics>();
  const groupOf = (name: string): CorpusMetrics => {
    let m = acc.get(name);
    if (!m) acc.set(name, (m = new CorpusMetrics(options.metrics)));
    return m;
  };
  const roleAcc = new Map<string, RoleMetrics>();
  const rolesOf = (name: string): RoleMetrics => {
    let m = roleAcc.get(name);
    if (!m) roleAcc.set(name, (m = new RoleMetrics(options.metrics)));
    return m;
  };
  const tok = options.tokenizer;
  for await (const batch of batches()) {
    template.check(batch);
    const keys = options.groupBy ? batch.columns[options.groupBy] : undefined;
    if (options.groupBy && !keys) {
      throw new InputError(`column "${options.groupBy}" not found`, { code: 'E_MISSING_COLUMN', file: batch.file });
    }
    let single: CorpusMetrics | undefined;
    if (!keys) single = groupOf('all');
    for (let i = 0; i < batch.length; i++) {
      const text = template.render(batch, i);
      const group = keys ? (keys[i] === null || keys[i] === undefined ? '(null)' : String(keys[i])) : 'all';
      const m = single ?? groupOf(group);
      try {
        m.add(text, tok ? tok.count(text) : undefined);
        if (conv) rolesOf(group).add(conv.turns(batch, i));
      } catch (e) {
        throw batch.file ? withFile(e, batch.file, (batch.offset ?? 0) + i) : e;
      }
    }
  }
  const names = [...acc.keys()].sort();
  const groups: Record<string, MetricsResult> = {};
  const total = new CorpusMetrics(options.metrics);
  for (const n of names) {
    const m = acc.get(n) as CorpusMetrics;
    groups[n] = m.result();
    total.merge(m);
  }
  const realName = options.real ?? (groups.real ? 'real' : undefined);
  if (options.real && !groups[options.real]) {
    throw new InputError(`no rows in group "${options.real}" (groups: ${names.join(', ') || 'none'})`, {
      code: 'E_METRICS_NO_REAL',
    });
  }
  let comparisons: Record<string, Comparison> = {};
  if (realName) {
    const others = Object.fromEntries(names.filter((n) => n !== realName).map((n) => [n, groups[n]]));
    comparisons = compareToReal(others, groups[realName]);
  }
  const result: StatsResult = {
    groups,
    total: total.result(),
    comparisons,
    warnings: diversityWarnings({ comparisons, thresholds: options.thresholds }),
  };
  if (conv) {
    const roles: Record<string, Record<string, MetricsResult>> = {};
    for (const n of names) roles[n] = roleAcc.get(n)?.result() ?? {};
    result.roles = roles;
    result.roleComparisons = realName
      ? compareRoles(Object.fromEntries(names.filter((n) => n !== realName).map((n) => [n, roles[n]])), roles[realName])
      : {};
  }
  return result;
}
