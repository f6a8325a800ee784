/**
 * Comparing synthetic groups with the real pool, and the warnings that follow.
 *
 * Sample metrics depend on sample size (distinct-n falls as a sample grows), so
 * two groups are compared on the largest sample size both have measured (a shared
 * point of their `curve`), never a 10k-word sample against a 50k-word one.
 */

import type { MetricsResult, SampleMetrics } from './corpus-metrics.js';
import { lengthDistance } from './length.js';
import { jensenShannon } from './unigram.js';

/** The published findings the warnings rest on (one line each, with the source). */
export const FACTS = {
  diversityFirst:
    'Model collapse shows first as lost diversity: the tails of the distribution vanish and outputs grow more alike ' +
    '(Shumailov et al. 2024, "AI models collapse when trained on recursively generated data", Nature 631; ' +
    'Guo et al. 2023, "The Curious Decline of Linguistic Diversity: Training Language Models on Synthetic Text").',
  replaceVsAccumulate:
    'Replacing real data with synthetic data makes test error grow with every model generation, while accumulating ' +
    'synthetic data alongside the real data keeps it bounded (Shumailov et al. 2024, Nature; Gerstgrasser et al. 2024, ' +
    '"Is Model Collapse Inevitable? Breaking the Curse of Recursion by Accumulating Real and Synthetic Data").',
  epochs:
    'Repeating data helps about as much as new data for up to about 4 epochs; beyond that the value of repeated tokens ' +
    'decays quickly (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", NeurIPS).',
  syntheticShare:
    'Mixing, not substituting, is what published studies support: Maini et al. 2024 ("Rephrasing the Web", WRAP) ' +
    'trained on real C4 plus synthetic rephrases (1:1) and found the mix better than rephrases alone; Kang et al. 2025 ' +
    '("Demystifying Synthetic Data in LLM Pre-training") found good shares of rephrased synthetic data converge to about ' +
    '30% (1/3 synthetic, 2/3 web text), with the best share depending on model size and data budget. A share well above ' +
    'that is outside the evidence, not proven harmful.',
  drift:
    'A synthetic source whose word distribution drifts far from the real pool shifts what the model learns toward the ' +
    "generator's style; distribution shift across generations is the mechanism of collapse (Shumailov et al. 2024).",
} as const;

export type FactName = keyof typeof FACTS;

export interface MetricWarning {
  /** Stable code, e.g. `W_DISTINCT_LOW`. */
  code: string;
  /** The group (source or kind) the warning is about. */
  source?: string;
  message: string;
  /** The published finding the threshold rests on (FACTS). */
  fact: string;
}

export interface Comparison {
  /** Unigram Jensen-Shannon divergence (base 2, 0..1) from the real pool, on all words. */
  jsd: number;
  /** Wasserstein-1 distance of log2 document lengths from the real pool, in octaves. */
  lengthDistance: number;
  /** Synthetic distinct-2 / real distinct-2 at equal sample size `atTokens`. */
  distinctRatio: number;
  /** The same ratio for n = 1..4. */
  distinctRatios: { 1: number; 2: number; 3: number; 4: number };
  /** Synthetic / real compression ratio at `atTokens` (above 1: more redundant than real). */
  compressionRatio: number;
  /** Synthetic / real hapax share at `atTokens` (below 1: thinner tail). */
  hapaxRatio: number;
  /** Synthetic / real MATTR at `atTokens`. */
  mattrRatio: number;
  /** Synthetic / real top-k 3-gram concentration at `atTokens` (above 1: more formulaic). */
  topNgramRatio: number;
  /** Sample size (words) both sides were measured at. */
  atTokens: number;
}

/** The sample metrics of `a` and `b` at the largest sample size both have. */
export function atEqualSize(a: MetricsResult, b: MetricsResult): [SampleMetrics, SampleMetrics] {
  const sizesB = new Map(b.curve.map((m) => [m.tokens, m]));
  for (let i = a.curve.length - 1; i >= 0; i--) {
    const mb = sizesB.get(a.curve[i].tokens);
    if (mb) return [a.curve[i], mb];
  }
  // No shared size (e.g. both below 1,000 words with different totals): fall back to each whole sample.
  return [a.curve[a.curve.length - 1], b.curve[b.curve.length - 1]];
}

const ratio = (x: number, y: number): number => (y === 0 ? (x === 0 ? 1 : Number.POSITIVE_INFINITY) : x / y);

/** One group against the real pool. */
export function compareGroup(group: MetricsResult, real: MetricsResult): Comparison {
  const [s, r] = atEqualSize(group, real);
  return {
    jsd: jensenShannon(group, real),
    lengthDistance: lengthDistance(group, real),
    distinctRatio: ratio(s.distinct[2], r.distinct[2]),
    distinctRatios: {
      1: ratio(s.distinct[1], r.distinct[1]),
      2: ratio(s.distinct[2], r.distinct[2]),
      3: ratio(s.distinct[3], r.distinct[3]),
      4: ratio(s.distinct[4], r.distinct[4]),
    },
    compressionRatio: ratio(s.compressionRatio, r.compressionRatio),
    hapaxRatio: ratio(s.hapaxShare, r.hapaxShare),
    mattrRatio: ratio(s.mattr, r.mattr),
    topNgramRatio: ratio(s.topNgramConcentration, r.topNgramConcentration),
    atTokens: s.tokens,
  };
}

