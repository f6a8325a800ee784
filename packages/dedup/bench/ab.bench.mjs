// A/B speed of the string path (NFKC + words + MinHash signature + exact key) of this build against another build
// of @curate/dedup (BASE=/path/to/dedup/dist), CPU time, best of 5. Usage: BASE=... node bench/ab.bench.mjs
const SHARED = process.env.CURATE_SHARED_DATA ?? new URL('../../../../shared/data', import.meta.url).pathname;

import fs from 'node:fs';

const A = await import(new URL('../dist/index.js', import.meta.url).href);
const B = await import(`${process.env.BASE}/index.js`);
const dolly = fs
  .readFileSync(`${SHARED}/instruct_pair/human_dolly15k.jsonl`, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const r = JSON.parse(l);
    return `${r.instruction}\n\n${r.context}\n\n${r.response}`;
  });
const books = fs
  .readFileSync(`${SHARED}/real_text/gutenberg/gutenberg-00000-of-00004.jsonl`, 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, 10)
  .map((l) => JSON.parse(l).text);
for (const [name, texts] of [
  ['dolly (15k rows)', dolly],
  ['10 books', books],
]) {
  const MB = texts.reduce((n, t) => n + t.length, 0) / 1e6;
  const run = (M) => {
    const mh = new M.MinHasher();
    const t0 = process.cpuUsage();
    let s = 0; // kept live so the work is not optimised away
    for (const t of texts) {
      const sig = mh.signature(t);
      s += sig ? sig[0] : 0;
      s += M.exactKey(t).length;
    }
    const d = process.cpuUsage(t0);
    if (s === 0.5) console.log(s);
    return (d.user + d.system) / 1e6;
  };
  let a = Infinity,
    b = Infinity;
  for (let r = 0; r < 5; r++) {
    a = Math.min(a, run(A));
    b = Math.min(b, run(B));
  }
  console.log(
    `${name}: signature + exact key, new ${(MB / a).toFixed(1)} Mch/s, old ${(MB / b).toFixed(1)} Mch/s, new/old time ${(a / b).toFixed(3)}`,
  );
}
