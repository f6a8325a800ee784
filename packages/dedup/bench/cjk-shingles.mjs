// Words (ICU) or characters for CJK and Thai shingles? Planted near-duplicates from
// ../shared/data/multilingual: Jaccard per edit rate (mean, spread), LSH recall at J >= t + 0.07,
// false removals at J <= t - 0.2, and text-to-signature speed. `node bench/cjk-shingles.mjs`
import { readFileSync } from 'node:fs';
import { Rng } from '@curate/core';
import { MinHasher, NearDedupIndex } from '../dist/index.js';

const ML = new URL('../../../../shared/data/multilingual/', import.meta.url);
const FILES = {
  zh: ['zh_cmrc2018_dev.jsonl', 'zh_drcd.jsonl'],
  ja: ['ja_jaquad_dev.jsonl', 'ja_jsquad_valid.jsonl'],
  ko: ['ko_wikinews.jsonl', 'ko_book_review01.jsonl', 'ko_book_review02.jsonl'],
  th: ['th_thaigov_2021_06.jsonl', 'th_wisesight_neg.jsonl'],
};
const load = (f) =>
  readFileSync(new URL(f, ML), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).text);

/** Character edits at `rate`: substitute (a character of the same text), delete or insert. */
export function editChars(t, rate, rng) {
  const cs = Array.from(t);
  const out = [];
  for (const c of cs) {
    if (rng.float() >= rate) {
      out.push(c);
      continue;
    }
    const k = rng.int(3);
    const other = cs[rng.int(cs.length)];
    if (k === 0) out.push(other);
    else if (k === 2) out.push(c, other);
  }
  return out.join('');
}

const jac = (mh, a, b) => {
  const s = (t) => {
    const x = mh.shingleHashes(t);
    return new Set(x.hashes.subarray(0, x.count));
  };
  const A = s(a),
    B = s(b);
  let i = 0;
  for (const x of A) if (B.has(x)) i++;
  return i / (A.size + B.size - i);
};

const kinds = { 'ICU word 5': { shingle: 'word', cjk: 'word', ngram: 5 }, 'char 5 (default)': { ngram: 5 } };
for (const [lang, files] of Object.entries(FILES)) {
  const docs = files
    .flatMap(load)
    .filter((t) => Array.from(t).length >= 200)
    .slice(0, 1200);
  const bytes = docs.reduce((a, t) => a + Buffer.byteLength(t), 0);
  for (const [name, o] of Object.entries(kinds)) {
    const mh = new MinHasher(o);
    const rng = new Rng(7);
    const byRate = {};
    const pairs = [];
    const idx = new NearDedupIndex({ threshold: 0.8 });
    let di = 0;
    for (const t of docs) {
      const u = rng.float();
      const rate = u < 0.4 ? rng.float() * 0.01 : u < 0.6 ? 0.01 + rng.float() * 0.03 : 0.04 + rng.float() * 0.1;
      const copy = editChars(t, rate, rng);
      const j = jac(mh, t, copy);
      const a = di++,
        b = di++;
      idx.add(a, mh.signature(t), { id: `o${a}` });
      idx.add(b, mh.signature(copy), { id: `c${b}` });
      pairs.push({ j, b });
      for (const r of [0.01, 0.03]) (byRate[r] ??= []).push(jac(mh, t, editChars(t, r, rng)));
    }
    const res = idx.resolve();
    const hi = pairs.filter((p) => p.j >= 0.87),
      lo = pairs.filter((p) => p.j <= 0.6);
    const recall = hi.filter((p) => res.removed.get(p.b)?.keptIndex === p.b - 1).length / hi.length;
    const fr = lo.filter((p) => res.removed.has(p.b)).length / lo.length;
    // unrelated documents: other texts of the same language removed as duplicates of each other
    const unrelated = [...res.removed.keys()].filter((k) => res.removed.get(k).keptIndex !== k - 1).length;
    const t0 = performance.now();
    for (const t of docs) mh.signature(t);
    const mbs = bytes / 1e6 / ((performance.now() - t0) / 1000);
    const stat = (xs) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
      return `${m.toFixed(3)}±${sd.toFixed(3)}`;
    };
    console.log(
      `${lang} ${name}: docs ${docs.length} | J@1% ${stat(byRate[0.01])} J@3% ${stat(byRate[0.03])} | recall(J>=.87) ${recall.toFixed(3)} n=${hi.length} | false(J<=.6) ${fr.toFixed(4)} n=${lo.length} | unrelated removed ${unrelated} | ${mbs.toFixed(1)} MB/s`,
    );
  }
}
