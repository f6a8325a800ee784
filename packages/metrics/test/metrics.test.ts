import { InputError, Rng, UsageError } from '@curate/core';
import { describe, expect, it } from 'vitest';
import {
  CorpusMetrics,
  checkpoints,
  compareToReal,
  diversityWarnings,
  FACTS,
  formatMetricsTable,
  jensenShannon,
  LENGTH_EDGES,
  lengthDistance,
  type MetricsResult,
  UnigramSketch,
  wordHash,
  words,
} from '../src/index.js';

function measure(texts: string[], options = {}): MetricsResult {
  const m = new CorpusMetrics(options);
  for (const t of texts) m.add(t);
  return m.result();
}

/** A deterministic corpus of `docs` documents over a vocabulary of `vocab` words. */
function corpus(docs: number, vocab: number, seed = 7): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let d = 0; d < docs; d++) {
    const n = 5 + rng.int(300);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(`w${Math.floor(vocab * rng.float() ** 2)}`);
    out.push(ws.join(' '));
  }
  return out;
}

/** The result without its unigram sketch, as plain JSON, for equality checks. */
function plain(r: MetricsResult): unknown {
  return JSON.parse(JSON.stringify({ ...r, unigram: r.unigram.toJSON() }));
}

describe('words', () => {
  it('lower-cases letter/digit runs, keeps inner apostrophes, drops punctuation', () => {
    expect(words("Don't STOP, the-end: 42 café’s  ÉTÉ!")).toEqual([
      "don't",
      'stop',
      'the',
      'end',
      '42',
      "café's",
      'été',
    ]);
    expect(words("'quoted' -- ...")).toEqual(['quoted']);
    expect(words('')).toEqual([]);
  });

  it('hashes a word the same in text and alone', () => {
    const m = new CorpusMetrics({ unigramBuckets: 1 << 20 });
    m.add('Hello, HELLO hello world');
    const u = m.result().unigram;
    expect(u.counts[wordHash('hello') & (u.buckets - 1)]).toBe(3);
    expect(u.counts[wordHash('world') & (u.buckets - 1)]).toBe(1);
    expect(u.total).toBe(4);
  });
});

describe('sample metrics on hand-computable inputs', () => {
  it('distinct-n counts distinct n-grams over occurrences', () => {
    const r = measure(['a b a b a']);
    expect(r.distinct[1]).toBeCloseTo(2 / 5, 12); // a, b of 5
    expect(r.distinct[2]).toBeCloseTo(2 / 4, 12); // ab, ba of 4
    expect(r.distinct[3]).toBeCloseTo(2 / 3, 12); // aba, bab of 3
    expect(r.distinct[4]).toBeCloseTo(2 / 2, 12); // abab, baba of 2
    expect(r.sampleTokens).toBe(5);
  });

  it('n-grams do not cross document boundaries', () => {
    // "x y" twice: bigram occurrences are 2 (one per document), distinct 1; no "y x".
    const r = measure(['x y', 'x y']);
    expect(r.distinct[2]).toBe(0.5);
    expect(r.distinct[3]).toBe(0);
  });

  it('MATTR averages the type-token ratio of every window', () => {
    // window 2 over a a b b: (a,a)=1/2, (a,b)=1, (b,b)=1/2 -> 2/3
    expect(measure(['a a b b'], { mattrWindow: 2 }).mattr).toBeCloseTo(2 / 3, 12);
    // window 50 over 100 words cycling through 25 types: every window has 25 types
    const cyc = Array.from({ length: 100 }, (_, i) => `t${i % 25}`).join(' ');
    expect(measure([cyc]).mattr).toBeCloseTo(0.5, 12);
    const all = Array.from({ length: 120 }, (_, i) => `u${i}`).join(' ');
    expect(measure([all]).mattr).toBe(1);
    // shorter than the window: plain TTR
    expect(measure(['a a b c'], { mattrWindow: 50 }).mattr).toBeCloseTo(3 / 4, 12);
  });

  it('hapax share is types seen once over types', () => {
    expect(measure(['a a b c']).hapaxShare).toBeCloseTo(2 / 3, 12);
    expect(measure(['a a b b']).hapaxShare).toBe(0);
  });

  it('top-k 3-gram concentration is the share of the k most frequent 3-grams', () => {
    // 3-grams: abc bca cab abc bca cab abc -> abc 3 of 7
    expect(measure(['a b c a b c a b c'], { topK: 1 }).topNgramConcentration).toBeCloseTo(3 / 7, 12);
    expect(measure(['a b c a b c a b c'], { topK: 2 }).topNgramConcentration).toBeCloseTo(5 / 7, 12);
  });

  it('compression ratio is higher for repeated text than for varied text', () => {
    const rep = measure(Array.from({ length: 200 }, () => 'the same sentence again and again'));
    const varied = measure(corpus(200, 20000));
    expect(rep.compressionRatio).toBeGreaterThan(3 * varied.compressionRatio);
  });

  it('keeps the diversity sample at sampleTokens words whatever the corpus size', () => {
    const docs = corpus(2000, 5000);
    const r = measure(docs, { sampleTokens: 20000 });
    expect(r.words).toBeGreaterThan(200000);
    expect(r.sampleTokens).toBeGreaterThanOrEqual(20000);
    expect(r.sampleTokens).toBeLessThan(20100); // at most one window over
    expect(r.curve.map((c) => c.tokens)).toEqual([1000, 2000, 5000, 10000, 20000, r.sampleTokens]);
    expect(checkpoints(20000)).toEqual([1000, 2000, 5000, 10000, 20000]);
    expect(checkpoints(500)).toEqual([500]);
  });
});

