/**
 * Issue evidence on real data: Dolly (human) mixed 0.7/0.3 by tokens with
 * alpaca-libre and AlpacaEval outputs (machine), plus GPT-3 GSM8K solutions that
 * quote the GSM8K test questions (a contaminated synthetic source).
 */
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

describe.skipIf(!HAS_SHARED)('mix on real instruction data', () => {
  it('hits the token ratio within one document per source, drops every contaminated row, and DuckDB agrees', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'instruct.yaml',
      `
name: instruct-real
seed: 7
tokenizer: cl100k_base
target: { tokens: 600000, ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - name: dolly
    kind: real
    paths: [${shared('instruct_pair', 'human_dolly15k.jsonl')}]
    text: "{instruction}\\n\\n{context}\\n\\n{response}"
    columns: [category]
  - name: alpaca-libre
    kind: synthetic
    generator: gpt-3.5-turbo
    paths: [${shared('instruct_pair', 'synthetic_alpaca_libre_gpt35.jsonl')}]
    text: "{instruction}\\n\\n{input}\\n\\n{output}"
  - name: alpaca-eval
    kind: synthetic
    generator: mixed (AlpacaEval model outputs)
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
  - name: gsm8k-gpt3
    kind: synthetic
    generator: GPT-3 175B
    paths: [${shared('decontam', 'gsm8k_example_model_solutions.jsonl')}]
    text: "{question}\\n\\n{175b_verification.solution}"
quality:
  - length: { min: 3 }
dedup:
  exact: {}
  near: { threshold: 0.8 }
  decontaminate:
    - { name: gsm8k_test, paths: [${shared('decontam', 'gsm8k_test.jsonl')}], text: question }
output: { dir: out, format: parquet, compression: zstd, shard_rows: 2000, write_rejected: true }
report: false
`,
    );
    const out = join(dir, 'out');
    const { manifest: m } = await runRecipeFile(recipe, { out, workers: 2 });

    // Every GPT-3 GSM8K solution quotes a test question: all 1,319 are dropped by decontamination.
    const gsm = m.sources.find((s) => s.name === 'gsm8k-gpt3');
    expect(gsm?.rows_read).toBe(1319);
    expect(gsm?.dropped['decontam:gsm8k_test']).toBe(1319);
    expect(gsm?.rows_available).toBe(0);
    // Accounting invariant and row counts from the MANIFEST of shared/data.
    const expectedRows: Record<string, number> = {
      dolly: 15011,
      'alpaca-libre': 5860,
      'alpaca-eval': 7244,
      'gsm8k-gpt3': 1319,
    };
    for (const s of m.sources) {
      expect(s.rows_read).toBe(expectedRows[s.name]);
      expect(s.rows_read).toBe(Object.values(s.dropped).reduce((a, b) => a + b, 0) + s.rows_available);
    }
    // AlpacaEval answers the same 805 prompts with 9 models: near-duplicates exist and are removed.
    expect(
      (m.sources.find((s) => s.name === 'alpaca-eval')?.dropped['dedup:exact'] ?? 0) +
        (m.sources.find((s) => s.name === 'alpaca-eval')?.dropped['dedup:near'] ?? 0),
    ).toBeGreaterThan(0);

    // DuckDB reads the output with the manifest's row counts; no row of the contaminated source is there.
    const rows = await duckRows(`SELECT source, text FROM read_parquet('${join(out, 'shard-*.parquet')}')`);
    expect(rows.length).toBe(m.totals.rows_written);
    expect(rows.some((r) => r.source === 'gsm8k-gpt3')).toBe(false);
    const rejected = await duckRows(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${join(out, 'rejected', '*.parquet')}') WHERE source = 'gsm8k-gpt3' AND reason LIKE 'decontam:gsm8k_test:row=%'`,
    );
    expect(rejected[0].n).toBe(1319);

    // Independent recount with js-tiktoken: per source exact, ratio within one document per source.
    const enc = getEncoding('cl100k_base');
    const per: Record<string, { tokens: number; max: number }> = {};
    for (const r of rows) {
      const n = enc.encode(String(r.text), [], []).length;
      const e = (per[String(r.source)] ??= { tokens: 0, max: 0 });
      e.tokens += n;
      e.max = Math.max(e.max, n);
    }
    let total = 0;
    let real = 0;
    let slack = 0;
    for (const s of m.sources) {
      if (s.rows_sampled === 0) continue;
      expect(per[s.name].tokens).toBe(s.tokens_sampled);
      expect(Math.abs(s.tokens_sampled - s.quota)).toBeLessThanOrEqual(per[s.name].max);
      total += per[s.name].tokens;
      if (s.kind === 'real') real += per[s.name].tokens;
      slack += per[s.name].max;
    }
    expect(Math.abs(total - 600000)).toBeLessThanOrEqual(slack);
    expect(Math.abs(real / total - 0.7)).toBeLessThanOrEqual(slack / total);
  });
});