/** Every group (typically the synthetic sources) against the real pool. */
export function compareToReal(groups: Record<string, MetricsResult>, real: MetricsResult): Record<string, Comparison> {
  const out: Record<string, Comparison> = {};
  for (const name of Object.keys(groups).sort()) out[name] = compareGroup(groups[name], real);
  return out;
}

/** Thresholds of `diversityWarnings`; see the README for what each rests on. */
export interface WarningThresholds {
  /** Warn when synthetic distinct-2 < this x real distinct-2 (default 0.7). */
  minDistinctRatio: number;
  /** Warn when synthetic compression ratio > this x real (default 1.25). */
  maxCompressionRatio: number;
  /** Warn when synthetic hapax share < this x real (default 0.7). */
  minHapaxRatio: number;
  /** Warn when synthetic top-3-gram concentration > this x real (default 2). */
  maxTopNgramRatio: number;
  /** Warn when unigram JSD from the real pool exceeds this (default 0.25). */
  maxJsd: number;
  /** Warn when the synthetic share of the mix exceeds this (default 0.5). */
  maxSyntheticFraction: number;
  /** Warn when a source is repeated more than this many epochs (default 4). */
  maxEpochs: number;
  /** Do not judge sample metrics measured on fewer words than this (default 2,000). */
  minSampleTokens: number;
}

export const DEFAULT_THRESHOLDS: WarningThresholds = {
  minDistinctRatio: 0.7,
  maxCompressionRatio: 1.25,
  minHapaxRatio: 0.7,
  maxTopNgramRatio: 2,
  maxJsd: 0.25,
  maxSyntheticFraction: 0.5,
  maxEpochs: 4,
  minSampleTokens: 2000,
};

export interface WarningInput {
  /** Comparisons from `compareToReal` (synthetic groups against the real pool). */
  comparisons?: Record<string, Comparison>;
  /** Share of synthetic data in the mix (by the budget's unit), when known. */
  syntheticFraction?: number;
  /** Epochs per source, when known. */
  epochs?: Record<string, number>;
  /** Real sources downsampled while synthetic ones are upsampled (from the mix plan). */
  replacesReal?: boolean;
  thresholds?: Partial<WarningThresholds>;
}

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));

/** Warnings with the published finding each threshold rests on. Sorted by source, then code. */
export function diversityWarnings(input: WarningInput): MetricWarning[] {
  const t = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const out: MetricWarning[] = [];
  for (const [source, c] of Object.entries(input.comparisons ?? {})) {
    const sampled = c.atTokens >= t.minSampleTokens;
    if (sampled && c.distinctRatio < t.minDistinctRatio) {
      out.push({
        code: 'W_DISTINCT_LOW',
        source,
        message: `${source}: distinct-2 is ${f2(c.distinctRatio)}x the real pool's (below ${t.minDistinctRatio}x, at ${c.atTokens} sampled words): its phrasing repeats`,
        fact: FACTS.diversityFirst,
      });
    }
    if (sampled && c.compressionRatio > t.maxCompressionRatio) {
      out.push({
        code: 'W_COMPRESSION_HIGH',
        source,
        message: `${source}: compresses ${f2(c.compressionRatio)}x as well as the real pool (above ${t.maxCompressionRatio}x): redundant, repetitive text`,
        fact: FACTS.diversityFirst,
      });
    }
    if (sampled && c.hapaxRatio < t.minHapaxRatio) {
      out.push({
        code: 'W_HAPAX_LOW',
        source,
        message: `${source}: share of words seen once is ${f2(c.hapaxRatio)}x the real pool's (below ${t.minHapaxRatio}x): the vocabulary's tail is thin`,
        fact: FACTS.diversityFirst,
      });
    }
    if (sampled && c.topNgramRatio > t.maxTopNgramRatio) {
      out.push({
        code: 'W_TOP_NGRAMS_HIGH',
        source,
        message: `${source}: its most frequent 3-grams take ${f2(c.topNgramRatio)}x the real pool's share (above ${t.maxTopNgramRatio}x): formulaic phrasing`,
        fact: FACTS.diversityFirst,
      });
    }
    if (c.jsd > t.maxJsd) {
      out.push({
        code: 'W_JSD_HIGH',
        source,
        message: `${source}: word distribution diverges from the real pool (JSD ${f2(c.jsd)} > ${t.maxJsd})`,
        fact: FACTS.drift,
      });
    }
  }
  if (input.syntheticFraction !== undefined && input.syntheticFraction > t.maxSyntheticFraction) {
    out.push({
      code: 'W_SYNTHETIC_SHARE',
      message: `synthetic data is ${(input.syntheticFraction * 100).toFixed(1)}% of the mix (above ${(t.maxSyntheticFraction * 100).toFixed(0)}%)`,
      fact: FACTS.syntheticShare,
    });
  }
  if (input.replacesReal) {
    out.push({
      code: 'W_REPLACES_REAL',
      message: 'real sources are downsampled while synthetic sources are upsampled: synthetic data replaces real data',
      fact: FACTS.replaceVsAccumulate,
    });
  }
  for (const [source, e] of Object.entries(input.epochs ?? {})) {
    if (e > t.maxEpochs) {
      out.push({
        code: 'W_EPOCHS',
        source,
        message: `${source}: repeated ${f2(e)} epochs (above ${t.maxEpochs})`,
        fact: FACTS.epochs,
      });
    }
  }
  return out.sort((a, b) => (a.source ?? '').localeCompare(b.source ?? '') || a.code.localeCompare(b.code));
}