describe('streaming counters', () => {
  it('counts documents, words, tokens and chars; tokens come from the caller when given', () => {
    const m = new CorpusMetrics();
    m.add('one two three', 7);
    m.add('four');
    const r = m.result();
    expect([r.documents, r.words, r.tokens, r.chars]).toEqual([2, 4, 8, 17]);
  });

  it('bins lengths on fixed log-spaced edges with exact mean', () => {
    const r = measure(['', 'a', 'a b', 'a b c d', 'a b c d e f g h']);
    expect(r.length.mean).toBe(3);
    expect(r.length.histogram.edges).toEqual(LENGTH_EDGES.slice(0, r.length.histogram.counts.length + 1));
    expect(r.length.histogram.edges.slice(0, 3)).toEqual([0, 1, 2 ** 0.25]);
    const counts = r.length.histogram.counts;
    expect(counts[0]).toBe(1); // empty
    expect(counts[1]).toBe(1); // 1 word
    expect(counts[5]).toBe(1); // 2 words: [2, 2.38)
    expect(counts[9]).toBe(1); // 4 words
    expect(counts[13]).toBe(1); // 8 words
    expect(r.length.p50).toBeGreaterThanOrEqual(2);
    expect(r.length.p50).toBeLessThan(2 * 2 ** 0.25);
  });

  it('length distance is the Wasserstein-1 distance in octaves', () => {
    const a = measure(Array.from({ length: 50 }, () => 'w '.repeat(10)));
    const b = measure(Array.from({ length: 50 }, () => 'w '.repeat(20)));
    const c = measure(Array.from({ length: 50 }, () => 'w '.repeat(40)));
    expect(lengthDistance(a, a)).toBe(0);
    expect(lengthDistance(a, b)).toBeCloseTo(1, 1);
    expect(lengthDistance(a, c)).toBeCloseTo(2, 1);
    expect(lengthDistance(b, a)).toBeCloseTo(lengthDistance(a, b), 12);
  });
});

describe('jensenShannon', () => {
  it('is 0 for identical, 1 for disjoint, and matches a hand computation', () => {
    const a = measure(['the cat sat on the mat']);
    expect(jensenShannon(a, a)).toBe(0);
    expect(jensenShannon(a, measure(['the mat on the cat sat']))).toBe(0);
    const buckets = 65536;
    const h = ['alpha', 'beta', 'gamma', 'delta'].map((w) => wordHash(w) & (buckets - 1));
    expect(new Set(h).size).toBe(4); // no shared bucket, so disjoint words stay disjoint
    expect(jensenShannon(measure(['alpha beta']), measure(['gamma delta']))).toBeCloseTo(1, 12);
    // p = {x: 1}, q = {x: 1/2, y: 1/2}: JSD = 1/2 log2(4/3) + 1/4 log2(2/3) + 1/4 log2(2)
    const expected = 0.5 * Math.log2(4 / 3) + 0.25 * Math.log2(2 / 3) + 0.25;
    expect(jensenShannon(measure(['alpha alpha']), measure(['alpha beta']))).toBeCloseTo(expected, 12);
  });

  it('round-trips the sketch through JSON', () => {
    const r = measure(corpus(50, 1000));
    const back = UnigramSketch.fromJSON(JSON.parse(JSON.stringify(r.unigram)));
    expect(jensenShannon(back, r)).toBe(0);
    expect(back.total).toBe(r.words);
  });
});

