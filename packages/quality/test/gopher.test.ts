import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { FILTER_DEFAULTS } from '../src/index.js';
import { check, words } from './helpers.js';

const OFF_Q = {
  min_words: 0,
  max_words: 1e9,
  min_mean_word_length: 0,
  max_mean_word_length: 1e9,
  max_symbol_word_ratio: 1e9,
  max_bullet_lines_ratio: 1,
  max_ellipsis_lines_ratio: 1,
  min_alpha_words_ratio: 0,
  min_stop_words: 0,
};
const q = (text: string, p: object = {}) => check('gopher_quality', { ...OFF_Q, ...p }, text);

describe('gopher_quality boundaries (value at the threshold passes)', () => {
  it('word_count: min 50 and max', () => {
    expect(q(words(50).join(' '), { min_words: 50 })).toBe(true);
    expect(q(words(49).join(' '), { min_words: 50 })).toBe('word_count');
    expect(q(words(60).join(' '), { max_words: 60 })).toBe(true);
    expect(q(words(61).join(' '), { max_words: 60 })).toBe('word_count');
    // punctuation-only tokens are not words
    expect(q(`${words(49).join(' ')} -- ... !`, { min_words: 50 })).toBe('word_count');
    // defaults: 100,000 words pass, 100,001 do not
    const big = `the and ${words(99998, 5).join(' ')}`;
    expect(check('gopher_quality', {}, big)).toBe(true);
    expect(check('gopher_quality', {}, `${big} extra`)).toBe('word_count');
  });

  it('mean_word_length: 3 to 10', () => {
    expect(q(Array(50).fill('abc').join(' '), { min_mean_word_length: 3 })).toBe(true);
    expect(q([...Array(49).fill('abc'), 'ab'].join(' '), { min_mean_word_length: 3 })).toBe('mean_word_length');
    expect(q(Array(50).fill('abcdefghij').join(' '), { max_mean_word_length: 10 })).toBe(true);
    expect(q([...Array(49).fill('abcdefghij'), 'abcdefghijk'].join(' '), { max_mean_word_length: 10 })).toBe(
      'mean_word_length',
    );
    // surrounding punctuation does not count towards the length
    expect(q(Array(50).fill('"abc,"').join(' '), { max_mean_word_length: 3 })).toBe(true);
  });

  it('symbol ratio: # and ellipses per word <= 0.1', () => {
    const w = words(50);
    const withHash = (k: number) => w.map((x, i) => (i < k ? `#${x}` : x)).join(' ');
    expect(q(withHash(5), { max_symbol_word_ratio: 0.1 })).toBe(true);
    expect(q(withHash(6), { max_symbol_word_ratio: 0.1 })).toBe('hash_ratio');
    const withDots = (k: number) => w.map((x, i) => (i < k ? (i % 2 ? `${x}...` : `${x}\u2026`) : x)).join(' ');
    expect(q(withDots(5), { max_symbol_word_ratio: 0.1 })).toBe(true);
    expect(q(withDots(6), { max_symbol_word_ratio: 0.1 })).toBe('ellipsis_ratio');
  });

  it('bullet_lines <= 0.9 and ellipsis_lines <= 0.3', () => {
    const lines = (k: number, mark: (l: string) => string) =>
      words(20)
        .map((x, i) => (i < k ? mark(`${x} abc def`) : `${x} abc def`))
        .join('\n');
    expect(
      q(
        lines(18, (l) => `  \u2022 ${l}`),
        { max_bullet_lines_ratio: 0.9 },
      ),
    ).toBe(true);
    expect(
      q(
        lines(19, (l) => `\u2022 ${l}`),
        { max_bullet_lines_ratio: 0.9 },
      ),
    ).toBe('bullet_lines');
    expect(
      q(
        lines(6, (l) => `${l}...`),
        { max_ellipsis_lines_ratio: 0.3 },
      ),
    ).toBe(true);
    expect(
      q(
        lines(7, (l) => `${l}\u2026  `),
        { max_ellipsis_lines_ratio: 0.3 },
      ),
    ).toBe('ellipsis_lines');
    // a final newline does not add a line (as str.splitlines)
    expect(q(`${lines(6, (l) => `${l}...`)}\n`, { max_ellipsis_lines_ratio: 0.3 })).toBe(true);
  });

  it('alpha_words >= 0.8', () => {
    const w = words(50);
    const nums = (k: number) => w.map((x, i) => (i < k ? String(1000 + i) : x)).join(' ');
    expect(q(nums(10), { min_alpha_words_ratio: 0.8 })).toBe(true);
    expect(q(nums(11), { min_alpha_words_ratio: 0.8 })).toBe('alpha_words');
  });

  it('stop_words >= 2 (case-insensitive, punctuation stripped)', () => {
    const w = words(48);
    expect(q(`The ${w.join(' ')} (and)`, { min_stop_words: 2 })).toBe(true);
    expect(q(`The ${w.join(' ')} andy`, { min_stop_words: 2 })).toBe('stop_words');
    expect(q(`foo ${w.join(' ')} bar`, { min_stop_words: 2, stop_words: ['foo', 'bar'] })).toBe(true);
  });

  it('bad input: empty, no newline, non-Latin script', () => {
    expect(check('gopher_quality', {}, '')).toBe('word_count');
    expect(q('', { min_words: 0 })).toBe(true);
    // Russian prose: letters are alphabetic (not ASCII), but no English stop words
    const ru = 'Все счастливые семьи похожи друг на друга, каждая несчастливая семья несчастлива по-своему. '.repeat(8);
    expect(check('gopher_quality', {}, ru)).toBe('stop_words');
    expect(check('gopher_quality', { min_stop_words: 0 }, ru)).toBe(true);
  });
});

