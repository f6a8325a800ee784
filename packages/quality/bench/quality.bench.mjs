// Throughput of each default filter and of the full default chain on the Gutenberg books,
// with a baseline measured in the same run (a plain `text.split(/\s+/)` word count).
// Usage: npm run bench [-- --files 1] (runs against dist/)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFilter, FILTER_DEFAULTS, FilterChain, QualitySignalMeter } from '../dist/index.js';

const SHARED = process.env.CURATE_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const argFiles = process.argv.indexOf('--files');
const nFiles = argFiles > 0 ? Number(process.argv[argFiles + 1]) : 1;
const texts = [];
for (let i = 0; i < nFiles; i++) {
  const p = join(SHARED, 'real_text', 'gutenberg', `gutenberg-0000${i}-of-00004.jsonl`);
  for (const line of readFileSync(p, 'utf8').split('\n')) if (line) texts.push(JSON.parse(line).text);
}
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const MB = bytes / 1e6;

function time(fn, reps = 3) {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}

let sink = 0;
const baseline = time(() => {
  for (const t of texts) sink += t.split(/\s+/).length;
});

const names = process.env.FILTERS
  ? process.env.FILTERS.split(',')
  : ['gopher_quality', 'gopher_repetition', 'c4', 'fineweb', 'length', 'blocklist', 'language'].filter(
      (n) => n in FILTER_DEFAULTS,
    );
const rows = [['baseline split(/\\s+/)', baseline, texts.length]];
for (const name of names) {
  const params = name === 'blocklist' ? { words: ['viagra', 'casino'], phrases: ['click here'] } : undefined;
  const chain = new FilterChain([createFilter(name, params)]);
  await chain.prepare();
  let kept = 0;
  const s = time(() => {
    kept = 0;
    for (const t of texts) if (chain.run(t, 'gutenberg', 'real') === null) kept++;
  });
  rows.push([name, s, kept]);
}
for (const [label, c4mode] of [
  ['chain, c4 filter mode', 'filter'],
  ['full default chain (c4 clean)', 'clean'],
]) {
  const chain = new FilterChain(
    names
      .filter((n) => n !== 'blocklist')
      .map((n) => (n === 'c4' ? createFilter('c4', { mode: c4mode }) : createFilter(n))),
  );
  await chain.prepare();
  let kept = 0;
  const s = time(() => {
    kept = 0;
    for (const t of texts) if (chain.run(t, 'gutenberg', 'real') === null) kept++;
  });
  rows.push([label, s, kept]);
}

{
  // the signals the report plots (no judging): the cost of measuring one sampled row
  const meter = new QualitySignalMeter();
  const s = time(() => {
    for (const t of texts) sink += meter.measure(t).word_count;
  });
  rows.push(['qualitySignals (all 11)', s, texts.length]);
}

console.log(`corpus: ${texts.length} Gutenberg books, ${MB.toFixed(1)} MB (best of 3 runs, 1 core)`);
console.log(`${'step'.padEnd(24)} ${'MB/s'.padStart(8)} ${'x baseline'.padStart(10)} ${'kept'.padStart(6)}`);
for (const [name, sec, k] of rows) {
  const mbs = MB / sec;
  console.log(
    `${name.padEnd(24)} ${mbs.toFixed(1).padStart(8)} ${(baseline / sec).toFixed(2).padStart(10)} ${String(k).padStart(6)}`,
  );
}
if (sink < 0) console.log(sink);