describe('merge and determinism', () => {
  const docs = corpus(1500, 8000);

  it('merging split accumulators equals one accumulator (all metrics, sample included)', () => {
    const opts = { seed: 3, sampleTokens: 30000 };
    const whole = measure(docs, opts);
    const parts = [new CorpusMetrics(opts), new CorpusMetrics(opts), new CorpusMetrics(opts)];
    for (let i = 0; i < docs.length; i++) parts[i % 3].add(docs[i]);
    parts[0].merge(parts[2]);
    parts[0].merge(parts[1]);
    expect(plain(parts[0].result())).toEqual(plain(whole));
  });

  it('does not depend on document order, but on the seed', () => {
    const opts = { seed: 3, sampleTokens: 30000 };
    const shuffled = new Rng(1).shuffle([...docs]);
    expect(plain(measure(shuffled, opts))).toEqual(plain(measure(docs, opts)));
    const other = measure(docs, { seed: 4, sampleTokens: 30000 });
    expect(other.distinct[2]).not.toBe(measure(docs, opts).distinct[2]);
    expect(other.documents).toBe(docs.length);
  });

  it('state survives a structured clone: fromState(toState()) merges and reports as the original', () => {
    const opts = { seed: 3, sampleTokens: 30000 };
    const whole = measure(docs, opts);
    const parts = [new CorpusMetrics(opts), new CorpusMetrics(opts)];
    for (let i = 0; i < docs.length; i++) parts[i % 2].add(docs[i]);
    // as a worker thread hands its accumulator to the main thread
    const moved = parts.map((p) => CorpusMetrics.fromState(structuredClone(p.toState())));
    expect(plain(moved[1].result())).toEqual(plain(parts[1].result()));
    moved[0].merge(moved[1]);
    expect(plain(moved[0].result())).toEqual(plain(whole));
    const other = new CorpusMetrics({ seed: 3, sampleTokens: 30000, unigramBuckets: 1024 });
    expect(() => CorpusMetrics.fromState({ ...other.toState(), options: moved[0].options })).toThrow(UsageError);
  });

  it('refuses to merge accumulators with different options', () => {
    const a = new CorpusMetrics({ seed: 1 });
    const err = (() => {
      try {
        a.merge(new CorpusMetrics({ seed: 2 }));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('E_METRICS_MERGE');
  });

  it('rejects text that is not a string and bad options with stable codes', () => {
    const m = new CorpusMetrics();
    expect(() => m.add(null as unknown as string)).toThrow(InputError);
    expect(() => new CorpusMetrics({ sampleTokens: 0 })).toThrow(/sampleTokens/);
    expect(() => new CorpusMetrics({ unigramBuckets: 1000 })).toThrow(/power of two/);
  });

  it('holds a fixed amount of memory however much it reads', () => {
    const m = new CorpusMetrics({ sampleTokens: 20000 });
    for (const d of docs) m.add(d);
    const after1 = m.memoryBytes();
    for (const d of corpus(3000, 8000, 9)) m.add(d);
    expect(m.memoryBytes()).toBeLessThan(after1 * 1.1);
    expect(m.memoryBytes()).toBeLessThan(2_000_000);
  });
});

describe('comparisons and warnings', () => {
  const real = measure(corpus(1000, 20000, 1));
  const similar = measure(corpus(800, 20000, 2));
  const narrow = measure(corpus(800, 300, 3));

  it('compares at equal sample size and flags the narrow group only', () => {
    const cmp = compareToReal({ similar, narrow }, real);
    expect(cmp.similar.atTokens).toBe(50000);
    expect(cmp.similar.distinctRatio).toBeGreaterThan(0.95);
    expect(cmp.similar.distinctRatio).toBeLessThan(1.05);
    expect(cmp.narrow.distinctRatio).toBeLessThan(0.7);
    expect(cmp.narrow.jsd).toBeGreaterThan(cmp.similar.jsd);
    const warnings = diversityWarnings({ comparisons: cmp });
    expect(warnings.filter((w) => w.source === 'similar')).toEqual([]);
    const codes = warnings.filter((w) => w.source === 'narrow').map((w) => w.code);
    expect(codes).toEqual(['W_DISTINCT_LOW', 'W_HAPAX_LOW', 'W_JSD_HIGH', 'W_TOP_NGRAMS_HIGH']);
    for (const w of warnings) expect(Object.values(FACTS)).toContain(w.fact);
  });

  it('compares a small group at the largest sample size both share', () => {
    const small = measure(corpus(40, 20000, 5)); // ~6k words
    const c = compareToReal({ small }, real).small;
    expect(c.atTokens).toBe(5000);
  });

  it('warns on mix-level facts when they are given, and honours thresholds', () => {
    const w = diversityWarnings({ syntheticFraction: 0.6, epochs: { a: 5, b: 2 }, replacesReal: true });
    expect(w.map((x) => [x.code, x.source])).toEqual([
      ['W_REPLACES_REAL', undefined],
      ['W_SYNTHETIC_SHARE', undefined],
      ['W_EPOCHS', 'a'],
    ]);
    expect(w[0].fact).toBe(FACTS.replaceVsAccumulate);
    expect(diversityWarnings({ syntheticFraction: 0.6, thresholds: { maxSyntheticFraction: 0.7 } })).toEqual([]);
  });

  it('formats a plain text table with one row per group', () => {
    const t = formatMetricsTable({ real, narrow });
    const lines = t.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^group\s+docs\s+tokens/);
    expect(lines[1]).toMatch(/^narrow\s+800\s/);
    expect(lines[2]).toContain(real.distinct[2].toFixed(3));
  });
});