// Reference statistics computed the slow, obvious way (strings and Maps).
function ngrams(tokens: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}
function topFrac(text: string, n: number): number {
  const counts = new Map<string, number>();
  for (const g of ngrams(text.split(/\s+/).filter(Boolean), n)) counts.set(g, (counts.get(g) ?? 0) + 1);
  let best = '';
  let bc = 1;
  for (const [g, c] of counts) if (c > bc) [best, bc] = [g, c];
  return bc > 1 ? (best.length * bc) / text.length : 0;
}
function dupFrac(text: string, n: number): number {
  const grams = ngrams(text.split(/\s+/).filter(Boolean), n);
  const seen = new Set<string>();
  let chars = 0;
  let i = 0;
  while (i < grams.length) {
    if (seen.has(grams[i])) {
      chars += grams[i].length;
      i += n;
    } else {
      seen.add(grams[i]);
      i++;
    }
  }
  return chars / text.length;
}

const OFF_R = {
  max_dup_line_frac: 1,
  max_dup_line_char_frac: 1,
  max_dup_para_frac: 1,
  max_dup_para_char_frac: 1,
  top_ngram_char_frac: {},
  dup_ngram_char_frac: {},
};
const r = (text: string, p: object) => check('gopher_repetition', { ...OFF_R, ...p }, text);

