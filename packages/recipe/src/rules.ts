/**
 * Cross-field checks, each a small named rule over a schema-valid, resolved
 * recipe. The README's rule table is generated from `RULES`.
 */
import { didYouMean } from '@curate/core';
import { passColumnsOf } from './columns.js';
import { qualitySteps } from './filters.js';
import { formatPath, type PathSegment } from './issues.js';
import { parseTextTemplate } from './template.js';
import type { Recipe, RecipeIssue, SourceKind } from './types.js';

export interface RuleReport {
  error(path: string, message: string): void;
  warn(path: string, message: string): void;
}

export interface Rule {
  name: string;
  /** One line for the README. */
  description: string;
  check(recipe: Recipe, report: RuleReport): void;
}

const EPS = 1e-9;
const KINDS: readonly SourceKind[] = ['real', 'synthetic'];
const p = (...segments: PathSegment[]) => formatPath(segments);
const num = (x: number) => String(Number(x.toPrecision(12)));

export const RULES: readonly Rule[] = [
  {
    name: 'one-budget',
    description: '`target` gives `tokens` or `documents`, not both (error).',
    check(r, report) {
      if (r.target.tokens !== undefined && r.target.documents !== undefined) {
        report.error('target', 'give tokens or documents, not both');
      }
    },
  },
  {
    name: 'ratio-sums-to-one',
    description:
      '`target.ratio.real + target.ratio.synthetic` = 1 (±1e-9) when both are given; one alone is completed (error).',
    check(r, report) {
      const raw = r.target.ratio;
      if (!raw) return;
      const sum = raw.real + raw.synthetic;
      if (Math.abs(sum - 1) > EPS) report.error('target.ratio', `real + synthetic must sum to 1 (got ${num(sum)})`);
    },
  },
  {
    name: 'ratio-kind-has-sources',
    description: 'A kind with `target.ratio` > 0 has at least one source of that kind (error).',
    check(r, report) {
      for (const kind of KINDS) {
        const share = r.target.ratio?.[kind] ?? 0;
        if (share > 0 && !r.sources.some((s) => s.kind === kind)) {
          report.error(p('target', 'ratio', kind), `is ${num(share)} but no source is ${kind}`);
        }
      }
    },
  },
  {
    name: 'synthetic-fraction-guard',
    description: '`guards.max_synthetic_fraction` is not below `target.ratio.synthetic` (error).',
    check(r, report) {
      const max = r.guards.max_synthetic_fraction;
      const want = r.target.ratio?.synthetic;
      if (max !== undefined && want !== undefined && want > max + EPS) {
        report.error(
          'guards.max_synthetic_fraction',
          `${num(max)} is below target.ratio.synthetic (${num(want)}): the mix would be refused`,
        );
      }
    },
  },
  {
    name: 'unique-source-names',
    description: 'Source names are unique (error).',
    check(r, report) {
      const first = new Map<string, number>();
      r.sources.forEach((s, i) => {
        const j = first.get(s.name);
        if (j === undefined) first.set(s.name, i);
        else report.error(p('sources', i, 'name'), `duplicate source name "${s.name}" (also sources[${j}])`);
      });
    },
  },
  {
    name: 'generator-synthetic-only',
    description: '`generator` is given only on synthetic sources (error); a synthetic source without one (warning).',
    check(r, report) {
      r.sources.forEach((s, i) => {
        if (s.kind === 'real' && s.generator !== undefined) {
          report.error(p('sources', i, 'generator'), 'only synthetic sources have a generator');
        } else if (s.kind === 'synthetic' && s.generator === undefined) {
          report.warn(p('sources', i, 'generator'), `synthetic source "${s.name}" names no generator (provenance)`);
        }
      });
    },
  },
  {
    name: 'shares-per-kind',
    description:
      'Within a kind, `share`s sum to 1 when every source has one, and to at most 1 when some do (error); sources left with nothing (warning).',
    check(r, report) {
      for (const kind of KINDS) {
        const of = r.sources.map((s, i) => ({ s, i })).filter(({ s }) => s.kind === kind);
        const given = of.filter(({ s }) => s.share !== undefined);
        if (given.length === 0) continue;
        const sum = given.reduce((a, { s }) => a + (s.share ?? 0), 0);
        const list = given.map(({ s, i }) => `sources[${i}] ${num(s.share ?? 0)}`).join(', ');
        const at = p('sources', given[given.length - 1].i, 'share');
        if (given.length === of.length) {
          if (Math.abs(sum - 1) > EPS)
            report.error(at, `shares of ${kind} sources must sum to 1 (got ${num(sum)}: ${list})`);
        } else if (sum > 1 + EPS) {
          report.error(at, `shares of ${kind} sources must sum to at most 1 (got ${num(sum)}: ${list})`);
        } else if (sum > 1 - EPS) {
          for (const { s, i } of of) {
            if (s.share === undefined) {
              report.warn(p('sources', i, 'share'), `"${s.name}" gets nothing: the other ${kind} shares sum to 1`);
            }
          }
        }
      }
    },
  },
  {
    name: 'epochs-warning',
    description: 'A source whose `max_epochs` exceeds `guards.max_epochs_warning` (warning).',
    check(r, report) {
      r.sources.forEach((s, i) => {
        if (s.max_epochs > r.guards.max_epochs_warning) {
          report.warn(
            p('sources', i, 'max_epochs'),
            `${num(s.max_epochs)} is above guards.max_epochs_warning (${num(r.guards.max_epochs_warning)}): repeated data raises collapse risk`,
          );
        }
      });
    },
  },
  {
    name: 'text-template',
    description: 'Every `text` is a column name or a well-formed template (error).',
    check(r, report) {
      const check = (path: string, text: string) => {
        try {
          parseTextTemplate(text);
        } catch (e) {
          report.error(path, (e as Error).message);
        }
      };
      for (const [i, s] of r.sources.entries()) check(p('sources', i, 'text'), s.text);
      for (const [i, d] of (r.dedup.decontaminate ?? []).entries())
        check(p('dedup', 'decontaminate', i, 'text'), d.text);
    },
  },
  {
    name: 'applies-to-sources',
    description: 'Source names in `applies_to` exist (error); a kind with no source (warning).',
    check(r, report) {
      const names = r.sources.map((s) => s.name);
      for (const step of qualitySteps(r)) {
        const at = step.params.applies_to;
        if (at === undefined) continue;
        if (typeof at === 'string') {
          if (!r.sources.some((s) => s.kind === at)) {
            report.warn(`${step.path}.applies_to`, `no source is ${at}: the filter never runs`);
          }
          continue;
        }
        at.forEach((name, j) => {
          if (!names.includes(name)) {
            report.error(`${step.path}.applies_to[${j}]`, `unknown source "${name}"${didYouMean(name, names)}`);
          }
        });
      }
    },
  },
  {
    name: 'filter-params',
    description:
      '`blocklist` has a word or phrase; `score` has `min` or `max`; `where` has a condition; every `min` <= its `max` (`score`, `length`, `gopher_quality`) (error).',
    check(r, report) {
      for (const step of qualitySteps(r)) {
        const pairs: [string, string][] = [];
        if (step.filter === 'blocklist') {
          if (step.params.words.length === 0 && step.params.phrases.length === 0) {
            report.error(step.path, 'give at least one word or phrase');
          }
        } else if (step.filter === 'score') {
          if (step.params.min === undefined && step.params.max === undefined) {
            report.error(step.path, 'give min, max or both');
          }
          pairs.push(['min', 'max']);
        } else if (step.filter === 'where') {
          const conditions = ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte'] as const;
          if (!conditions.some((c) => step.params[c] !== undefined)) {
            report.error(step.path, `give a condition: ${conditions.join(', ')}`);
          }
        } else if (step.filter === 'length') {
          pairs.push(['min', 'max']);
        } else if (step.filter === 'gopher_quality') {
          pairs.push(['min_words', 'max_words'], ['min_mean_word_length', 'max_mean_word_length']);
        }
        const params = step.params as Record<string, unknown>;
        for (const [lo, hi] of pairs) {
          const a = params[lo];
          const b = params[hi];
          if (typeof a === 'number' && typeof b === 'number' && a > b) {
            report.error(`${step.path}.${lo}`, `must be <= ${hi} (${num(a)} > ${num(b)})`);
          }
        }
      }
    },
  },
  {
    name: 'lsh-bands-rows',
    description: '`dedup.near.bands` and `rows` come together and `bands * rows <= num_perm` (error).',
    check(r, report) {
      const near = r.dedup.near;
      if (!near) return;
      if ((near.bands === undefined) !== (near.rows === undefined)) {
        const given = near.bands === undefined ? 'rows' : 'bands';
        const missing = given === 'bands' ? 'rows' : 'bands';
        report.error(`dedup.near.${given}`, `give ${missing} too, or neither (then they are chosen for the threshold)`);
      } else if (near.bands !== undefined && near.rows !== undefined && near.bands * near.rows > near.num_perm) {
        report.error(
          'dedup.near',
          `bands x rows (${near.bands} x ${near.rows} = ${near.bands * near.rows}) must be <= num_perm (${near.num_perm})`,
        );
      }
    },
  },
  {
    name: 'unique-eval-names',
    description: '`dedup.decontaminate[].name` values are unique (error).',
    check(r, report) {
      const first = new Map<string, number>();
      r.dedup.decontaminate?.forEach((d, i) => {
        const j = first.get(d.name);
        if (j === undefined) first.set(d.name, i);
        else
          report.error(
            p('dedup', 'decontaminate', i, 'name'),
            `duplicate eval set name "${d.name}" (also decontaminate[${j}])`,
          );
      });
    },
  },
  {
    name: 'compression-fits-format',
    description:
      'parquet: snappy, zstd, none; arrow: zstd, none; jsonl: gzip, zstd, none; megatron, nanotron: none (error).',
    check(r, report) {
      const allowed: Record<string, readonly string[]> = {
        parquet: ['snappy', 'zstd', 'none'],
        arrow: ['zstd', 'none'],
        jsonl: ['gzip', 'zstd', 'none'],
        megatron: ['none'],
        nanotron: ['none'],
      };
      const { format, compression } = r.output;
      if (!allowed[format].includes(compression)) {
        report.error(
          'output.compression',
          `${compression} is not available for ${format} (use ${allowed[format].join(', ')})${compression === 'gzip' ? ': gzip is only for jsonl' : ''}`,
        );
      }
    },
  },
  {
    name: 'pass-through-columns',
    description:
      'A pass-through column is not written under a provenance name (`id`, `text`, `source`, `kind`, `source_row`, `epoch`, `generator`, `reason`): rename it with `{ input: output_name }`; no two inputs are written to one name (error).',
    check(r, report) {
      const seen = new Set<string>();
      r.sources.forEach((_, i) => {
        for (const p of passColumnsOf(r, i).problems) {
          const key = `${p.path}\n${p.message}`;
          if (seen.has(key)) continue; // output.columns problems repeat for every source
          seen.add(key);
          report.error(p.path, p.message);
        }
      });
    },
  },
  {
    name: 'tokenized-output-needs-model-tokenizer',
    description:
      '`output.format` `megatron` or `nanotron` needs `tokenizer` to be a tokenizer.json; `eod_token` and `token_size` only apply to them (error).',
    check(r, report) {
      const tokenized = r.output.format === 'megatron' || r.output.format === 'nanotron';
      if (tokenized && !r.tokenizer.endsWith('.json')) {
        report.error(
          'output.format',
          `${r.output.format} writes token ids: set tokenizer to the model's tokenizer.json (${r.tokenizer} has no ids)`,
        );
      }
      if (!tokenized) {
        for (const k of ['eod_token', 'token_size'] as const) {
          if (r.output[k] !== undefined) report.error(p('output', k), `only applies to megatron and nanotron output`);
        }
      }
    },
  },
  {
    name: 'shard-size',
    description: '`output.shard_size` is at least 1 byte (error).',
    check(r, report) {
      if (r.output.shard_size !== undefined && !(r.output.shard_size >= 1)) {
        report.error('output.shard_size', 'must be at least 1 byte');
      }
    },
  },
];

/** Run every rule; issues in rule order. */
export function runRules(recipe: Recipe): { errors: RecipeIssue[]; warnings: RecipeIssue[] } {
  const errors: RecipeIssue[] = [];
  const warnings: RecipeIssue[] = [];
  const report: RuleReport = {
    error: (path, message) => errors.push({ path, message }),
    warn: (path, message) => warnings.push({ path, message }),
  };
  for (const rule of RULES) rule.check(recipe, report);
  return { errors, warnings };
}
