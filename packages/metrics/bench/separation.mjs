// Regenerates the separation table of README.md: human vs machine instruction data.
//   node bench/separation.mjs            prints the table (markdown) and the warnings
//   node bench/separation.mjs --json     prints every result as JSON
// Reads /work/shared/data (or CURATE_SHARED_DATA) in place; needs `npm run build` first.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CorpusMetrics, compareToReal, diversityWarnings } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = process.env.CURATE_SHARED_DATA ?? resolve(here, '..', '..', '..', '..', 'shared', 'data');
const ip = (f) => join(DATA, 'instruct_pair', f);
const jsonl = (f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

/** The groups, each a list of texts (responses only: the prompts are shared or human-written). */
export function loadGroups() {
  return {
    'dolly (human)': jsonl(ip('human_dolly15k.jsonl')).map((r) => r.response),
    'lima (human)': JSON.parse(readFileSync(ip('human_lima.json'), 'utf8')).map((r) => r.output),
    'alpaca-libre gpt-3.5 (machine)': jsonl(ip('synthetic_alpaca_libre_gpt35.jsonl'))
      .filter((r) => r.status === 'ok')
      .map((r) => r.output),
    'alpaca-eval 9 models (machine)': jsonl(ip('synthetic_alpaca_eval_outputs.jsonl')).map((r) => r.output),
    'self-instruct experts (human)': jsonl(ip('human_selfinstruct_user_oriented_252.jsonl')).flatMap((r) =>
      r.instances.map((i) => i.output),
    ),
    'davinci same prompts (machine)': jsonl(ip('synthetic_selfinstruct_davinci_predictions.jsonl')).map(
      (r) => r.response,
    ),
    'text-davinci-003 same prompts (machine)': jsonl(
      ip('synthetic_selfinstruct_text-davinci-003_predictions.jsonl'),
    ).map((r) => r.response),
  };
}

/** Which real pool each group is compared with. */
export const PAIRS = {
  'lima (human)': 'dolly (human)',
  'alpaca-libre gpt-3.5 (machine)': 'dolly (human)',
  'alpaca-eval 9 models (machine)': 'dolly (human)',
  'davinci same prompts (machine)': 'self-instruct experts (human)',
  'text-davinci-003 same prompts (machine)': 'self-instruct experts (human)',
};

export function measure(texts, options = { seed: 1 }) {
  const m = new CorpusMetrics(options);
  for (const t of texts) m.add(t);
  return m.result();
}

const f = (x, d = 3) => x.toFixed(d);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const groups = loadGroups();
  const results = Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, measure(v)]));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results, (k, v) => (k === 'unigram' || k === 'histogram' ? undefined : v), 2));
  } else {
    console.log(
      '| group | docs | words | len p50 | sample | distinct-1 | distinct-2 | distinct-3 | MATTR | hapax | deflate | top-100 3-grams |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [k, r] of Object.entries(results)) {
      console.log(
        `| ${k} | ${r.documents} | ${r.words} | ${f(r.length.p50, 0)} | ${r.sampleTokens} | ${f(r.distinct[1])} | ${f(r.distinct[2])} | ${f(r.distinct[3])} | ${f(r.mattr)} | ${f(r.hapaxShare)} | ${f(r.compressionRatio, 2)} | ${f(r.topNgramConcentration)} |`,
      );
    }
    console.log('\nAgainst the real pool, at equal sample size:\n');
    console.log(
      '| group | vs | at words | distinct-2 ratio | deflate ratio | hapax ratio | MATTR ratio | top-3g ratio | JSD | length W1 (octaves) | warnings |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const [g, real] of Object.entries(PAIRS)) {
      const c = compareToReal({ [g]: results[g] }, results[real])[g];
      const w = diversityWarnings({ comparisons: { [g]: c } }).map((x) => x.code.replace(/^W_/, ''));
      console.log(
        `| ${g} | ${real} | ${c.atTokens} | ${f(c.distinctRatio, 2)} | ${f(c.compressionRatio, 2)} | ${f(c.hapaxRatio, 2)} | ${f(c.mattrRatio, 2)} | ${f(c.topNgramRatio, 2)} | ${f(c.jsd)} | ${f(c.lengthDistance, 2)} | ${w.join(', ') || '-'} |`,
      );
    }
  }
}
