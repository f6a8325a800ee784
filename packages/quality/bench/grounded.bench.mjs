// Throughput of the grounded filter on Dolly rows with a context (response judged against
// context + instruction), with a baseline measured in the same run (a plain `split(/\s+/)`
// word count of the same three columns). Usage: npm run bench:grounded (runs against dist/)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFilter, FilterChain } from '../dist/index.js';

const SHARED = process.env.CURATE_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const rows = readFileSync(join(SHARED, 'instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .filter((r) => r.context.trim());
const MB = rows.reduce((n, r) => n + Buffer.byteLength(r.response + r.context + r.instruction), 0) / 1e6;

function time(fn, reps = 5) {
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
  for (const r of rows)
    sink += r.response.split(/\s+/).length + r.context.split(/\s+/).length + r.instruction.split(/\s+/).length;
});
const chain = new FilterChain([createFilter('grounded', { context: 'context', prompt: 'instruction' })]);
let kept = 0;
const grounded = time(() => {
  kept = 0;
  for (const r of rows) {
    const cols = { context: [r.context], instruction: [r.instruction] };
    if (chain.run(r.response, 'dolly', 'synthetic', cols, 0) === null) kept++;
  }
});
console.log(`corpus: ${rows.length} Dolly rows with a context, ${MB.toFixed(1)} MB (best of 5 runs, 1 core)`);
console.log(`${'step'.padEnd(24)} ${'MB/s'.padStart(8)} ${'x baseline'.padStart(10)} ${'kept'.padStart(6)}`);
for (const [name, sec, k] of [
  ['baseline split(/\\s+/)', baseline, rows.length],
  ['grounded', grounded, kept],
]) {
  console.log(
    `${name.padEnd(24)} ${(MB / sec).toFixed(1).padStart(8)} ${(baseline / sec).toFixed(3).padStart(10)} ${String(k).padStart(6)}`,
  );
}
if (sink < 0) console.log(sink);
