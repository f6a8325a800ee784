// Sampler and shuffle throughput on synthetic selections, against baselines measured in the same run.
// Run after `npm run build`: node bench/mix.bench.mjs
import { Rng } from '@curate/core';
import { planMix, sampleSource, shuffleOrder } from '../dist/index.js';

const N = Number(process.env.MIX_BENCH_ROWS ?? 2_000_000);

function time(fn) {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
}
function heapMB() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20 + process.memoryUsage().arrayBuffers / 2 ** 20;
}

const tpr = new Uint32Array(N);
const r0 = new Rng(1);
let total = 0;
for (let i = 0; i < N; i++) total += tpr[i] = 20 + r0.int(2000);
const plan = planMix([{ name: 'a', kind: 'real', rows: N, tokens: total, maxEpochs: 3 }], {
  unit: 'tokens',
  budget: Math.floor(total * 2.5),
});

const rows = [];
// Baseline: a full Fisher-Yates permutation of N row indices (what any random subset costs at most).
const base = time(() => new Rng(2).shuffle(Array.from({ length: N }, (_, i) => i)));
rows.push(['baseline: Rng.shuffle of N indices (JS array)', base.ms, N, 1]);
const s = time(() => sampleSource(plan.quotas[0], tpr, new Rng(2)));
rows.push(['sampleSource tokens, 2.5 epochs', s.ms, s.out.documents, s.out.documents / s.ms / (N / base.ms)]);
const sel = s.out;

// Baseline for the shuffle: an array of {source,row,epoch} objects shuffled with Rng.shuffle.
const objs = time(() => {
  const a = new Array(sel.documents);
  for (let i = 0; i < sel.documents; i++) a[i] = { source: 0, row: sel.rows[i], epoch: sel.epochs[i] };
  return new Rng(3).shuffle(a);
});
rows.push(['baseline: shuffle of {source,row,epoch} objects', objs.ms, sel.documents, 1]);
const drain = (order) => {
  let n = 0;
  for (const c of order) n += c.length;
  return n;
};
const mem = time(() => drain(shuffleOrder([sel], new Rng(3))));
rows.push(['shuffleOrder in memory (typed arrays)', mem.ms, mem.out, objs.ms / mem.ms]);
const bounded = time(() => drain(shuffleOrder([sel], new Rng(3), { memoryRows: Math.ceil(sel.documents / 4) })));
rows.push(['shuffleOrder bounded, 8 buckets', bounded.ms, bounded.out, objs.ms / bounded.ms]);

console.log(`rows per source: ${N.toLocaleString()}  (heap+buffers now ${heapMB().toFixed(0)} MB)`);
console.log('| step | ms | rows out | Mrows/s | throughput vs baseline |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, ms, n, ratio] of rows) {
  console.log(
    `| ${name} | ${ms.toFixed(0)} | ${n.toLocaleString()} | ${(n / ms / 1000).toFixed(1)} | ${ratio.toFixed(2)}x |`,
  );
}
