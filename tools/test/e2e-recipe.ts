/**
 * The e2e-style recipe on real data (issue 13): Gutenberg books and AlpacaEval outputs from
 * `../shared/data`, the default quality filters with c4 clean, exact + near dedup and decontamination
 * against GSM8K's test questions. `gutenberg` picks how many of the 4 Gutenberg shards (25 MB each).
 */
import { shared } from './shared-data.js';

export function e2eRecipe(out: string, options: { gutenberg?: number; shardRows?: number } = {}): string {
  const n = options.gutenberg ?? 4;
  const guten = Array.from({ length: n }, (_, i) =>
    shared('real_text', 'gutenberg', `gutenberg-0000${i}-of-00004.jsonl`),
  );
  return `name: e2e-ranks
seed: 7
tokenizer: cl100k_base
target: { ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: gutenberg, kind: real, paths: [${guten.join(', ')}], text: text }
  - name: alpaca-eval
    kind: synthetic
    generator: AlpacaEval models
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
    columns: [dataset]
    max_epochs: 2
quality:
  - gopher_quality: {}
  - gopher_repetition: {}
  - c4: { mode: clean }
  - fineweb: { applies_to: synthetic }
dedup:
  exact: {}
  near: { threshold: 0.7 }
  decontaminate:
    - { name: gsm8k_test, paths: [${shared('decontam', 'gsm8k_test.jsonl')}], text: question }
output: { dir: ${out}, format: parquet, compression: zstd, shard_rows: ${options.shardRows ?? 500}, write_rejected: true }
report: false
`;
}

/** A manifest without what may differ between runs of the same recipe: timings, times, job and reuse records, where the output went. */
export function comparableManifest(m: Record<string, unknown>): Record<string, unknown> {
  type Obj = Record<string, unknown>;
  const c = structuredClone(m) as Obj;
  const recipe = c.recipe as Obj;
  for (const k of ['timings', 'started_at', 'finished_at', 'work']) delete c[k];
  delete recipe.hash;
  delete recipe.file;
  delete ((recipe.resolved as Obj).output as Obj).dir;
  delete (c.output as Obj).dir;
  return c;
}
