/**
 * The parts of the run manifest (`OUT/manifest.json`, owned by @curate/pipeline)
 * that the report reads. A structural copy, not an import: pipeline depends on
 * this package. Everything a dry or partial run may lack is optional, and the
 * renderer treats every field as untrusted input (checked before use, escaped
 * when printed).
 */
import type { Comparison, MetricsResult } from '@curate/metrics';

export interface ReportInputFile {
  path: string;
  format?: string;
  bytes?: number;
  sha256?: string;
  rows?: number;
}

export interface ReportSource {
  name: string;
  kind?: 'real' | 'synthetic' | string;
  generator?: string;
  files?: ReportInputFile[];
  rows_read?: number;
  /** Drop counts by reason key (`filter:gopher_quality:word_count`, `dedup:exact`, `dedup:near`, `decontam:gsm8k`). */
  dropped?: Record<string, number>;
  rows_available?: number;
  tokens_available?: number;
  rows_sampled?: number;
  tokens_sampled?: number;
  epochs?: number;
  quota?: number;
  /** Target share of the mix (0..1) in the plan's unit. */
  share?: number;
  max_epochs?: number;
  limiting?: boolean;
}

export interface ReportKindRatio {
  real: number;
  synthetic: number;
}

export interface ReportShard {
  path: string;
  rows?: number;
  bytes?: number;
  sha256?: string;
}

export interface ReportWarning {
  code: string;
  message: string;
  /** The sources or kinds the warning is about. */
  sources?: string[];
  /** The same for one group, as @curate/metrics' `MetricWarning` names it. */
  source?: string;
  /** The published fact the threshold rests on. */
  fact?: string;
}

export interface ReportDedup {
  exact?: { removed: number; groups: number };
  near?: {
    removed: number;
    clusters: number;
    /** Cluster size -> number of clusters (sizes >= 2). */
    cluster_sizes?: Record<string, number>;
    bands?: number;
    rows?: number;
    threshold?: number;
    num_perm?: number;
  };
  decontaminate?: { name: string; rows?: number; ngrams?: number; removed: number }[];
  /** Per kind: rows that reached dedup, exact and near removals, and their share. */
  by_kind?: Record<string, { candidates?: number; exact?: number; near?: number; duplicate_rate?: number }>;
  /** Removed duplicates by their kind and the kind of the row kept in their place. */
  copies?: {
    synthetic_of_real?: number;
    synthetic_of_synthetic?: number;
    real_of_real?: number;
    real_of_synthetic?: number;
  };
}

/** The figures of a `MetricsResult` the report shows (a manifest stores the whole result as JSON). */
export type ReportMetrics = Pick<
  MetricsResult,
  | 'documents'
  | 'tokens'
  | 'words'
  | 'length'
  | 'sampleTokens'
  | 'distinct'
  | 'mattr'
  | 'hapaxShare'
  | 'compressionRatio'
  | 'topNgramConcentration'
>;

/** A `Comparison` from `compareToReal` (synthetic group against the real pool at equal sample size). */
export type ReportComparison = Comparison;

/** One quality signal's histograms (manifest `quality_signals[name]`, written by @curate/pipeline). */
export interface ReportQualitySignal {
  /** Axis label (`words`, `share of words with a letter`). */
  label?: string;
  /** The filter that judges it (`gopher_quality`). */
  filter?: string;
  /** Bin edges, ascending: bin i is [edges[i], edges[i+1]); the last bin is open-ended. */
  edges: number[];
  /** Rows per bin. */
  real: number[];
  synthetic: number[];
  /** Rows measured per kind (denominators of the shares). */
  sampled: { real: number; synthetic: number };
  /** A value below `min` or above `max` is dropped; `from: 'default'` when the filter is not in the recipe. */
  threshold?: { min?: number; max?: number; from?: 'recipe' | 'default' | string; applies_to?: unknown };
}

