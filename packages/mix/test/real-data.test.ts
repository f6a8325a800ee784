import { readFileSync } from 'node:fs';
import { loadTokenizer, Rng } from '@curate/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import {
  achievedRatios,
  orderEntries,
  PlanError,
  planMix,
  type SourceAvailability,
  sampleMix,
  shuffleOrder,
} from '../src/index.js';

/**
 * Real token counts (cl100k_base) of human dolly-15k (one real source) and the AlpacaEval model
 * outputs split by generator (nine synthetic sources), as pass 1 of the pipeline would record them.
 */
describe.skipIf(!HAS_SHARED)('mix on real token counts: dolly-15k vs AlpacaEval outputs', () => {
  const tokens = new Map<string, Uint32Array>();
  const sources: SourceAvailability[] = [];
  const sum = (a: Uint32Array) => a.reduce((x, y) => x + y, 0);
  const maxOf = (a: Uint32Array) => a.reduce((m, x) => Math.max(m, x), 0);

  beforeAll(async () => {
    const tok = await loadTokenizer('cl100k_base');
    const lines = (f: string) => readFileSync(shared('instruct_pair', f), 'utf8').trim().split('\n');
    const dolly = lines('human_dolly15k.jsonl').map((l) => {
      const r = JSON.parse(l);
      return tok.count(`${r.instruction}\n\n${r.context}\n\n${r.response}`);
    });
    tokens.set('dolly', Uint32Array.from(dolly));
    const byGen = new Map<string, number[]>();
    for (const l of lines('synthetic_alpaca_eval_outputs.jsonl')) {
      const r = JSON.parse(l);
      let list = byGen.get(r.generator);
      if (!list) byGen.set(r.generator, (list = []));
      list.push(tok.count(`${r.instruction}\n\n${r.output}`));
    }
    sources.push({ name: 'dolly', kind: 'real', rows: dolly.length, tokens: sum(tokens.get('dolly')!), maxEpochs: 1 });
    for (const [g, list] of [...byGen].sort()) {
      const t = Uint32Array.from(list);
      tokens.set(g, t);
      sources.push({ name: g, kind: 'synthetic', rows: t.length, tokens: sum(t), maxEpochs: 3 });
    }
  }, 120_000);

  it('fills the caps at 0.7/0.3, samples every source within half a document, and shuffles all rows', () => {
    expect(sources.length).toBe(10);
    expect(sources[0].rows).toBe(15011);
    const plan = planMix(sources, { unit: 'tokens', ratio: { real: 0.7, synthetic: 0.3 } });
    // dolly at max_epochs 1 bounds the budget
    expect(plan.quotas[0].limiting).toBe(true);
    expect(plan.limitingSource).toBe('dolly');
    expect(plan.quotas.slice(1).every((q) => !q.limiting)).toBe(true);
    expect(plan.maxBudget).toBe(Math.floor(sources[0].tokens / 0.7));
    expect(plan.plannedRatio.real).toBeCloseTo(0.7, 5);

    const sels = sampleMix(plan, (n) => tokens.get(n), new Rng(42));
    const report = achievedRatios(plan, sels);
    let slack = 0;
    plan.quotas.forEach((q, i) => {
      const t = tokens.get(q.name)!;
      expect(Math.abs(report.sources[i].deviation)).toBeLessThanOrEqual(maxOf(t) / 2);
      slack += maxOf(t) / 2 + 1;
    });
    expect(sels[0].documents).toBe(15011); // one whole epoch of dolly, every row once
    expect(Math.abs(report.achievedRatio.tokens.real - 0.7) * report.totals.tokens).toBeLessThanOrEqual(slack);

    const order = [...orderEntries(shuffleOrder(sels, new Rng(42)))];
    expect(order.length).toBe(report.totals.documents);
    const seen = new Set(order.map((e) => `${e.source}:${e.row}:${e.epoch}`));
    expect(seen.size).toBe(order.length);
    // the first 1000 output rows mix sources (not a concatenation)
    expect(new Set(order.slice(0, 1000).map((e) => e.source)).size).toBe(10);
  });

  it('rejects a budget dolly cannot support, naming dolly and the largest feasible budget', () => {
    const dolly = sources[0].tokens;
    const max = Math.floor(dolly / 0.7);
    let err: unknown;
    try {
      planMix(sources, { unit: 'tokens', budget: 2 * max, ratio: { real: 0.7, synthetic: 0.3 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).toLine()).toBe(
      `target.tokens: ${2 * max} is not feasible: source "dolly" (real) can give at most ${dolly} tokens at max_epochs 1; the largest feasible budget is ${max} (use --allow-shortfall to scale down)`,
    );
  });

  it('warns that synthetic replaces real when a half-synthetic mix upsamples AlpacaEval outputs', () => {
    const synth = sources.slice(1).reduce((a, s) => a + s.tokens, 0);
    expect(1.2 * synth).toBeLessThan(sources[0].tokens); // the data makes this a replacement case
    const plan = planMix(
      sources,
      { unit: 'tokens', budget: Math.floor(2.4 * synth), ratio: { real: 0.5, synthetic: 0.5 } },
      { maxSyntheticFraction: 0.5 }, // the guard at exactly the target ratio does not refuse rounding
    );
    expect(plan.quotas[0].epochs).toBeLessThan(1);
    expect(plan.quotas[1].epochs).toBeCloseTo(1.2, 3);
    expect(plan.warnings.map((w) => w.code)).toEqual(['replacement']);
    expect(plan.warnings[0].sources[0]).toBe('dolly');
    const sels = sampleMix(plan, (n) => tokens.get(n), new Rng(7));
    // a synthetic row is used at most twice (1.2 epochs), real rows at most once
    for (const [i, s] of sels.entries()) {
      const uses = new Uint8Array(plan.quotas[i].rows);
      for (const r of s.rows) uses[r]++;
      expect(Math.max(...uses)).toBeLessThanOrEqual(i === 0 ? 1 : 2);
    }
  });
});
