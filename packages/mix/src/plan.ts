import type { Kind } from '@curate/core';
import { PlanError } from './errors.js';

/** The unit a mix is budgeted in. */
export type MixUnit = 'tokens' | 'documents';

/** What one source offers after quality, dedup and decontamination (pass 1 of the pipeline). */
export interface SourceAvailability {
  name: string;
  kind: Kind;
  /** Rows kept after filtering. */
  rows: number;
  /** Tokens in those rows. */
  tokens: number;
  /** Share of its kind's budget (0..1). Default: the natural proportion of available units. */
  share?: number;
  /** Upsampling cap: the source gives at most `maxEpochs * available` units. > 0, fractional allowed. */
  maxEpochs: number;
  /** Rows read before filtering (for the "empty after filtering" message). */
  rowsRead?: number;
  /** Rows dropped by filtering (for the "empty after filtering" message). */
  dropped?: number;
}

/** Requested budget and kind ratio. */
export interface MixTarget {
  unit: MixUnit;
  /** Target units; undefined = as much as the caps allow at the ratio. */
  budget?: number;
  /** Split of the budget between kinds; undefined = natural proportions of available units. */
  ratio?: { real?: number; synthetic?: number };
}

/** One source's part of the plan. All unit counts are in `unit`. */
export interface SourceQuota {
  name: string;
  kind: Kind;
  unit: MixUnit;
  /** Available units (tokens or rows). */
  available: number;
  /** Available rows (the sampler's row count). */
  rows: number;
  maxEpochs: number;
  /** Resolved share of its kind's budget (0..1). */
  share: number;
  /** Most units this source may give: floor(maxEpochs * available). */
  cap: number;
  /** Target units. */
  quota: number;
  /** quota / available (0 when nothing is available). */
  epochs: number;
  wholeEpochs: number;
  /** epochs - wholeEpochs, in [0, 1). */
  fraction: number;
  /**
   * True when this source's cap is what stops a larger budget: its quota reached its cap, or the
   * plan's budget is `maxBudget` and this is the source that sets it (rounding may leave the quota
   * a unit below the cap).
   */
  limiting: boolean;
}

/** Fraction of the budget per kind; sums to 1 (or both 0 for an empty plan). */
export interface KindRatio {
  real: number;
  synthetic: number;
}

export type PlanWarningCode = 'replacement' | 'epochs' | 'synthetic_fraction_high' | 'shortfall';

export interface PlanWarning {
  /** Stable code for reports and tests. */
  code: PlanWarningCode;
  message: string;
  /** Sources the warning is about. */
  sources: string[];
}

export interface MixPlan {
  unit: MixUnit;
  /** Achieved target budget: the sum of the quotas. */
  budget: number;
  /** The budget the recipe asked for, when it asked for one. */
  requestedBudget?: number;
  /** The largest budget the caps allow at the target ratio and shares. */
  maxBudget: number;
  /** The source whose cap sets `maxBudget` (the first one on a tie). */
  limitingSource: string;
  quotas: SourceQuota[];
  targetRatio: KindRatio;
  plannedRatio: KindRatio;
  /** Set when `allowShortfall` scaled a fixed budget down. */
  shortfall?: { limitingSource: string; largestFeasibleBudget: number };
  warnings: PlanWarning[];
}

export interface PlanOptions {
  /** Scale an infeasible fixed budget down to the largest feasible one instead of throwing. */
  allowShortfall?: boolean;
  /** Warn when a source is repeated more than this many epochs. Default 4. */
  maxEpochsWarning?: number;
  /** Refuse a plan whose synthetic fraction (in the plan's unit) exceeds this. */
  maxSyntheticFraction?: number;
  /** Warn (without refusing) above this synthetic fraction when no `maxSyntheticFraction` is set. Default 0.5. */
  syntheticFractionWarning?: number;
}

const KIND_LIST: readonly Kind[] = ['real', 'synthetic'];

