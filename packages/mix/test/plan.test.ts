import { exitCodeFor, RecipeError, Rng } from '@curate/core';
import { describe, expect, it } from 'vitest';
import {
  achievedRatios,
  orderEntries,
  PlanError,
  planMix,
  type SourceAvailability,
  sampleMix,
  sampleSource,
  shuffleBucketOf,
  shuffleOrder,
} from '../src/index.js';

const real = (name: string, tokens: number, rows: number, maxEpochs = 1, extra: Partial<SourceAvailability> = {}) =>
  ({ name, kind: 'real', rows, tokens, maxEpochs, ...extra }) as SourceAvailability;
const synth = (name: string, tokens: number, rows: number, maxEpochs = 1, extra: Partial<SourceAvailability> = {}) =>
  ({ name, kind: 'synthetic', rows, tokens, maxEpochs, ...extra }) as SourceAvailability;

function catchPlan(fn: () => unknown): PlanError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlanError) return e;
    throw e;
  }
  throw new Error('expected a PlanError');
}

describe('planMix: worked examples', () => {
  it('splits a token budget 0.7/0.3 between kinds', () => {
    const plan = planMix([real('dolly', 1_000_000, 1000), synth('alpaca', 500_000, 800, 2)], {
      unit: 'tokens',
      budget: 1_000_000,
      ratio: { real: 0.7, synthetic: 0.3 },
    });
    expect(plan.budget).toBe(1_000_000);
    expect(plan.requestedBudget).toBe(1_000_000);
    expect(plan.quotas.map((q) => [q.name, q.quota, q.epochs])).toEqual([
      ['dolly', 700_000, 0.7],
      ['alpaca', 300_000, 0.6],
    ]);
    expect(plan.plannedRatio).toEqual({ real: 0.7, synthetic: 0.3 });
    expect(plan.maxBudget).toBe(1_428_571); // dolly: 1e6 / 0.7
    expect(plan.quotas.every((q) => !q.limiting)).toBe(true);
    expect(plan.warnings).toEqual([]);
  });

  it('plans in documents', () => {
    const plan = planMix([real('a', 9999, 100, 1), synth('b', 1, 50, 3)], {
      unit: 'documents',
      budget: 120,
      ratio: { synthetic: 0.25 },
    });
    expect(plan.quotas.map((q) => q.quota)).toEqual([90, 30]);
    expect(plan.quotas[0].available).toBe(100);
    expect(plan.quotas[1].epochs).toBeCloseTo(0.6);
    expect(plan.targetRatio).toEqual({ real: 0.75, synthetic: 0.25 });
  });

  it('without a budget takes as much as the caps allow at the ratio', () => {
    const plan = planMix([real('r', 7000, 70, 1), synth('s', 1000, 10, 4)], {
      unit: 'tokens',
      ratio: { real: 0.7, synthetic: 0.3 },
    });
    // real caps at 7000 -> budget 10000; synthetic needs 3000 of its 4000 cap
    expect(plan.budget).toBe(10000);
    expect(plan.maxBudget).toBe(10000);
    expect(plan.quotas.map((q) => [q.quota, q.limiting])).toEqual([
      [7000, true],
      [3000, false],
    ]);
  });

  it('without a ratio uses natural proportions', () => {
    const plan = planMix([real('r', 3000, 30), synth('s', 1000, 10)], { unit: 'tokens', budget: 2000 });
    expect(plan.targetRatio).toEqual({ real: 0.75, synthetic: 0.25 });
    expect(plan.quotas.map((q) => q.quota)).toEqual([1500, 500]);
  });

  it('splits a kind by explicit shares, the rest by natural proportion', () => {
    const plan = planMix(
      [
        real('r', 10_000, 100),
        synth('s1', 1000, 10, 10, { share: 0.6 }),
        synth('s2', 3000, 10, 10),
        synth('s3', 1000, 10, 10),
      ],
      { unit: 'tokens', budget: 10_000, ratio: { real: 0.5, synthetic: 0.5 } },
    );
    for (const [i, share] of [1, 0.6, 0.3, 0.1].entries()) expect(plan.quotas[i].share).toBeCloseTo(share, 12);
    expect(plan.quotas.map((q) => q.quota)).toEqual([5000, 3000, 1500, 500]);
    expect(plan.quotas[1].epochs).toBe(3);
  });

  it('fractional max_epochs 1.5 gives one whole epoch and a seeded half', () => {
    const plan = planMix([real('r', 1000, 10, 1.5)], { unit: 'documents' });
    const q = plan.quotas[0];
    expect([q.quota, q.wholeEpochs, q.fraction]).toEqual([15, 1, 0.5]);
    const sel = sampleSource(q, undefined, new Rng(7));
    expect(sel.documents).toBe(15);
    expect(Array.from(sel.rows.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(sel.epochs)).toEqual([...Array(10).fill(0), ...Array(5).fill(1)]);
    const half = Array.from(sel.rows.subarray(10));
    expect(new Set(half).size).toBe(5);
    // another seed picks another half (seeded, not the first five rows)
    const other = Array.from(sampleSource(q, undefined, new Rng(8)).rows.subarray(10));
    expect(other).not.toEqual(half);
  });

  it('an infeasible budget names the limiting source and the largest feasible budget', () => {
    const sources = [real('dolly', 1_234_567, 15000, 1), synth('alpaca', 9_000_000, 52000, 2)];
    const target = { unit: 'tokens' as const, budget: 5_000_000, ratio: { real: 0.7, synthetic: 0.3 } };
    const err = catchPlan(() => planMix(sources, target));
    expect(err).toBeInstanceOf(RecipeError);
    expect(exitCodeFor(err)).toBe(2);
    expect(err.code).toBe('E_MIX_INFEASIBLE');
    expect(err.path).toBe('target.tokens');
    expect(err.toLine()).toBe(
      'target.tokens: 5000000 is not feasible: source "dolly" (real) can give at most 1234567 tokens at max_epochs 1; the largest feasible budget is 1763667 (use --allow-shortfall to scale down)',
    );

    const plan = planMix(sources, target, { allowShortfall: true });
    expect(plan.budget).toBe(1_763_667);
    expect(plan.requestedBudget).toBe(5_000_000);
    expect(plan.shortfall).toEqual({ limitingSource: 'dolly', largestFeasibleBudget: 1_763_667 });
    expect(plan.quotas[0].quota).toBeLessThanOrEqual(1_234_567);
    expect(plan.quotas[0].limiting).toBe(true);
    expect(plan.warnings.map((w) => w.code)).toEqual(['shortfall']);
  });

  it('warns when synthetic data replaces real data and when epochs are high', () => {
    const plan = planMix([real('web', 1_000_000, 1000), synth('gen', 100_000, 100, 10)], {
      unit: 'tokens',
      budget: 1_600_000,
      ratio: { real: 0.5, synthetic: 0.5 },
    });
    expect(plan.quotas.map((q) => q.epochs)).toEqual([0.8, 8]);
    const codes = plan.warnings.map((w) => w.code);
    expect(codes).toEqual(['replacement', 'epochs']);
    expect(plan.warnings[0].sources).toEqual(['web', 'gen']);
    expect(plan.warnings[0].message).toContain('"web" (0.80 epochs)');
    expect(plan.warnings[1].message).toContain('"gen" is repeated 8 epochs');
    // no replacement when the real side is not downsampled
    const fine = planMix([real('web', 1_000_000, 1000), synth('gen', 100_000, 100, 10)], {
      unit: 'tokens',
      budget: 2_000_000,
      ratio: { real: 0.5, synthetic: 0.5 },
    });
    expect(fine.warnings.map((w) => w.code)).toEqual(['epochs']);
    expect(planMix([real('a', 10, 1, 6)], { unit: 'tokens' }, { maxEpochsWarning: 6 }).warnings).toEqual([]);
  });

  it('refuses a plan above max_synthetic_fraction', () => {
    const sources = [real('r', 1000, 10), synth('s', 1000, 10)];
    const err = catchPlan(() =>
      planMix(sources, { unit: 'tokens', ratio: { real: 0.6, synthetic: 0.4 } }, { maxSyntheticFraction: 0.3 }),
    );
    expect(err.code).toBe('E_MIX_SYNTHETIC_FRACTION');
    expect(err.path).toBe('guards.max_synthetic_fraction');
    expect(err.message).toContain('40.0% synthetic tokens, above the limit of 30.0%');
    expect(
      planMix(sources, { unit: 'tokens', ratio: { synthetic: 0.3 } }, { maxSyntheticFraction: 0.3 }).plannedRatio
        .synthetic,
    ).toBeCloseTo(0.3);
    const high = planMix(sources, { unit: 'tokens', ratio: { synthetic: 0.6 } });
    expect(high.warnings.map((w) => w.code)).toContain('synthetic_fraction_high');
  });

  it('names a source that is empty after filtering but would get a quota', () => {
    const sources = [real('r', 1000, 10), synth('s', 0, 0, 1, { rowsRead: 120, dropped: 120 })];
    const err = catchPlan(() => planMix(sources, { unit: 'tokens', ratio: { real: 0.7, synthetic: 0.3 } }));
    expect(err.code).toBe('E_MIX_EMPTY_SOURCE');
    expect(err.path).toBe('sources[1]');
    expect(err.message).toContain('source "s" (synthetic) is empty after filtering (120 rows read, all dropped)');
    // an empty source beside a non-empty one of its kind simply gets nothing
    const ok = planMix([...sources, synth('t', 500, 5)], { unit: 'tokens', ratio: { real: 0.7, synthetic: 0.3 } });
    expect(ok.quotas[1].quota).toBe(0);
    // but not when it has an explicit share
    const err2 = catchPlan(() =>
      planMix([real('r', 1000, 10), synth('s', 0, 0, 1, { share: 0.5, rowsRead: 3 }), synth('t', 500, 5)], {
        unit: 'tokens',
        ratio: { synthetic: 0.3 },
      }),
    );
    expect(err2.path).toBe('sources[1]');
  });

  it('rejects a ratio that names a kind with no sources, and bad inputs', () => {
    expect(catchPlan(() => planMix([real('r', 10, 1)], { unit: 'tokens', ratio: { real: 0.7 } })).path).toBe(
      'target.ratio.synthetic',
    );
    expect(catchPlan(() => planMix([real('r', 10, 1, 0)], { unit: 'tokens' })).path).toBe('sources[0].max_epochs');
    expect(catchPlan(() => planMix([real('r', 10, 1), real('r', 10, 1)], { unit: 'tokens' })).path).toBe(
      'sources[1].name',
    );
    expect(
      catchPlan(() =>
        planMix([real('r', 10, 1), synth('s', 1, 1)], { unit: 'tokens', ratio: { real: 0.7, synthetic: 0.7 } }),
      ).path,
    ).toBe('target.ratio');
  });
});

describe('sampling, ratios and shuffle: worked examples', () => {
  const tokens = (...t: number[]) => Uint32Array.from(t);

  it('hits a token quota within half a document and stays deterministic', () => {
    const tpr = Uint32Array.from({ length: 200 }, (_, i) => 50 + ((i * 37) % 400));
    const total = tpr.reduce((a, b) => a + b, 0);
    const plan = planMix([real('r', total, 200, 3)], { unit: 'tokens', budget: Math.floor(total * 2.37) });
    const sel = sampleSource(plan.quotas[0], tpr, new Rng(42));
    expect(Math.abs(sel.tokens - plan.budget)).toBeLessThanOrEqual(Math.max(...tpr) / 2);
    expect(sel.epochs.filter((e) => e === 2).length).toBeGreaterThan(0);
    expect(sampleSource(plan.quotas[0], tpr, new Rng(42))).toEqual(sel);
  });

  it('refuses token counts that do not match the plan', () => {
    const plan = planMix([real('r', 60, 3)], { unit: 'tokens', budget: 30 });
    expect(() => sampleSource(plan.quotas[0], tokens(10, 20, 31), new Rng(1))).toThrow(
      /sums to 61, but the plan counted 60/,
    );
    expect(() => sampleSource(plan.quotas[0], tokens(10, 50), new Rng(1))).toThrow(/has 2 entries, expected 3/);
    expect(() => sampleSource(plan.quotas[0], undefined, new Rng(1))).toThrow(/needs tokensPerRow/);
  });

  it('samples a source independently of the other sources (rng.fork by name)', () => {
    const rng = new Rng('seed');
    const a = planMix([real('a', 100, 100)], { unit: 'documents', budget: 37 });
    const ab = planMix([real('a', 100, 100), real('b', 100, 100)], { unit: 'documents', budget: 74 });
    expect(ab.quotas[0].quota).toBe(37);
    expect(sampleSource(ab.quotas[0], undefined, rng).rows).toEqual(sampleSource(a.quotas[0], undefined, rng).rows);
  });

  it('reports target vs achieved per kind and source', () => {
    const plan = planMix([real('r', 100, 4), synth('s', 60, 3, 2)], {
      unit: 'tokens',
      budget: 100,
      ratio: { real: 0.7, synthetic: 0.3 },
    });
    const tpr: Record<string, Uint32Array> = { r: tokens(10, 20, 30, 40), s: tokens(20, 20, 20) };
    const sels = sampleMix(plan, (n) => tpr[n], new Rng(1));
    const a = achievedRatios(plan, sels);
    expect(a.sources.map((s) => s.quota)).toEqual([70, 30]);
    for (const s of a.sources) expect(Math.abs(s.deviation)).toBeLessThanOrEqual(20);
    expect(a.totals.tokens).toBe(sels[0].tokens + sels[1].tokens);
    expect(a.achievedRatio.tokens.real + a.achievedRatio.tokens.synthetic).toBeCloseTo(1);
    expect(a.targetRatio).toEqual({ real: 0.7, synthetic: 0.3 });
  });

  it('shuffles in memory and in buckets, each a permutation of the selection', () => {
    const plan = planMix([real('a', 1000, 300, 2), synth('b', 500, 200, 1.5)], { unit: 'documents' });
    const sels = sampleMix(plan, () => undefined, new Rng(3));
    const key = (e: { source: number; row: number; epoch: number }) => `${e.source}:${e.row}:${e.epoch}`;
    const expected = sels.flatMap((s, si) =>
      Array.from(s.rows, (r, i) => key({ source: si, row: r, epoch: s.epochs[i] })),
    );
    expected.sort();

    const mem = shuffleOrder(sels, new Rng(3), { chunkRows: 100 });
    expect(mem.buckets).toBe(1);
    const memKeys = [...orderEntries(mem)].map(key);
    expect(memKeys.length).toBe(750); // b limits: 300 / 0.4
    expect([...memKeys].sort()).toEqual(expected);
    expect(memKeys.slice(0, 20)).not.toEqual(expected.slice(0, 20));
    expect([...orderEntries(shuffleOrder(sels, new Rng(3)))].map(key)).toEqual(memKeys);
    expect([...orderEntries(shuffleOrder(sels, new Rng(4)))].map(key)).not.toEqual(memKeys);

    const rng = new Rng(3);
    const bounded = shuffleOrder(sels, rng, { memoryRows: 100 });
    expect(bounded.buckets).toBe(15);
    let maxChunk = 0;
    for (const c of bounded) {
      maxChunk = Math.max(maxChunk, c.length);
      for (let i = 0; i < c.length; i++) {
        expect(shuffleBucketOf(rng, bounded.buckets, c.source[i], c.row[i], c.epoch[i])).toBe(c.bucket);
      }
    }
    expect(maxChunk).toBeLessThanOrEqual(100);
    const bKeys = [...orderEntries(bounded)].map(key);
    expect([...bKeys].sort()).toEqual(expected);
    expect([...orderEntries(shuffleOrder(sels, new Rng(3), { memoryRows: 100 }))].map(key)).toEqual(bKeys);
  });
});

describe('public API', () => {
  it('exports exactly the documented names (review any change)', async () => {
    const api = await import('../src/index.js');
    expect(Object.keys(api).sort()).toEqual([
      'PlanError',
      'achievedRatios',
      'orderEntries',
      'planMix',
      'sampleMix',
      'sampleSource',
      'shuffleBucket',
      'shuffleBucketOf',
      'shuffleOrder',
    ]);
  });
});
