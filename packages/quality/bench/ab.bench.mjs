// A/B speed of the English path: this build (dist/) against another build of @curate/quality
// (BASE=/path/to/quality/dist, e.g. the parent commit built elsewhere), interleaved, best of 5 (CPU time),
// on one Gutenberg shard. Prints new/old time ratios per filter and for the default chain.
// Usage: BASE=/tmp/qbase/packages/quality/dist node bench/ab.bench.mjs
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SHARED = process.env.CURATE_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const texts = readFileSync(join(SHARED, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).text);
const MB = texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
const A = await import(join(import.meta.dirname, '..', 'dist', 'index.js'));
const B = await import(join(process.env.BASE, 'index.js'));
const run = (mod, names) => {
  const chain = new mod.FilterChain(names.map((n) => mod.createFilter(n)));
  // CPU time of this thread, not wall time: the shared machine's load moves wall time by 2x
  const t0 = process.cpuUsage();
  let kept = 0;
  for (const t of texts) if (chain.run(t, 's', 'real', {}, 0) === null) kept++;
  const d = process.cpuUsage(t0);
  return [(d.user + d.system) / 1e6, kept];
};
const cases = [
  ['gopher_quality'],
  ['gopher_repetition'],
  ['c4'],
  ['fineweb'],
  ['gopher_quality', 'gopher_repetition', 'c4', 'fineweb'],
];
// ROUNDS paired rounds (default 9), the order alternating: best of each side and the median of the
// per-round ratios (a single pair of 0.1 s runs moves by 30% on this VM even when it is idle)
const rounds = Number(process.env.ROUNDS ?? 9);
for (const names of cases) {
  let a = Infinity;
  let b = Infinity;
  let ka;
  let kb;
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    let x;
    let y;
    if (r % 2 === 0) {
      x = run(A, names);
      y = run(B, names);
    } else {
      y = run(B, names);
      x = run(A, names);
    }
    a = Math.min(a, x[0]);
    b = Math.min(b, y[0]);
    ratios.push(x[0] / y[0]);
    ka = x[1];
    kb = y[1];
  }
  ratios.sort((p, q) => p - q);
  console.log(
    `${names.join('+').padEnd(52)} new ${(MB / a).toFixed(1)} MB/s, old ${(MB / b).toFixed(1)} MB/s, new/old time best ${(a / b).toFixed(3)}, median of ${rounds} pairs ${ratios[rounds >> 1].toFixed(3)}, kept ${ka} vs ${kb}`,
  );
}