/** floor() that forgives float error such as 2.3 * 100 = 229.99999999999997. */
function floorTolerant(x: number): number {
  return Math.floor(x + Math.abs(x) * 1e-14);
}

function fmtEpochs(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function validateSources(sources: SourceAvailability[]): void {
  if (!Array.isArray(sources) || sources.length === 0) {
    throw new PlanError('a mix needs at least one source', { code: 'E_MIX_SOURCES', path: 'sources' });
  }
  const seen = new Map<string, number>();
  sources.forEach((s, i) => {
    const path = `sources[${i}]`;
    if (typeof s.name !== 'string' || s.name === '') {
      throw new PlanError('source name must be a non-empty string', { code: 'E_MIX_SOURCES', path: `${path}.name` });
    }
    const prev = seen.get(s.name);
    if (prev !== undefined) {
      throw new PlanError(`source name "${s.name}" is also used by sources[${prev}]; names must be unique`, {
        code: 'E_MIX_SOURCES',
        path: `${path}.name`,
      });
    }
    seen.set(s.name, i);
    if (s.kind !== 'real' && s.kind !== 'synthetic') {
      throw new PlanError(`kind must be "real" or "synthetic", got ${JSON.stringify(s.kind)}`, {
        code: 'E_MIX_SOURCES',
        path: `${path}.kind`,
      });
    }
    if (!isCount(s.rows) || !isCount(s.tokens)) {
      throw new PlanError(`source "${s.name}": rows and tokens must be non-negative integers`, {
        code: 'E_MIX_SOURCES',
        path,
      });
    }
    if (!(typeof s.maxEpochs === 'number' && Number.isFinite(s.maxEpochs) && s.maxEpochs > 0)) {
      throw new PlanError(`must be a number > 0, got ${s.maxEpochs}`, {
        code: 'E_MIX_SOURCES',
        path: `${path}.max_epochs`,
      });
    }
    if (s.share !== undefined && !(typeof s.share === 'number' && s.share >= 0 && s.share <= 1)) {
      throw new PlanError(`must be a number in [0, 1], got ${s.share}`, {
        code: 'E_MIX_SOURCES',
        path: `${path}.share`,
      });
    }
  });
}

function emptySourceError(s: SourceAvailability, i: number, unit: MixUnit, why: string): PlanError {
  let what: string;
  if (s.rows === 0) {
    const read = s.rowsRead ?? (s.dropped !== undefined ? s.dropped : undefined);
    what =
      read !== undefined
        ? `is empty after filtering (${read} rows read, all dropped)`
        : 'is empty after filtering (no rows left)';
  } else {
    what = `has 0 ${unit} in its ${s.rows} available rows`;
  }
  return new PlanError(`source "${s.name}" (${s.kind}) ${what}, but ${why}`, {
    code: 'E_MIX_EMPTY_SOURCE',
    path: `sources[${i}]`,
  });
}

function resolveKindRatio(sources: SourceAvailability[], target: MixTarget, avail: number[]): KindRatio {
  const byKind: Record<Kind, number> = { real: 0, synthetic: 0 };
  const count: Record<Kind, number> = { real: 0, synthetic: 0 };
  sources.forEach((s, i) => {
    byKind[s.kind] += avail[i];
    count[s.kind]++;
  });
  if (!target.ratio || (target.ratio.real === undefined && target.ratio.synthetic === undefined)) {
    const total = byKind.real + byKind.synthetic;
    if (total === 0) {
      throw emptySourceError(sources[0], 0, target.unit, 'every source is empty, so nothing can be mixed');
    }
    return { real: byKind.real / total, synthetic: byKind.synthetic / total };
  }
  const { real, synthetic } = target.ratio;
  for (const [k, v] of [
    ['real', real],
    ['synthetic', synthetic],
  ] as const) {
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) {
      throw new PlanError(`must be a number in [0, 1], got ${v}`, { code: 'E_MIX_RATIO', path: `target.ratio.${k}` });
    }
  }
  const r = real ?? 1 - (synthetic as number);
  const sy = synthetic ?? 1 - (real as number);
  if (Math.abs(r + sy - 1) > 1e-9) {
    throw new PlanError(`real (${r}) and synthetic (${sy}) must sum to 1`, {
      code: 'E_MIX_RATIO',
      path: 'target.ratio',
    });
  }
  const ratio: KindRatio = { real: r, synthetic: sy };
  for (const k of KIND_LIST) {
    if (ratio[k] > 0 && count[k] === 0) {
      throw new PlanError(`asks for ${pct(ratio[k])} ${k} ${target.unit} but no source has kind ${k}`, {
        code: 'E_MIX_RATIO',
        path: `target.ratio.${k}`,
      });
    }
  }
  return ratio;
}

