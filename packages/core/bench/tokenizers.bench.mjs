// Tokenizer throughput on real 2 KB-ish English documents (Dolly rows), against js-tiktoken
// measured in the same run; counts must be identical. Run: npm run bench -w @curate/core
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTokens as cl100kCount } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200kCount } from 'gpt-tokenizer/encoding/o200k_base';
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
  // gpt-tokenizer's own countTokens (what curate called before its memoised counter), special tokens as text
  const plain = { disallowedSpecial: new Set(), allowedSpecial: new Set() };
  const gptCount = name === 'cl100k_base' ? cl100kCount : o200kCount;
  const gpt = time(() => sample.reduce((a, t) => a + gptCount(t, plain), 0));
  if (gpt.n !== mine.n) throw new Error(`${name}: counts differ (${mine.n} vs gpt-tokenizer ${gpt.n})`);
  rows.push([name, 'js-tiktoken (baseline)', base.s, mb / base.s, 1]);
  rows.push([name, 'gpt-tokenizer countTokens', gpt.s, mb / gpt.s, base.s / gpt.s]);
  rows.push([name, 'curate (memo + scanner)', mine.s, mb / mine.s, base.s / mine.s]);
}
// Long documents: one Gutenberg shard (whole books), gpt-tokenizer's countTokens vs curate's counter
const books = readFileSync(join(shared, 'real_text', 'gutenberg', 'gutenberg-00001-of-00004.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).text);
const booksMb = books.reduce((a, t) => a + Buffer.byteLength(t), 0) / 1e6;
for (const name of ['cl100k_base', 'o200k_base']) {
  const ours = await loadTokenizer(name);
  const plain = { disallowedSpecial: new Set(), allowedSpecial: new Set() };
  const gptCount = name === 'cl100k_base' ? cl100kCount : o200kCount;
  const gpt = time(() => books.reduce((a, t) => a + gptCount(t, plain), 0));
  const mine = time(() => books.reduce((a, t) => a + ours.count(t), 0));
  if (gpt.n !== mine.n) throw new Error(`${name}: counts differ on books (${mine.n} vs ${gpt.n})`);
  rows.push([`${name}*`, 'gpt-tokenizer countTokens', gpt.s, booksMb / gpt.s, 1]);
  rows.push([`${name}*`, 'curate (memo + scanner)', mine.s, booksMb / mine.s, gpt.s / mine.s]);
}
for (const name of ['words', 'bytes']) {
  const t = await loadTokenizer(name);
  const r = time(() => sample.reduce((a, x) => a + t.count(x), 0));
  rows.push([name, 'curate', r.s, mb / r.s, null]);
}
console.log(`tokenizers on ${sample.length} documents, ${mb.toFixed(1)} MB (counts identical to js-tiktoken)`);
console.log(`* ${books.length} Gutenberg books, ${booksMb.toFixed(1)} MB (baseline: gpt-tokenizer countTokens)`);
console.log('encoding      library                  seconds    MB/s  vs baseline');
for (const [e, l, s, r, x] of rows) {
  console.log(
    `${e.padEnd(13)} ${l.padEnd(24)} ${s.toFixed(2).padStart(7)} ${r.toFixed(1).padStart(7)}  ${x === null ? '' : `${x.toFixed(2)}x`}`,
  );
}
