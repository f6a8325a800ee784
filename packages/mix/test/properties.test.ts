import { Rng } from '@curate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  achievedRatios,
  type MixTarget,
  orderEntries,
  PlanError,
  planMix,
  type SourceAvailability,
  sampleMix,
  sampleSource,
  shuffleOrder,
} from '../src/index.js';

type Kind = 'real' | 'synthetic';

/** Tokens per row at one of three scales, so tiny (incl. 0) and huge rows are both exercised. */
const rowsArb = fc
  .constantFrom<[number, number]>([0, 5], [1, 3000], [100_000, 2 ** 31])
  .chain(([min, max]) => fc.array(fc.integer({ min, max }), { minLength: 1, maxLength: 60 }));

const sourceArb = fc.record({
  kind: fc.constantFrom<Kind>('real', 'synthetic'),
  tokens: rowsArb,
  maxEpochs: fc.oneof(
    fc.constantFrom(0.5, 1, 1.5, 2, 3.7),
    fc.double({ min: 0.05, max: 12, noNaN: true, noDefaultInfinity: true }),
  ),
  share: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
});

const caseArb = fc.record({
  sources: fc.array(sourceArb, { minLength: 1, maxLength: 5 }),
  unit: fc.constantFrom<'tokens' | 'documents'>('tokens', 'documents'),
  ratio: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  /** Budget as a fraction of the largest feasible one; > 1 exercises the shortfall path. */
  budgetFraction: fc.option(fc.double({ min: 0, max: 1.5, noNaN: true }), { nil: undefined }),
  seed: fc.integer(),
  memoryRows: fc.integer({ min: 1, max: 400 }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case): { sources: SourceAvailability[]; tpr: Map<string, Uint32Array>; target: MixTarget } {
  const tpr = new Map<string, Uint32Array>();
  const sources = c.sources.map((s, i): SourceAvailability => {
    const name = `s${i}`;
    tpr.set(name, Uint32Array.from(s.tokens));
    return {
      name,
      kind: s.kind,
      rows: s.tokens.length,
      tokens: s.tokens.reduce((a, b) => a + b, 0),
      maxEpochs: s.maxEpochs,
      share: s.share,
    };
  });
  // Keep explicit shares of a kind within 1 (the recipe checks that; here we want valid plans).
  for (const k of ['real', 'synthetic'] as const) {
    const sum = sources.filter((s) => s.kind === k && s.share !== undefined).reduce((a, s) => a + (s.share ?? 0), 0);
    if (sum > 1) for (const s of sources) if (s.kind === k && s.share !== undefined) s.share /= sum * 1.000001;
  }
  const kinds = new Set(sources.map((s) => s.kind));
  let ratio: MixTarget['ratio'];
  if (c.ratio !== undefined) {
    ratio =
      kinds.size === 2 ? { real: c.ratio, synthetic: 1 - c.ratio } : kinds.has('real') ? { real: 1 } : { synthetic: 1 };
  }
  return { sources, tpr, target: { unit: c.unit, ratio } };
}

const maxOf = (a: Uint32Array) => a.reduce((m, x) => Math.max(x, m), 0);

/** Plan, or undefined when the case is legitimately unplannable (an empty source that would need a quota). */
function tryPlan(sources: SourceAvailability[], target: MixTarget) {
  try {
    return planMix(sources, target, { allowShortfall: true });
  } catch (e) {
    if (e instanceof PlanError && e.code === 'E_MIX_EMPTY_SOURCE') return undefined;
    throw e;
  }
}

describe('mix properties (fast-check)', () => {
  it('quotas respect caps, samples hit quotas within one document, ratios hold, shuffle permutes', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { sources, tpr, target } = build(c);
        const free = tryPlan(sources, target);
        fc.pre(free !== undefined);
        if (!free) return;
        if (c.budgetFraction !== undefined) target.budget = Math.floor(free.maxBudget * c.budgetFraction);
        const plan = planMix(sources, target, { allowShortfall: true });

        // Budget: exactly the request when feasible, else the largest feasible budget.
        const sum = plan.quotas.reduce((a, q) => a + q.quota, 0);
        expect(plan.budget).toBe(sum);
        expect(plan.maxBudget).toBe(free.maxBudget);
        if (target.budget === undefined) expect(plan.budget).toBe(plan.maxBudget);
        else if (target.budget <= plan.maxBudget) expect(plan.budget).toBe(target.budget);
        else expect([plan.budget, plan.shortfall?.largestFeasibleBudget]).toEqual([plan.maxBudget, plan.maxBudget]);

        // The synthetic guard refuses a target above it, never rounding at exactly the target.
        const synthTarget = plan.targetRatio.synthetic;
        expect(() =>
          planMix(sources, target, { allowShortfall: true, maxSyntheticFraction: synthTarget }),
        ).not.toThrow();
        if (synthTarget >= 0.01) {
          expect(() =>
            planMix(sources, target, { allowShortfall: true, maxSyntheticFraction: synthTarget - 0.01 }),
          ).toThrow(/above the limit/);
        }

        plan.quotas.forEach((q, i) => {
          const s = sources[i];
          // Caps: floor(maxEpochs * available), never above it.
          expect(q.quota).toBeLessThanOrEqual(q.cap);
          expect(q.cap).toBeLessThanOrEqual(s.maxEpochs * q.available * (1 + 1e-12));
          // Quota = ratio x share x budget, up to one unit of rounding.
          const ideal = plan.targetRatio[s.kind] * q.share * plan.budget;
          expect(Math.abs(q.quota - ideal)).toBeLessThan(1 + 1e-6 * ideal);
        });

        const rng = new Rng(c.seed);
        const sels = sampleMix(plan, (n) => tpr.get(n), rng);
        const kindDev: Record<Kind, number> = { real: 0, synthetic: 0 };
        const kindAchieved: Record<Kind, number> = { real: 0, synthetic: 0 };
        plan.quotas.forEach((q, i) => {
          const s = sources[i];
          const sel = sels[i];
          const t = tpr.get(q.name) as Uint32Array;
          const doc = q.unit === 'tokens' ? maxOf(t) : 1;
          const achieved = q.unit === 'tokens' ? sel.tokens : sel.documents;
          // Within one document of the quota (the sampler promises half of the largest one).
          if (q.unit === 'documents') expect(achieved).toBe(q.quota);
          else expect(Math.abs(achieved - q.quota)).toBeLessThanOrEqual(doc / 2);
          // Never beyond max_epochs: in units (within one document) and per row.
          expect(achieved).toBeLessThanOrEqual(s.maxEpochs * q.available + doc / 2 + 1e-6);
          const uses = new Uint32Array(q.rows);
          for (let j = 0; j < sel.rows.length; j++) {
            expect(sel.rows[j]).toBeLessThan(q.rows);
            uses[sel.rows[j]]++;
            expect(sel.epochs[j]).toBeLessThan(Math.ceil(s.maxEpochs));
          }
          expect(maxOf(uses)).toBeLessThanOrEqual(Math.ceil(s.maxEpochs));
          let tokens = 0;
          for (const r of sel.rows) tokens += t[r];
          expect(sel.tokens).toBe(tokens);
          kindDev[s.kind] += doc / 2 + 1;
          kindAchieved[s.kind] += achieved;
        });
        // Achieved kind totals within one document per source of ratio x budget.
        for (const k of ['real', 'synthetic'] as const) {
          expect(Math.abs(kindAchieved[k] - plan.targetRatio[k] * plan.budget)).toBeLessThanOrEqual(
            kindDev[k] + 1e-6 * plan.budget,
          );
        }
        const report = achievedRatios(plan, sels);
        expect(report.sources.map((s) => s.achieved)).toEqual(
          plan.unit === 'tokens' ? sels.map((s) => s.tokens) : sels.map((s) => s.documents),
        );

        // Determinism: same seed, same sample and order.
        expect(sampleMix(plan, (n) => tpr.get(n), new Rng(c.seed))).toEqual(sels);
        const order = [...orderEntries(shuffleOrder(sels, rng, { memoryRows: c.memoryRows }))];
        expect([...orderEntries(shuffleOrder(sels, new Rng(c.seed), { memoryRows: c.memoryRows }))]).toEqual(order);

        // The shuffle is a permutation of the selection (in memory or bucketed).
        const key = (s: number, r: number, e: number) => (s * 2 ** 32 + r) * 65536 + e;
        const want = sels.flatMap((sel, s) => Array.from(sel.rows, (r, j) => key(s, r, sel.epochs[j])));
        const got = order.map((e) => key(e.source, e.row, e.epoch));
        expect(got.sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
      }),
      { numRuns: 400 },
    );
  });

  it('different seeds give different samples and orders for non-trivial inputs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 40, max: 300 }),
        fc.double({ min: 0.25, max: 0.75, noNaN: true }),
        fc.integer(),
        (rows, frac, seed) => {
          const budget = Math.floor(rows * frac);
          const plan = planMix([{ name: 'a', kind: 'real', rows, tokens: rows * 10, maxEpochs: 1 }], {
            unit: 'documents',
            budget,
          });
          const a = sampleSource(plan.quotas[0], undefined, new Rng(seed));
          const b = sampleSource(plan.quotas[0], undefined, new Rng(seed + 1));
          expect(a.documents).toBe(budget);
          expect(Array.from(a.rows)).not.toEqual(Array.from(b.rows));
          const oa = [...orderEntries(shuffleOrder([a], new Rng(seed)))].map((e) => e.row);
          const ob = [...orderEntries(shuffleOrder([a], new Rng(seed + 1)))].map((e) => e.row);
          expect(oa).not.toEqual(ob);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a fixed budget above the caps always fails naming the limiting source, unless shortfall is allowed', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 1_000_000 }), (c, extra) => {
        const { sources, target } = build(c);
        const free = tryPlan(sources, target);
        fc.pre(free !== undefined);
        if (!free) return;
        target.budget = free.maxBudget + extra;
        let err: unknown;
        try {
          planMix(sources, target);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(PlanError);
        const pe = err as PlanError;
        expect(pe.code).toBe('E_MIX_INFEASIBLE');
        // The named source is one whose cap bounds the budget: cap / (ratio x share) is the minimum.
        const named = /source "([^"]+)"/.exec(pe.message)?.[1];
        const q = free.quotas.find((x) => x.name === named);
        if (!q) throw new Error(`no source named in: ${pe.message}`);
        expect(Math.floor(q.cap / (free.targetRatio[q.kind] * q.share))).toBeLessThanOrEqual(free.maxBudget + 1);
        expect(pe.message).toContain(`can give at most ${q.cap} ${target.unit} at max_epochs ${q.maxEpochs};`);
        expect(pe.message).toContain(`the largest feasible budget is ${free.maxBudget} `);
      }),
      { numRuns: 200 },
    );
  });
});