/** Shares within each kind: explicit shares as given, the rest in proportion to available units. */
function resolveShares(sources: SourceAvailability[], avail: number[], ratio: KindRatio, unit: MixUnit): number[] {
  const shares = new Array<number>(sources.length).fill(0);
  for (const k of KIND_LIST) {
    const idx = sources.map((s, i) => (s.kind === k ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) continue;
    const explicit = idx.filter((i) => sources[i].share !== undefined);
    const implicit = idx.filter((i) => sources[i].share === undefined);
    const sumExplicit = explicit.reduce((a, i) => a + (sources[i].share as number), 0);
    if (sumExplicit > 1 + 1e-9) {
      throw new PlanError(`the shares of ${k} sources sum to ${sumExplicit}, more than 1`, {
        code: 'E_MIX_RATIO',
        path: `sources[${explicit[explicit.length - 1]}].share`,
      });
    }
    if (implicit.length === 0) {
      // Every source of the kind has a share: they are relative weights.
      if (sumExplicit === 0) {
        if (ratio[k] > 0) {
          throw new PlanError(`every ${k} source has share 0, but the ratio asks for ${pct(ratio[k])} ${k} ${unit}`, {
            code: 'E_MIX_RATIO',
            path: `sources[${explicit[0]}].share`,
          });
        }
        continue;
      }
      for (const i of explicit) shares[i] = (sources[i].share as number) / sumExplicit;
      continue;
    }
    for (const i of explicit) shares[i] = sources[i].share as number;
    const rest = Math.max(0, 1 - sumExplicit);
    const implicitAvail = implicit.reduce((a, i) => a + avail[i], 0);
    if (implicitAvail === 0) {
      if (rest > 0 && ratio[k] > 0) {
        throw emptySourceError(
          sources[implicit[0]],
          implicit[0],
          unit,
          `its quota would be > 0 (${k} sources without a share split ${pct(rest)} of the ${k} budget)`,
        );
      }
      continue;
    }
    for (const i of implicit) shares[i] = (rest * avail[i]) / implicitAvail;
  }
  return shares;
}

/**
 * Compute per-source quotas from available counts. Pure: no I/O, no randomness.
 *
 * - `target.ratio` splits the budget between kinds (default: natural proportions);
 *   `share` splits a kind among its sources (default: natural proportion of available units).
 * - No source exceeds floor(maxEpochs * available) units.
 * - A fixed budget the caps cannot meet throws PlanError `E_MIX_INFEASIBLE` naming the
 *   limiting source and the largest feasible budget, unless `allowShortfall`.
 * - No budget: the largest budget the caps allow at the ratio and shares.
 */
export function planMix(sources: SourceAvailability[], target: MixTarget, options: PlanOptions = {}): MixPlan {
  validateSources(sources);
  const unit = target.unit;
  if (unit !== 'tokens' && unit !== 'documents') {
    throw new PlanError(`unit must be "tokens" or "documents", got ${JSON.stringify(unit)}`, {
      code: 'E_MIX_RATIO',
      path: 'target',
    });
  }
  const budgetPath = `target.${unit}`;
  if (target.budget !== undefined && !isCount(target.budget)) {
    throw new PlanError(`must be a non-negative integer, got ${target.budget}`, {
      code: 'E_MIX_RATIO',
      path: budgetPath,
    });
  }
  const avail = sources.map((s) => (unit === 'tokens' ? s.tokens : s.rows));
  const targetRatio = resolveKindRatio(sources, target, avail);
  const shares = resolveShares(sources, avail, targetRatio, unit);
  const weights = sources.map((s, i) => targetRatio[s.kind] * shares[i]);
  const caps = sources.map((s, i) => floorTolerant(s.maxEpochs * avail[i]));

  // A source with weight > 0 and nothing available can take no quota at all.
  sources.forEach((s, i) => {
    if (weights[i] > 0 && avail[i] === 0) {
      throw emptySourceError(s, i, unit, `its quota would be > 0 (${pct(weights[i])} of the budget)`);
    }
  });

  let maxBudget = Number.POSITIVE_INFINITY;
  let limitingIndex = -1;
  sources.forEach((_, i) => {
    if (weights[i] <= 0) return;
    const b = caps[i] / weights[i];
    if (b < maxBudget) {
      maxBudget = b;
      limitingIndex = i;
    }
  });
  maxBudget = limitingIndex < 0 ? 0 : floorTolerant(maxBudget);

  let budget: number;
  let shortfall: MixPlan['shortfall'];
  const warnings: PlanWarning[] = [];
  const limitText = (): string => {
    const s = sources[limitingIndex];
    return (
      `source "${s.name}" (${s.kind}) can give at most ${caps[limitingIndex]} ${unit} at max_epochs ${s.maxEpochs}; ` +
      `the largest feasible budget is ${maxBudget}`
    );
  };
  if (target.budget === undefined) {
    budget = maxBudget;
  } else if (target.budget > maxBudget) {
    if (!options.allowShortfall) {
      throw new PlanError(`${target.budget} is not feasible: ${limitText()} (use --allow-shortfall to scale down)`, {
        code: 'E_MIX_INFEASIBLE',
        path: budgetPath,
      });
    }
    budget = maxBudget;
    shortfall = { limitingSource: sources[limitingIndex].name, largestFeasibleBudget: maxBudget };
    warnings.push({
      code: 'shortfall',
      message: `${budgetPath}: ${target.budget} scaled down to ${maxBudget}: ${limitText()}`,
      sources: [sources[limitingIndex].name],
    });
  } else {
    budget = target.budget;
  }

  const quotas = apportion(budget, weights, caps);
  const achieved = quotas.reduce((a, q) => a + q, 0);
  const plannedRatio: KindRatio = { real: 0, synthetic: 0 };
  if (achieved > 0) {
    sources.forEach((s, i) => {
      plannedRatio[s.kind] += quotas[i] / achieved;
    });
  }

  const sourceQuotas: SourceQuota[] = sources.map((s, i) => {
    const epochs = avail[i] > 0 ? quotas[i] / avail[i] : 0;
    const wholeEpochs = Math.floor(epochs);
    return {
      name: s.name,
      kind: s.kind,
      unit,
      available: avail[i],
      rows: s.rows,
      maxEpochs: s.maxEpochs,
      share: shares[i],
      cap: caps[i],
      quota: quotas[i],
      epochs,
      wholeEpochs,
      fraction: epochs - wholeEpochs,
      limiting: weights[i] > 0 && (quotas[i] >= caps[i] || (budget === maxBudget && i === limitingIndex)),
    };
  });

  // Largest-remainder rounding may put a unit per source above the exact ratio: that is not a violation.
  const roundingSlack = achieved > 0 ? sources.length / achieved : 0;
  if (
    options.maxSyntheticFraction !== undefined &&
    (targetRatio.synthetic > options.maxSyntheticFraction + 1e-12 ||
      plannedRatio.synthetic > options.maxSyntheticFraction + roundingSlack + 1e-12)
  ) {
    throw new PlanError(
      `the plan has ${pct(plannedRatio.synthetic)} synthetic ${unit}, above the limit of ${pct(options.maxSyntheticFraction)}; ` +
        'lower target.ratio.synthetic or raise the guard',
      { code: 'E_MIX_SYNTHETIC_FRACTION', path: 'guards.max_synthetic_fraction' },
    );
  }
  warnings.push(...planWarnings(sourceQuotas, plannedRatio, options, roundingSlack));

  const plan: MixPlan = {
    unit,
    budget: achieved,
    maxBudget,
    limitingSource: sources[Math.max(0, limitingIndex)].name,
    quotas: sourceQuotas,
    targetRatio,
    plannedRatio,
    warnings,
  };
  if (target.budget !== undefined) plan.requestedBudget = target.budget;
  if (shortfall) plan.shortfall = shortfall;
  return plan;
}

/**
 * Integer quotas summing to `budget` (largest remainder), each <= its cap.
 * Ties go to the earlier source, so the result is deterministic.
 */
function apportion(budget: number, weights: number[], caps: number[]): number[] {
  const exact = weights.map((w) => w * budget);
  const q = exact.map((x, i) => Math.min(caps[i], floorTolerant(x)));
  let left = budget - q.reduce((a, b) => a + b, 0);
  // Float error in the weights can over-allocate by a unit: take it back from the smallest remainders.
  while (left < 0) {
    let j = -1;
    for (let i = 0; i < q.length; i++) if (q[i] > 0 && (j < 0 || exact[i] - q[i] < exact[j] - q[j])) j = i;
    if (j < 0) break;
    q[j]--;
    left++;
  }
  if (left === 0) return q;
  const order = weights
    .map((w, i) => ({ i, rem: exact[i] - q[i], w }))
    .filter((e) => e.w > 0)
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const e of order) {
    if (left <= 0) break;
    if (q[e.i] + 1 <= caps[e.i]) {
      q[e.i]++;
      left--;
    }
  }
  return q;
}

