// Tokenizer throughput on real 2 KB-ish English documents (Dolly rows), against js-tiktoken
// measured in the same run; counts must be identical. Run: npm run bench -w @curate/core
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getEncoding } from 'js-tiktoken';
import { loadTokenizer } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const shared = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
let docs;
try {
  docs = readFileSync(join(shared, 'instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map((r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`);
} catch {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
// Concatenate rows into ~2 KB documents.
const texts = [];
let cur = '';
for (const d of docs) {
  cur += `${d}\n\n`;
  if (cur.length >= 2048) {
    texts.push(cur);
    cur = '';
  }
}
const sample = texts.slice(0, 2500);
const mb = sample.reduce((a, t) => a + Buffer.byteLength(t), 0) / 1e6;

function time(fn) {
  const t0 = performance.now();
  const n = fn();
  return { s: (performance.now() - t0) / 1000, n };
}

const rows = [];
for (const name of ['cl100k_base', 'o200k_base']) {
  const ours = await loadTokenizer(name);
  const ref = getEncoding(name);
  ours.count('warm up');
  ref.encode('warm up');
  const base = time(() => sample.reduce((a, t) => a + ref.encode(t, [], []).length, 0));
  const mine = time(() => sample.reduce((a, t) => a + ours.count(t), 0));
  if (base.n !== mine.n) throw new Error(`${name}: counts differ (${mine.n} vs js-tiktoken ${base.n})`);
  rows.push([name, 'js-tiktoken (baseline)', base.s, mb / base.s, 1]);
  rows.push([name, 'gpt-tokenizer (curate)', mine.s, mb / mine.s, base.s / mine.s]);
}
for (const name of ['words', 'bytes']) {
  const t = await loadTokenizer(name);
  const r = time(() => sample.reduce((a, x) => a + t.count(x), 0));
  rows.push([name, 'curate', r.s, mb / r.s, null]);
}
console.log(`tokenizers on ${sample.length} documents, ${mb.toFixed(1)} MB (counts identical to js-tiktoken)`);
console.log('encoding      library                  seconds    MB/s  vs baseline');
for (const [e, l, s, r, x] of rows) {
  console.log(
    `${e.padEnd(13)} ${l.padEnd(24)} ${s.toFixed(2).padStart(7)} ${r.toFixed(1).padStart(7)}  ${x === null ? '' : `${x.toFixed(2)}x`}`,
  );
}