describe('shuffle uniformity (fixed seeds, deterministic)', () => {
  // 12 rows; where does each row land over 3000 seeds? A uniform permutation puts every row in every
  // position 250 times on average. Chi-square over the 12x12 table, 121 degrees of freedom:
  // the 0.999 quantile is about 172. Both the in-memory and the bucketed (K = 6) paths must pass.
  const sel = {
    source: 'a',
    rows: Uint32Array.from({ length: 12 }, (_, i) => i),
    epochs: new Uint16Array(12),
    documents: 12,
    tokens: 0,
  };
  for (const memoryRows of [100, 4]) {
    it(`memoryRows ${memoryRows}`, () => {
      const counts = Array.from({ length: 12 }, () => new Array<number>(12).fill(0));
      let buckets = 0;
      for (let seed = 0; seed < 3000; seed++) {
        const order = shuffleOrder([sel], new Rng(seed), { memoryRows });
        buckets = order.buckets;
        [...orderEntries(order)].forEach((e, pos) => {
          counts[e.row][pos]++;
        });
      }
      expect(buckets).toBe(memoryRows === 4 ? 6 : 1);
      const expected = 3000 / 12;
      let chi2 = 0;
      for (const row of counts) for (const c of row) chi2 += (c - expected) ** 2 / expected;
      expect(chi2).toBeLessThan(172);
      expect(chi2).toBeGreaterThan(70); // not suspiciously regular either (about the 0.0005 quantile)
    });
  }
});
