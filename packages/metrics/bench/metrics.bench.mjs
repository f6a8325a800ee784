// Throughput of CorpusMetrics.add over Project Gutenberg text, against baselines
// measured in the same run (the machine is shared and noisy: read the ratios).
//   node bench/metrics.bench.mjs [MB]     (default 24 MB of text; needs `npm run build`)
import { createReadStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '@curate/core';
import { CorpusMetrics } from '../dist/index.js';
import { scanWords, WordBuffer } from '../dist/words.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = process.env.CURATE_SHARED_DATA ?? resolve(here, '..', '..', '..', '..', 'shared', 'data');
const limitMB = Number(process.argv[2] ?? 24);

/** Gutenberg books cut into ~2 KB documents at paragraph breaks (a typical training document). */
async function loadDocs() {
  const docs = [];
  let bytes = 0;
  for (let shard = 0; shard < 4 && bytes < limitMB * 1e6; shard++) {
    const file = join(DATA, 'real_text', 'gutenberg', `gutenberg-0000${shard}-of-00004.jsonl`);
    const rl = createInterface({ input: createReadStream(file) });
    for await (const line of rl) {
      const { text } = JSON.parse(line);
      let cur = '';
      for (const para of text.split(/\n\s*\n/)) {
        cur = cur ? `${cur}\n\n${para}` : para;
        if (cur.length >= 2000) {
          cur = Buffer.from(cur).toString(); // a flat string, as a reader would produce
          docs.push(cur);
          bytes += Buffer.byteLength(cur);
          cur = '';
        }
      }
      if (cur) {
        cur = Buffer.from(cur).toString();
        docs.push(cur);
        bytes += Buffer.byteLength(cur);
      }
      if (bytes >= limitMB * 1e6) {
        rl.close();
        break;
      }
    }
  }
  return { docs, bytes };
}

function time(fn, reps = 3) {
  let best = Number.POSITIVE_INFINITY;
  let out;
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    out = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return { s: best, out };
}

const { docs, bytes } = await loadDocs();
const words = await loadTokenizer('words');
const cl100k = await loadTokenizer('cl100k_base');
const WORD_RE = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;

// Passes are registered first and then timed round-robin (3 rounds, best kept), so load
// from other processes hits every pass alike.
const rows = [];
const run = (name, fn, subset = docs) => {
  const b = subset === docs ? bytes : subset.reduce((s, d) => s + Buffer.byteLength(d), 0);
  rows.push({ name, fn, subset, bytes: b, s: Number.POSITIVE_INFINITY, mbps: 0 });
};

run('baseline: split(/\\s+/) word count', (ds) => {
  let n = 0;
  for (const d of ds) n += d.split(/\s+/).length;
  return n;
});
run('baseline: lower-case + Unicode word regex', (ds) => {
  let n = 0;
  for (const d of ds) n += (d.toLowerCase().match(WORD_RE) ?? []).length;
  return n;
});
run("core 'words' tokenizer count", (ds) => {
  let n = 0;
  for (const d of ds) n += words.count(d);
  return n;
});
const buf = new WordBuffer();
run('metrics word scanner only (hashes)', (ds) => {
  let n = 0;
  for (const d of ds) n += scanWords(d, buf);
  return n;
});
let acc;
run('CorpusMetrics.add (all metrics)', (ds) => {
  acc = new CorpusMetrics({ seed: 1 });
  for (const d of ds) acc.add(d);
  return acc;
});
const sub = docs.slice(0, Math.ceil(docs.length / 8));
run(
  'cl100k_base token count (1/8 of docs, 1 rep)',
  (ds) => {
    let n = 0;
    for (const d of ds) n += cl100k.count(d);
    return n;
  },
  sub,
);

for (let round = 0; round < 3; round++) {
  for (const r of rows) {
    if (round > 0 && r.subset !== docs) continue;
    const { s } = time(() => r.fn(r.subset), 1);
    r.s = Math.min(r.s, s);
    r.mbps = r.bytes / 1e6 / r.s;
  }
}
const base = rows[1].mbps;
const add = rows[4].mbps;
console.log(`${docs.length} documents, ${(bytes / 1e6).toFixed(1)} MB UTF-8 (Gutenberg, ~2 KB documents), best of 3\n`);
console.log('| pass | MB/s | x regex baseline |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.mbps.toFixed(1)} | ${(r.mbps / base).toFixed(2)} |`);
const t = time(() => acc.result(), 3);
console.log(
  `\nresult(): ${(t.s * 1000).toFixed(0)} ms (sample ${t.out.sampleTokens} words); accumulator memory ~${(acc.memoryBytes() / 1024 / 1024).toFixed(2)} MiB`,
);
const tok = rows[5].mbps;
console.log(
  `cost added to a pass that counts cl100k tokens: 1/${add.toFixed(1)} vs 1/${tok.toFixed(1)} s per MB = +${((tok / add) * 100).toFixed(0)}%`,
);