export interface ReportManifest {
  manifest_version?: number;
  tool?: { name: string; version?: string };
  recipe?: { name?: string; file?: string; hash?: string; resolved?: unknown };
  seed?: number;
  tokenizer?: string;
  unit?: 'tokens' | 'documents' | string;
  started_at?: string;
  finished_at?: string;
  /** True for `curate mix --dry-run` (nothing written). */
  dry_run?: boolean;
  target?: {
    budget?: number | null;
    requested_budget?: number | null;
    max_budget?: number;
    ratio?: ReportKindRatio;
    planned_ratio?: ReportKindRatio;
    achieved_ratio?: { tokens?: ReportKindRatio; documents?: ReportKindRatio };
    shortfall?: { limiting_source: string; largest_feasible_budget: number };
  };
  totals?: {
    rows_read?: number;
    rows_dropped?: number;
    rows_available?: number;
    rows_written?: number;
    tokens_written?: number;
    rows_rejected_written?: number;
  };
  sources?: ReportSource[];
  dedup?: ReportDedup;
  metrics?: {
    sources?: Record<string, unknown>;
    kinds?: Record<string, unknown>;
    comparisons?: Record<string, unknown>;
    /** Conversation sources: `{ sources, kinds, comparisons }`, each keyed by group, then by role. */
    roles?: { sources?: unknown; kinds?: unknown; comparisons?: unknown };
  };
  warnings?: ReportWarning[];
  /** Quality-signal distributions, real vs synthetic, of a sample of the rows read (before filtering). */
  quality_signals?: Record<string, unknown>;
  /** Conversation sources' turn and per-role length histograms, real vs synthetic (same shape as `quality_signals`). */
  conversations?: Record<string, unknown>;
  output?: {
    dir?: string;
    format?: string;
    compression?: string;
    shards?: ReportShard[];
    rejected?: ReportShard[];
    columns?: { name: string; type: string }[];
  };
  timings?: Record<string, number>;
  counters?: Record<string, unknown>;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A stored `MetricsResult` with the figures the report needs, else undefined. */
export function asMetrics(x: unknown): ReportMetrics | undefined {
  if (!isObject(x)) return undefined;
  const d = x.distinct;
  const len = x.length;
  if (!finite(x.documents) || !isObject(d) || !isObject(len)) return undefined;
  const hist = len.histogram;
  if (!isObject(hist) || !Array.isArray(hist.counts) || !Array.isArray(hist.edges)) return undefined;
  return x as unknown as ReportMetrics;
}

/** A stored `Comparison`, else undefined. */
export function asComparison(x: unknown): ReportComparison | undefined {
  if (!isObject(x) || !finite(x.atTokens) || !finite(x.jsd)) return undefined;
  return x as unknown as ReportComparison;
}

/** A stored quality-signal record with consistent edges and bins, else undefined. */
export function asQualitySignal(x: unknown): ReportQualitySignal | undefined {
  if (!isObject(x)) return undefined;
  const { edges, real, synthetic, sampled } = x;
  const nums = (a: unknown, n?: number): a is number[] =>
    Array.isArray(a) && a.length > 0 && (n === undefined || a.length === n) && a.every(finite);
  if (!nums(edges) || edges.length < 2) return undefined;
  for (let i = 1; i < edges.length; i++) if (!(edges[i] > edges[i - 1])) return undefined;
  if (!nums(real, edges.length - 1) || !nums(synthetic, edges.length - 1)) return undefined;
  if (!isObject(sampled) || !finite(sampled.real) || !finite(sampled.synthetic)) return undefined;
  if (real.some((n) => n < 0) || synthetic.some((n) => n < 0)) return undefined;
  const t = x.threshold;
  const threshold = isObject(t)
    ? {
        min: finite(t.min) ? t.min : undefined,
        max: finite(t.max) ? t.max : undefined,
        from: typeof t.from === 'string' ? t.from : undefined,
        applies_to: t.applies_to,
      }
    : undefined;
  return {
    label: typeof x.label === 'string' ? x.label : undefined,
    filter: typeof x.filter === 'string' ? x.filter : undefined,
    edges,
    real,
    synthetic,
    sampled: { real: sampled.real, synthetic: sampled.synthetic },
    threshold,
  };
}

/** True when `x` looks like a curate run manifest (for `writeReport`'s input check). */
export function isReportManifest(x: unknown): x is ReportManifest {
  if (!isObject(x)) return false;
  if (!finite(x.manifest_version)) return false;
  if (isObject(x.tool) && x.tool.name !== 'curate') return false;
  return Array.isArray(x.sources) || isObject(x.recipe);
}
