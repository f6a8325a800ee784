import { Rng } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import {
  estimateJaccard,
  LSHIndex,
  lshProbability,
  MinHasher,
  NearDedupIndex,
  optimalBands,
  type Signature,
} from '../src/index.js';
import { bookChunks, editWords, jaccard, readJsonlSync } from './helpers.js';

describe('band choice', () => {
  it('minimises weighted FP/FN area: equal weights reproduce datasketch, the default favours recall', () => {
    expect(optimalBands(0.8, 128, { falsePositive: 0.5, falseNegative: 0.5 })).toMatchObject({ bands: 9, rows: 13 });
    const d = optimalBands(0.8, 128);
    expect([d.bands, d.rows]).toEqual([16, 8]);
    expect(lshProbability(0.87, d.bands, d.rows)).toBeGreaterThan(0.99);
    expect(lshProbability(0.5, d.bands, d.rows)).toBeLessThan(0.1);
  });

  it('chooses what the direct power form chooses (trapezoid areas of 1 - (1 - s^r)^b) on a grid of thresholds', () => {
    // reference: the criterion written out with powers, b-major, ties to the first
    const reference = (t: number, k: number, wfp: number, wfn: number) => {
      const steps = 400;
      const area = (a: number, z: number, f: (s: number) => number) => {
        const h = (z - a) / steps;
        let sum = (f(a) + f(z)) / 2;
        for (let i = 1; i < steps; i++) sum += f(a + i * h);
        return sum * h;
      };
      let best = [0, 0];
      let bestErr = Number.POSITIVE_INFINITY;
      for (let b = 1; b <= k; b++)
        for (let r = 1; r <= Math.floor(k / b); r++) {
          const fp = area(0, t, (s) => lshProbability(s, b, r));
          const fn = area(t, 1, (s) => 1 - lshProbability(s, b, r));
          const err = wfp * fp + wfn * fn;
          if (err < bestErr - 1e-15) {
            bestErr = err;
            best = [b, r];
          }
        }
      return best;
    };
    for (const k of [32, 128, 200])
      for (let t = 0.5; t < 0.96; t += 0.05)
        for (const [wfp, wfn] of [
          [0.05, 0.95],
          [0.5, 0.5],
        ]) {
          const c = optimalBands(t, k, { falsePositive: wfp, falseNegative: wfn });
          expect([c.bands, c.rows], `t=${t.toFixed(2)} k=${k} w=${wfp}`).toEqual(reference(t, k, wfp, wfn));
        }
  });
});

describe('MinHasher', () => {
  const mh = new MinHasher();
  it('has no signature for text without words, one shingle for text shorter than n words', () => {
    expect(mh.signature('')).toBeNull();
    expect(mh.signature('  ... !!! ')).toBeNull();
    const a = mh.signature('Hello, world') as Signature;
    expect(a).not.toBeNull();
    expect(estimateJaccard(a, mh.signature('hello WORLD!') as Signature)).toBe(1);
    expect(estimateJaccard(a, mh.signature('hello there') as Signature)).toBeLessThan(0.2);
  });
  it('is deterministic across instances and depends on the seed', () => {
    const t = 'the quick brown fox jumps over the lazy dog and runs far away from here';
    expect(Array.from(new MinHasher().signature(t) as Signature)).toEqual(Array.from(mh.signature(t) as Signature));
    expect(Array.from(new MinHasher({ seed: 2 }).signature(t) as Signature)).not.toEqual(
      Array.from(mh.signature(t) as Signature),
    );
  });
  it('char shingles see small spelling changes that word shingles miss', () => {
    const c = new MinHasher({ shingle: 'char', ngram: 5 });
    const x = 'the colour of the harbour was grey in the morning light';
    const y = 'the color of the harbor was gray in the morning light';
    const jc = estimateJaccard(c.signature(x) as Signature, c.signature(y) as Signature);
    const jw = estimateJaccard(mh.signature(x) as Signature, mh.signature(y) as Signature);
    expect(jc).toBeGreaterThan(jw);
  });
});

describe('LSHIndex', () => {
  it('queries documents that were never inserted and verifies candidates', () => {
    const mh = new MinHasher();
    const idx = new LSHIndex<string>({ threshold: 0.8 });
    const base = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    idx.insert('a', mh.signature(base) as Signature);
    idx.insert('b', mh.signature('something else entirely with many other words in it ok') as Signature);
    const q = mh.signature(`${base} extra`) as Signature;
    expect(idx.query(q)).toContain('a');
    expect(idx.queryVerified(q).map((x) => x.id)).toEqual(['a']);
    expect(idx.query(mh.signature('nothing like the others at all, truly') as Signature)).toEqual([]);
  });
});