describe('gopher_repetition boundaries', () => {
  it('duplicate paragraphs: fraction <= 0.3 and character share <= 0.2', () => {
    const paras = words(10, 8).map((w) => `${w} ${w}x ${w}y.`);
    const doc = (dups: number) => [...paras, ...paras.slice(0, dups)].join('\n\n');
    // 10 + 3 duplicates: 3/13 <= 0.3; 10 + 5: 5/15 > 0.3
    expect(r(doc(3), { max_dup_para_frac: 0.3 })).toBe(true);
    expect(r(doc(5), { max_dup_para_frac: 0.3 })).toBe('dup_para_frac');
    const text = doc(2);
    const share = (2 * paras[0].length) / text.length;
    expect(r(text, { max_dup_para_char_frac: share })).toBe(true);
    expect(r(text, { max_dup_para_char_frac: share - 1e-9 })).toBe('dup_para_char_frac');
  });

  it('duplicate lines: fraction <= 0.3 and character share <= 0.2; blank lines ignored', () => {
    const lines = words(10, 8).map((w) => `${w} line`);
    const doc = (dups: number) => [...lines, ...lines.slice(0, dups)].join('\n\n\n');
    expect(r(doc(3), { max_dup_line_frac: 0.3 })).toBe(true);
    expect(r(doc(5), { max_dup_line_frac: 0.3 })).toBe('dup_line_frac');
    const text = doc(2);
    const share = (2 * lines[0].length) / text.length;
    expect(r(text, { max_dup_line_char_frac: share })).toBe(true);
    expect(r(text, { max_dup_line_char_frac: share - 1e-9 })).toBe('dup_line_char_frac');
  });

  const synthetic = `${words(60).join(' ')} ${'ab cd ef gh ij '.repeat(6)} ${words(40, 5, 3).join(' ')} kl mn ab cd ef gh ij kl mn op`;
  for (const n of [2, 3, 4]) {
    it(`top ${n}-gram character share at the threshold`, () => {
      const f = topFrac(synthetic, n);
      expect(f).toBeGreaterThan(0);
      expect(r(synthetic, { top_ngram_char_frac: { [n]: f } })).toBe(true);
      expect(r(synthetic, { top_ngram_char_frac: { [n]: f - 1e-9 } })).toBe(`top_${n}gram_char_frac`);
    });
  }
  for (const n of [5, 6, 7, 8, 9, 10]) {
    it(`duplicated ${n}-gram character share at the threshold`, () => {
      const f = dupFrac(synthetic, n);
      expect(f).toBeGreaterThan(0);
      expect(r(synthetic, { dup_ngram_char_frac: { [n]: f } })).toBe(true);
      expect(r(synthetic, { dup_ngram_char_frac: { [n]: f - 1e-9 } })).toBe(`dup_${n}gram_char_frac`);
    });
  }

  it('agrees with the reference on random repetitive texts (small vocabularies)', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let doc = 0; doc < 60; doc++) {
      const vocab = words(2 + Math.floor(rand() * 12), 1 + Math.floor(rand() * 4), doc);
      const n = 5 + Math.floor(rand() * 300);
      const text = Array.from({ length: n }, () => vocab[Math.floor(rand() * vocab.length)]).join(
        rand() < 0.5 ? ' ' : '  ',
      );
      for (const k of [2, 3, 4]) {
        const f = topFrac(text, k);
        if (f === 0) continue;
        expect(r(text, { top_ngram_char_frac: { [k]: f } })).toBe(true);
        expect(r(text, { top_ngram_char_frac: { [k]: f - 1e-9 } })).toBe(`top_${k}gram_char_frac`);
      }
      for (const k of [5, 6, 7, 8, 9, 10]) {
        const f = dupFrac(text, k);
        if (f === 0) continue;
        expect(r(text, { dup_ngram_char_frac: { [k]: f } })).toBe(true);
        expect(r(text, { dup_ngram_char_frac: { [k]: f - 1e-9 } })).toBe(`dup_${k}gram_char_frac`);
      }
    }
  });

  it('a document of unique n-grams passes; empty text passes', () => {
    expect(check('gopher_repetition', {}, words(300).join(' '))).toBe(true);
    expect(check('gopher_repetition', {}, '')).toBe(true);
    expect(check('gopher_repetition', {}, 'one two three')).toBe(true);
  });

  it('defaults are the published ones', () => {
    expect(FILTER_DEFAULTS.gopher_repetition.top_ngram_char_frac).toEqual({ '2': 0.2, '3': 0.18, '4': 0.16 });
    expect(FILTER_DEFAULTS.gopher_quality.min_words).toBe(50);
  });
});

describe.skipIf(!HAS_SHARED)('gopher filters on real text', () => {
  const c4 = readFileSync(shared('real_text', 'c4_sample.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).text as string);

  it('n-gram statistics agree with the string reference on real documents', () => {
    for (const text of c4.slice(0, 40)) {
      for (const n of [2, 3, 4]) {
        const f = topFrac(text, n);
        if (f === 0) continue;
        expect(r(text, { top_ngram_char_frac: { [n]: f } })).toBe(true);
        expect(r(text, { top_ngram_char_frac: { [n]: f - 1e-9 } })).toBe(`top_${n}gram_char_frac`);
      }
      for (const n of [5, 8, 10]) {
        const f = dupFrac(text, n);
        if (f === 0) continue;
        expect(r(text, { dup_ngram_char_frac: { [n]: f } })).toBe(true);
        expect(r(text, { dup_ngram_char_frac: { [n]: f - 1e-9 } })).toBe(`dup_${n}gram_char_frac`);
      }
    }
  });

  it('a repeated C4 page is dropped for repetition; the page alone passes', () => {
    const page = c4.find((t) => check('gopher_repetition', {}, t) === true && t.length > 2000) as string;
    expect(check('gopher_repetition', {}, `${page}\n\n${page}`)).toBe('dup_para_frac');
  });

  it('most C4 pages pass gopher_quality; short ones fail on word_count', () => {
    const res = c4.map((t) => check('gopher_quality', {}, t));
    const passed = res.filter((x) => x === true).length;
    expect(passed / c4.length).toBeGreaterThan(0.85);
    for (let i = 0; i < c4.length; i++) {
      if (res[i] === 'word_count') expect(c4[i].split(/\s+/).length < 60 || c4[i].length > 400000).toBe(true);
    }
  });
});
