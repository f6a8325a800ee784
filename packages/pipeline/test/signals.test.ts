import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qualitySignals } from '@curate/quality';
import type { Recipe } from '@curate/recipe';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import {
  inSignalSample,
  qualitySignalsRecord,
  SIGNAL_EDGES,
  SignalHistograms,
  signalRate,
  signalSeed,
} from '../dist/signals.js';
import { tempDir, writeRecipe } from './helpers.js';

const MB = 1 << 20;

describe('quality-signal sample and histograms', () => {
  it('rate: whole small sources, 1/32 of larger ones, at most 32 MiB', () => {
    expect(signalRate(0)).toBe(1);
    expect(signalRate(0.5 * MB)).toBe(1);
    expect(signalRate(8 * MB)).toBe(1 / 8); // the 1 MiB floor
    expect(signalRate(100 * MB)).toBe(1 / 32);
    expect(signalRate(4096 * MB)).toBe(32 / 4096);
  });

  it('the sample is a fixed function of (source, file, row): its share is the rate', () => {
    const seed = signalSeed('dolly', 0);
    expect(signalSeed('dolly', 1)).not.toBe(seed);
    expect(signalSeed('dolly', 0)).toBe(seed);
    const n = 100000;
    for (const rate of [0.02, 0.125, 0.5]) {
      let k = 0;
      for (let r = 0; r < n; r++) if (inSignalSample(seed, r, rate)) k++;
      const sd = Math.sqrt(n * rate * (1 - rate));
      expect(Math.abs(k - n * rate)).toBeLessThan(5 * sd);
    }
    // other files pick other rows
    let same = 0;
    const other = signalSeed('dolly', 1);
    for (let r = 0; r < 10000; r++) if (inSignalSample(seed, r, 0.1) && inSignalSample(other, r, 0.1)) same++;
    expect(same).toBeLessThan(200); // ~100 expected for independent samples, 1000 if identical
  });

  it('bins: [lo, hi), open-ended first and last bins, nulls in no bin', () => {
    const h = new SignalHistograms();
    const base = qualitySignals('');
    h.add({ ...base, word_count: 50, short_line_ratio: 1, newline_word_ratio: Number.POSITIVE_INFINITY });
    h.add({ ...base, word_count: 49, short_line_ratio: 0, newline_word_ratio: 5 });
    h.add({ ...base, word_count: 5e6, mean_word_length: null, newline_word_ratio: 0.3 });
    const e = SIGNAL_EDGES.word_count;
    const w = h.bins('word_count');
    expect(w[e.indexOf(50)]).toBe(1);
    expect(w[e.indexOf(20)]).toBe(1);
    expect(w[w.length - 1]).toBe(1);
    const nl = h.bins('newline_word_ratio');
    expect(nl[nl.length - 1]).toBe(2);
    expect(nl[SIGNAL_EDGES.newline_word_ratio.indexOf(0.3)]).toBe(1);
    expect(h.bins('mean_word_length').reduce((a, b) => a + b, 0)).toBe(0); // '' has no words either
    expect(h.sampled).toBe(3);
    const m = new SignalHistograms().merge(h).merge(h);
    expect(m.sampled).toBe(6);
    expect(m.bins('word_count')[e.indexOf(50)]).toBe(2);
  });

  it('thresholds as the recipe configures them, defaults flagged when the filter is absent', () => {
    const recipe = {
      quality: [
        { gopher_quality: { min_words: 20, min_stop_words: 0, applies_to: 'synthetic' } },
        { gopher_repetition: { top_ngram_char_frac: { '3': 0.2 } } },
        { fineweb: { short_line_length: 40 } },
      ],
    } as unknown as Recipe;
    const h = { real: new SignalHistograms(), synthetic: new SignalHistograms() };
    const q = qualitySignalsRecord(recipe, h);
    expect(q.word_count.threshold).toEqual({ min: 20, max: 100000, from: 'recipe', applies_to: 'synthetic' });
    expect(q.stop_words.threshold).toBeUndefined(); // min 0: the check is off
    expect(q.top_2gram_char_frac.threshold).toBeUndefined(); // the recipe's map has no 2-gram entry
    expect(q.dup_5gram_char_frac.threshold).toEqual({ max: 0.15, from: 'recipe' });
    expect(q.short_line_ratio.label).toBe('short lines (<= 40 chars)');
    expect(q.short_line_ratio.threshold).toEqual({ max: 0.67, from: 'recipe' });
    const none = qualitySignalsRecord({ quality: [] } as unknown as Recipe, h);
    expect(none.word_count.threshold).toEqual({ min: 50, max: 100000, from: 'default' });
    expect(none.word_count.real).toHaveLength(SIGNAL_EDGES.word_count.length - 1);
  });
});

describe.skipIf(!HAS_SHARED)('quality signals on real data (Dolly, human, vs AlpacaEval outputs, machine)', () => {
  it('measures exactly the sampled rows of each file on their raw text, the same with 1 and 2 workers', async () => {
    const dir = tempDir();
    const dolly = shared('instruct_pair', 'human_dolly15k.jsonl');
    const alpaca = shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `
name: signals
seed: 3
tokenizer: words
sources:
  - { name: dolly, kind: real, paths: [${dolly}], text: "{instruction}\\n\\n{context}\\n\\n{response}" }
  - { name: alpaca-eval, kind: synthetic, paths: [${alpaca}], text: "{instruction}\\n\\n{output}", max_epochs: 2 }
quality:
  - gopher_quality: { min_words: 5 }
output: { dir: out, format: jsonl }
report: false
`,
    );
    const a = await runRecipeFile(recipe, { out: join(dir, 'a'), workers: 1, dryRun: true });
    const b = await runRecipeFile(recipe, { out: join(dir, 'b'), workers: 2, dryRun: true });
    const q = a.manifest.quality_signals;
    if (!q) throw new Error('no quality_signals');
    expect(b.manifest.quality_signals).toEqual(q);
    // An independent recount: read each file, pick the rows by the sample rule, measure the raw text.
    const recount = (path: string, source: string, text: (r: Record<string, string>) => string) => {
      const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      const rate = signalRate(readFileSync(path).length);
      const seed = signalSeed(source, 0);
      const h = new SignalHistograms();
      rows.forEach((l, i) => {
        if (inSignalSample(seed, i, rate)) h.add(qualitySignals(text(JSON.parse(l))));
      });
      return { h, rate, rows: rows.length };
    };
    const real = recount(dolly, 'dolly', (r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`);
    const syn = recount(alpaca, 'alpaca-eval', (r) => `${r.instruction}\n\n${r.output}`);
    expect(real.rate).toBeLessThan(0.5);
    expect(q.word_count.sampled).toEqual({ real: real.h.sampled, synthetic: syn.h.sampled });
    expect(Math.abs(real.h.sampled - real.rate * real.rows)).toBeLessThan(5 * Math.sqrt(real.rate * real.rows));
    for (const [name, rec] of Object.entries(q)) {
      expect(rec.real, name).toEqual(real.h.bins(name as never));
      expect(rec.synthetic, name).toEqual(syn.h.bins(name as never));
    }
    // The recipe's configured minimum, the other bounds its defaults; fineweb is not in the recipe.
    expect(q.word_count.threshold).toEqual({ min: 5, max: 100000, from: 'recipe' });
    expect(q.newline_word_ratio.threshold?.from).toBe('default');
  });
});