describe('NearDedupIndex keep rule', () => {
  const mh = new MinHasher();
  const text = Array.from({ length: 80 }, (_, i) => `w${i % 37}x${i}`).join(' ');
  const sig = mh.signature(text) as Signature;
  it('keeps real over synthetic, then higher score, then first in order; independent of add order', () => {
    const docs = [
      { i: 10, id: 's1', kind: 'synthetic' as const, score: 9 },
      { i: 20, id: 'r1', kind: 'real' as const, score: 1 },
      { i: 30, id: 'r2', kind: 'real' as const, score: 5 },
      { i: 40, id: 'r3', kind: 'real' as const, score: 5 },
    ];
    for (const order of [docs, [...docs].reverse()]) {
      const idx = new NearDedupIndex();
      for (const d of order) idx.add(d.i, sig, { id: d.id, kind: d.kind, score: d.score });
      const r = idx.resolve();
      expect(r.clusters).toBe(1);
      expect([...r.removed.keys()].sort()).toEqual([10, 20, 40]);
      expect(r.removed.get(10)).toEqual({ cluster: 0, keptIndex: 30, keptId: 'r2' });
    }
    const none = new NearDedupIndex({ prefer: 'none' });
    for (const d of docs) none.add(d.i, sig, { id: d.id, kind: d.kind });
    expect(none.resolve().removed.get(20)?.keptId).toBe('s1');
  });
});

const books = HAS_SHARED
  ? (readJsonlSync(shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl')) as { text: string }[])
  : [];

describe.skipIf(!HAS_SHARED).each(['oph', 'classic'] as const)(
  'planted near-duplicates in real text, %s kernel',
  (algorithm) => {
    const base = bookChunks(books, 25, 350); // ~2 KB documents
    const rng = new Rng(2024);
    const vocab = base.slice(0, 40).join(' ').split(' ');
    const mh = new MinHasher({ algorithm });
    const shingleSet = (t: string) => {
      const s = mh.shingleHashes(t);
      return new Set(Array.from(s.hashes.subarray(0, s.count)));
    };
    const idx = new NearDedupIndex({ threshold: 0.8 });
    const pairs: { j: number; est: number; copy: number }[] = [];
    let di = 0;
    for (const t of base) {
      // rates chosen so that many pairs fall on each side of the threshold
      const u = rng.float();
      const rate = u < 0.4 ? rng.float() * 0.016 : u < 0.6 ? 0.016 + rng.float() * 0.04 : 0.056 + rng.float() * 0.1;
      const copy = editWords(t, rate, rng, vocab);
      const sa = mh.signature(t) as Signature;
      const sb = mh.signature(copy) as Signature;
      const a = di++;
      const b = di++;
      idx.add(a, sa, { id: `orig${a}` });
      idx.add(b, sb, { id: `copy${b}` });
      pairs.push({ j: jaccard(shingleSet(t), shingleSet(copy)), est: estimateJaccard(sa, sb), copy: b });
    }
    const result = idx.resolve();

    it('has enough pairs on each side of the threshold', () => {
      expect(base.length).toBeGreaterThan(1000);
      expect(pairs.filter((p) => p.j >= 0.87).length).toBeGreaterThan(300);
      expect(pairs.filter((p) => p.j <= 0.6).length).toBeGreaterThan(300);
    });
    it('recall >= 0.97 for pairs with J >= threshold + 0.07', () => {
      const hi = pairs.filter((p) => p.j >= 0.87);
      const found = hi.filter((p) => result.removed.get(p.copy)?.keptIndex === p.copy - 1).length;
      expect(found / hi.length).toBeGreaterThanOrEqual(0.97);
    });
    it('at most 1% false removals for pairs with J <= threshold - 0.2', () => {
      const lo = pairs.filter((p) => p.j <= 0.6);
      expect(lo.filter((p) => result.removed.has(p.copy)).length / lo.length).toBeLessThanOrEqual(0.01);
    });
    it('the signature estimate of Jaccard is unbiased, with binomial spread', () => {
      const err = pairs.map((p) => p.est - p.j);
      const mean = err.reduce((x, y) => x + y, 0) / err.length;
      expect(Math.abs(mean)).toBeLessThan(0.01);
      const sd = Math.sqrt(err.reduce((x, y) => x + (y - mean) ** 2, 0) / err.length);
      const theory = Math.sqrt(pairs.reduce((x, p) => x + (p.j * (1 - p.j)) / 128, 0) / pairs.length);
      expect(sd).toBeLessThan(theory * 1.15); // permutations behave as independent
    });
    it('removes only copies, never an original (originals come first in order)', () => {
      for (const k of result.removed.keys()) expect(k % 2).toBe(1);
      expect(result.clusters).toBe(result.removed.size);
    });
  },
);