function planWarnings(
  quotas: SourceQuota[],
  planned: KindRatio,
  options: PlanOptions,
  roundingSlack: number,
): PlanWarning[] {
  const out: PlanWarning[] = [];
  const downReal = quotas.filter((q) => q.kind === 'real' && q.available > 0 && q.epochs < 1);
  const upSynth = quotas.filter((q) => q.kind === 'synthetic' && q.epochs > 1);
  if (downReal.length > 0 && upSynth.length > 0) {
    const list = (qs: SourceQuota[]) => qs.map((q) => `"${q.name}" (${fmtEpochs(q.epochs)} epochs)`).join(', ');
    out.push({
      code: 'replacement',
      message:
        `synthetic data replaces real data: real ${list(downReal)} downsampled while synthetic ${list(upSynth)} ` +
        'upsampled; repeated synthetic data standing in for unused real data is the model-collapse pattern',
      sources: [...downReal, ...upSynth].map((q) => q.name),
    });
  }
  const maxEp = options.maxEpochsWarning ?? 4;
  for (const q of quotas) {
    if (q.epochs > maxEp) {
      out.push({
        code: 'epochs',
        message: `source "${q.name}" is repeated ${fmtEpochs(q.epochs)} epochs, above max_epochs_warning ${maxEp}; repeats beyond ~4 epochs add little and invite memorisation`,
        sources: [q.name],
      });
    }
  }
  const synthWarn = options.syntheticFractionWarning ?? 0.5;
  if (options.maxSyntheticFraction === undefined && planned.synthetic > synthWarn + roundingSlack) {
    out.push({
      code: 'synthetic_fraction_high',
      message: `the plan has ${pct(planned.synthetic)} synthetic ${quotas[0]?.unit ?? 'units'}, above ${pct(synthWarn)}; set guards.max_synthetic_fraction to refuse such mixes`,
      sources: quotas.filter((q) => q.kind === 'synthetic' && q.quota > 0).map((q) => q.name),
    });
  }
  return out;
}
