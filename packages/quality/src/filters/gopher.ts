/**
 * Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models:
 * Methods, Analysis & Insights from Training Gopher", appendix A; thresholds of
 * table A1), with the checks in datatrove's order. A value exactly at a threshold
 * passes.
 */
import { drop, type Filter, type FilterDoc, type FilterResult, type FilterSignals } from '../filter.js';
import {
  GOPHER_QUALITY_LANGUAGES,
  LANGUAGE_CODES,
  type LanguageOverrides,
  languageIndex,
  perLanguage,
} from '../languages.js';
import { CHAR_CLASS, hashRange, KeyCounter, type TextAnalysis } from '../text.js';

export interface GopherQualityParams {
  min_words: number;
  max_words: number;
  min_mean_word_length: number;
  max_mean_word_length: number;
  max_symbol_word_ratio: number;
  max_bullet_lines_ratio: number;
  max_ellipsis_lines_ratio: number;
  min_alpha_words_ratio: number;
  min_stop_words: number;
  stop_words: string[];
  /** Per-language overrides of the built-in language defaults (`GOPHER_QUALITY_LANGUAGES`). */
  languages?: LanguageOverrides<GopherQualityParams>;
}

export const GOPHER_QUALITY_DEFAULTS: GopherQualityParams = {
  min_words: 50,
  max_words: 100000,
  min_mean_word_length: 3,
  max_mean_word_length: 10,
  max_symbol_word_ratio: 0.1,
  max_bullet_lines_ratio: 0.9,
  max_ellipsis_lines_ratio: 0.3,
  min_alpha_words_ratio: 0.8,
  min_stop_words: 2,
  stop_words: ['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'],
};

const SPACE = 2;

/** Bullet characters a line may start with (after white space). */
const BULLETS = new Set([0x2022, 0x2023, 0x25e6, 0x2043, 0x2219, 0x25cf, 0x25aa, 0x25a0, 0x25cb, 0x27a2]);

export function countOf(text: string, needle: string): number {
  let n = 0;
  let i = text.indexOf(needle);
  while (i >= 0) {
    n++;
    i = text.indexOf(needle, i + needle.length);
  }
  return n;
}

/** Occurrences of `#` (the numerator of the hash ratio). */
export function hashCount(text: string): number {
  return countOf(text, '#');
}

/** Occurrences of `...` and `\u2026` (the numerator of the ellipsis ratio). */
export function ellipsisCount(text: string): number {
  return countOf(text, '...') + countOf(text, '\u2026');
}

/** Lower-cased stop words as a set, and the length of the longest (longer cores are skipped unseen). */
export function stopWordSet(words: readonly string[]): { set: Set<string>; maxLength: number } {
  const set = new Set(words.map((w) => w.toLowerCase()));
  let maxLength = 0;
  for (const w of set) maxLength = Math.max(maxLength, w.length);
  return { set, maxLength };
}

/** Words whose core is a stop word (case-insensitive), counting up to `limit`. */
export function countStopWords(
  a: TextAnalysis,
  stop: { set: Set<string>; maxLength: number },
  limit = Number.POSITIVE_INFINITY,
): number {
  const text = a.tokens().text;
  let found = 0;
  for (let t = 0; t < a.tokenCount && found < limit; t++) {
    const s = a.coreStart[t];
    const e = a.coreEnd[t];
    if (e === s || e - s > stop.maxLength) continue;
    if (stop.set.has(text.slice(s, e).toLowerCase())) found++;
  }
  return found;
}

/** Count of lines starting with a bullet and ending with an ellipsis. */
export function bulletEllipsisLines(a: TextAnalysis): [number, number] {
  const text = a.text;
  let bullets = 0;
  let ellipses = 0;
  for (let l = 0; l < a.lineCount; l++) {
    let s = a.lineStart[l];
    let e = a.lineEnd[l];
    while (s < e && CHAR_CLASS[text.charCodeAt(s)] === SPACE) s++;
    while (e > s && CHAR_CLASS[text.charCodeAt(e - 1)] === SPACE) e--;
    if (s === e) continue;
    if (BULLETS.has(text.charCodeAt(s))) bullets++;
    const last = text.charCodeAt(e - 1);
    if (
      last === 0x2026 ||
      (last === 46 && e - s >= 3 && text.charCodeAt(e - 2) === 46 && text.charCodeAt(e - 3) === 46)
    )
      ellipses++;
  }
  return [bullets, ellipses];
}

/** Number of lines as Python's `str.splitlines()` counts them (no line after a final newline). */
export function splitLineCount(a: TextAnalysis): number {
  const n = a.lineCount;
  if (n > 0 && a.lineStart[n - 1] === a.text.length) return n - 1;
  return n;
}

type StopSet = { set: Set<string>; maxLength: number };

/** Parameters and stop-word set per language (null: the top-level ones), built on first use. */
function gopherRules(base: GopherQualityParams): (lang: string | null) => [GopherQualityParams, StopSet] {
  const forLanguage = perLanguage(base, GOPHER_QUALITY_LANGUAGES, base.languages);
  const baseRules: [GopherQualityParams, StopSet] = [base, stopWordSet(base.stop_words)];
  const rules = new Map<string, [GopherQualityParams, StopSet]>();
  return (lang) => {
    if (lang === null) return baseRules;
    let r = rules.get(lang);
    if (!r) {
      const q = forLanguage(lang);
      r = q === base ? baseRules : [q, stopWordSet(q.stop_words)];
      rules.set(lang, r);
    }
    return r;
  };
}

export function gopherQuality(base: GopherQualityParams): Filter['filter'] {
  const rulesFor = gopherRules(base);
  return (doc: FilterDoc): FilterResult => {
    const a = doc.analysis.tokens();
    const [p, stop] = rulesFor(a.language());
    const text = a.text;
    const words = a.wordCount;
    if (words < p.min_words || words > p.max_words) return drop('word_count');
    const mean = words === 0 ? 0 : a.wordCharSum / words;
    if (words > 0 && (mean < p.min_mean_word_length || mean > p.max_mean_word_length)) return drop('mean_word_length');
    const denom = Math.max(words, 1);
    if (hashCount(text) / denom > p.max_symbol_word_ratio) return drop('hash_ratio');
    if (ellipsisCount(text) / denom > p.max_symbol_word_ratio) return drop('ellipsis_ratio');
    a.lines();
    const lines = splitLineCount(a);
    if (lines > 0) {
      const [bullets, ellipses] = bulletEllipsisLines(a);
      if (bullets / lines > p.max_bullet_lines_ratio) return drop('bullet_lines');
      if (ellipses / lines > p.max_ellipsis_lines_ratio) return drop('ellipsis_lines');
    }
    if (words > 0 && a.alphaWords / words < p.min_alpha_words_ratio) return drop('alpha_words');
    if (p.min_stop_words > 0 && countStopWords(a, stop, p.min_stop_words) < p.min_stop_words) return drop('stop_words');
    return true;
  };
}

export interface GopherRepetitionParams {
  max_dup_line_frac: number;
  max_dup_line_char_frac: number;
  max_dup_para_frac: number;
  max_dup_para_char_frac: number;
  top_ngram_char_frac: Record<string, number>;
  dup_ngram_char_frac: Record<string, number>;
}

export const GOPHER_REPETITION_DEFAULTS: GopherRepetitionParams = {
  max_dup_line_frac: 0.3,
  max_dup_line_char_frac: 0.2,
  max_dup_para_frac: 0.3,
  max_dup_para_char_frac: 0.2,
  top_ngram_char_frac: { '2': 0.2, '3': 0.18, '4': 0.16 },
  dup_ngram_char_frac: { '5': 0.15, '6': 0.14, '7': 0.13, '8': 0.12, '9': 0.11, '10': 0.1 },
};

/** Reused scratch space for one filter instance (filters run one row at a time). */
export class RepetitionScratch {
  counter = new KeyCounter();
  h = new Int32Array(2);
  private n = 0;
  private v = 0;
  tokId = new Int32Array(0);
  cur = new Int32Array(0);
  next = new Int32Array(0);
  curCount = new Int32Array(0);
  nextCount = new Int32Array(0);
  first = new Int32Array(0);
  bucket = new Int32Array(0);
  sorted = new Int32Array(0);
  candA = new Int32Array(0);
  seen = new Int32Array(0);
  prefix = new Float64Array(0);
  /** Per token id: stamp of the bucket that last saw it and the n-gram id it got there. */
  stampV = new Int32Array(0);
  idV = new Int32Array(0);
  gen = 0;
  /** Set by the last level: characters covered by repeated n-grams (see `nextCandidates`). */
  covered = 0;

  ensure(tokens: number, vocab: number): void {
    if (this.n < tokens) {
      const m = Math.max(tokens, this.n * 2, 1024);
      this.n = m;
      this.tokId = new Int32Array(m);
      this.cur = new Int32Array(m);
      this.next = new Int32Array(m);
      this.curCount = new Int32Array(m);
      this.nextCount = new Int32Array(m);
      this.first = new Int32Array(m);
      this.bucket = new Int32Array(m + 1);
      this.sorted = new Int32Array(m);
      this.candA = new Int32Array(m);
      this.seen = new Int32Array(m);
      this.prefix = new Float64Array(m + 1);
    }
    if (this.v < vocab) {
      const m = Math.max(vocab, this.v * 2, 1024);
      this.v = m;
      this.stampV = new Int32Array(m);
      this.idV = new Int32Array(m);
      this.gen = 0;
    }
  }

  nextGen(): number {
    if (++this.gen === 0x7fffffff) {
      this.stampV.fill(0);
      this.seen.fill(0);
      this.gen = 1;
    }
    return this.gen;
  }

  swap(): void {
    [this.cur, this.next] = [this.next, this.cur];
    [this.curCount, this.nextCount] = [this.nextCount, this.curCount];
  }
}

/** Duplicate elements and their characters among ranges [starts[i], ends[i]) (blank ranges skipped). */
export function duplicates(
  text: string,
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  count: number,
  sc: RepetitionScratch,
): [elements: number, dupElements: number, dupChars: number] {
  const c = sc.counter;
  c.clear(count);
  let elements = 0;
  let dup = 0;
  let dupChars = 0;
  for (let i = 0; i < count; i++) {
    const s = starts[i];
    const e = ends[i];
    let blank = true;
    for (let j = s; j < e; j++) {
      if (CHAR_CLASS[text.charCodeAt(j)] !== SPACE) {
        blank = false;
        break;
      }
    }
    if (blank) continue;
    elements++;
    hashRange(text, s, e, sc.h);
    const slot = c.add(sc.h[0], sc.h[1]);
    if (c.count(slot) > 1) {
      dup++;
      dupChars += e - s;
    }
  }
  return [elements, dup, dupChars];
}

/** Paragraph bounds: the trimmed text split at runs of two or more newlines. */
function paragraphs(text: string, starts: number[], ends: number[]): number {
  starts.length = 0;
  ends.length = 0;
  let s = 0;
  let e = text.length;
  while (s < e && CHAR_CLASS[text.charCodeAt(s)] === SPACE) s++;
  while (e > s && CHAR_CLASS[text.charCodeAt(e - 1)] === SPACE) e--;
  let start = s;
  let i = text.indexOf('\n', s);
  while (i >= 0 && i < e) {
    // a run of newlines (allowing \r between them)
    let j = i + 1;
    let newlines = 1;
    while (j < e) {
      const c = text.charCodeAt(j);
      if (c === 10) newlines++;
      else if (c !== 13) break;
      j++;
    }
    if (newlines >= 2) {
      starts.push(start);
      ends.push(i > start && text.charCodeAt(i - 1) === 13 ? i - 1 : i);
      start = j;
    }
    i = text.indexOf('\n', j);
  }
  starts.push(start);
  ends.push(e);
  return starts.length;
}

/**
 * Limits of `ngramRepetition`, per level n (index n; arrays of at least maxN + 1 entries).
 * Plain numbers rather than callbacks, so that the filter and the signal meter call one
 * monomorphic function: with a callback per caller, V8 deoptimised and recompiled it ~11 times
 * per thread in a mix (0.6 s of compile time per run, measured with --trace-opt).
 */
export interface NgramLimits {
  /** Drop above this top-n-gram fraction; NaN: level n has no top rule (not measured). */
  top: Float64Array;
  /** Drop above this duplicate-n-gram fraction; NaN: level n has no duplicate rule (not measured). */
  dup: Float64Array;
  /** Stop after level n when `dupBound` <= stopBelow[n] (no later level can reach its threshold). */
  stopBelow: Float64Array;
}

/** `ngramRepetition`'s verdict: 0 = no limit exceeded, else 2n + (0 top, 1 dup) for level n. */
export const NGRAM_TOP = 0;
export const NGRAM_DUP = 1;

/**
 * Top and duplicate n-gram character fractions of the analysed text (`a.tokens()` done), level by
 * level from n = 2 up to `maxN`, checked against `limits`. At each level with a top rule,
 * `topOut[n]` receives the fraction of the text's characters in the most common n-gram (counted
 * only when repeated); with a duplicate rule, `dupOut[n]` the fraction in n-grams seen before (no
 * overlaps). Returns at the first limit exceeded (see NGRAM_TOP) or 0. Levels after the last
 * repeated (n-1)-gram are not reached: their out values stay 0 (both arrays are zeroed first).
 * `dupBound` is an upper bound of the duplicate fraction of every later level: a repeated
 * m-gram (m > n) is made of repeated n-grams, and the counted m-grams do not overlap, so their
 * characters fit in the union of the repeated n-grams' tokens (each with one separator).
 */
export function ngramRepetition(
  a: TextAnalysis,
  sc: RepetitionScratch,
  maxN: number,
  limits: NgramLimits,
  topOut: Float64Array,
  dupOut: Float64Array,
): number {
  topOut.fill(0);
  dupOut.fill(0);
  const len = a.text.length;
  const T = a.tokenCount;
  if (T < 2) return 0;
  // Each loop is a function of its own: the loops run long on whole books, and V8 optimises a
  // function mid-loop (on-stack replacement) once per loop it is stuck in; one big function cost
  // ~10 compiles of all of it per thread (~0.5 s of compile time per mix), small ones compile fast.
  const V = denseIds(a, sc, T);
  sc.ensure(T, V);
  prefixChars(a, sc, T);
  // Level by level, the n-gram at i is (its (n-1)-gram id, token i+n-1). Only n-grams whose
  // (n-1)-gram prefix occurs twice or more can repeat ("candidates", kept in a list); they are
  // grouped by prefix id with a counting sort and numbered per following token: exact ids, no
  // hashing, work proportional to the candidates.
  let nc = initialCandidates(sc, T);
  let D = V;
  for (let n = 2; n <= maxN && nc > 0; n++) {
    const m = T - n + 1;
    if (m <= 0) break;
    const cand = sc.candA;
    while (nc > 0 && cand[nc - 1] >= m) nc--;
    const newD = groupNext(sc, nc, D, n);
    const topLimit = limits.top[n];
    if (!Number.isNaN(topLimit)) {
      const topFrac = topFraction(sc, newD, n, len);
      topOut[n] = topFrac;
      if (topFrac > topLimit) return 2 * n + NGRAM_TOP;
    }
    const dupLimit = limits.dup[n];
    if (!Number.isNaN(dupLimit)) {
      const dupFrac = dupFraction(sc, nc, n, len);
      dupOut[n] = dupFrac;
      if (dupFrac > dupLimit) return 2 * n + NGRAM_DUP;
    }
    const w = nextCandidates(sc, nc, n);
    if (sc.covered / len <= limits.stopBelow[n]) return 0;
    nc = w;
    sc.swap();
    D = newD;
  }
  return 0;
}

/** Dense token ids from the token hashes (a small, cache-resident table); returns the id count. */
function denseIds(a: TextAnalysis, sc: RepetitionScratch, T: number): number {
  const c = sc.counter;
  c.clear(Math.min(T, 4096)); // grows as needed: books have ~10^4 distinct tokens, not T
  sc.ensure(T, 0);
  const tokId = sc.tokId;
  const cur = sc.cur;
  const cnt = sc.curCount;
  const h1 = a.tokH1;
  const h2 = a.tokH2;
  for (let i = 0; i < T; i++) {
    const before = c.size;
    const slot = c.add(h1[i], h2[i]);
    const id = c.order[slot];
    if (c.size > before) cnt[id] = 0;
    cnt[id]++;
    tokId[i] = id;
    cur[i] = id;
  }
  return c.size;
}

/** prefix[i] = characters of tokens 0..i-1. */
function prefixChars(a: TextAnalysis, sc: RepetitionScratch, T: number): void {
  const prefix = sc.prefix;
  const s = a.tokStart;
  const e = a.tokEnd;
  prefix[0] = 0;
  for (let i = 0; i < T; i++) prefix[i + 1] = prefix[i] + (e[i] - s[i]);
}

/** Positions of tokens that occur twice or more (level 1's repeated "n-grams"). */
function initialCandidates(sc: RepetitionScratch, T: number): number {
  const cand = sc.candA;
  const tokId = sc.tokId;
  const cnt = sc.curCount;
  let nc = 0;
  for (let i = 0; i < T; i++) if (cnt[tokId[i]] >= 2) cand[nc++] = i;
  return nc;
}

/**
 * Level n's ids of the candidates' n-grams (in `next`, counts in `nextCount`, first position in
 * `first`): candidates grouped by their (n-1)-gram id (counting sort), numbered per following token.
 */
function groupNext(sc: RepetitionScratch, nc: number, D: number, n: number): number {
  const { cur, next, nextCount, tokId, first, bucket, sorted, stampV, idV } = sc;
  const cand = sc.candA;
  bucket.fill(0, 0, D + 1);
  for (let k = 0; k < nc; k++) bucket[cur[cand[k]] + 1]++;
  for (let d = 0; d < D; d++) bucket[d + 1] += bucket[d];
  for (let k = 0; k < nc; k++) {
    const i = cand[k];
    sorted[bucket[cur[i]]++] = i;
  }
  // bucket[d] is now the end of bucket d
  let newD = 0;
  let start = 0;
  for (let d = 0; d < D; d++) {
    const end = bucket[d];
    if (end === start) continue;
    const g = sc.nextGen();
    for (let k = start; k < end; k++) {
      const i = sorted[k];
      const t = tokId[i + n - 1];
      let nid: number;
      if (stampV[t] !== g) {
        stampV[t] = g;
        nid = newD++;
        idV[t] = nid;
        nextCount[nid] = 0;
        first[nid] = i;
      } else nid = idV[t];
      nextCount[nid]++;
      next[i] = nid;
    }
    start = end;
  }
  return newD;
}

/** Characters in the most common n-gram (first seen among equals, as Counter.most_common; counted only when repeated) / len. */
function topFraction(sc: RepetitionScratch, newD: number, n: number, len: number): number {
  const { nextCount, first, prefix } = sc;
  let best = -1;
  let bestCount = 1;
  for (let id = 0; id < newD; id++) {
    const k = nextCount[id];
    if (k > bestCount || (k === bestCount && best >= 0 && first[id] < best)) {
      bestCount = k;
      best = first[id];
    }
  }
  if (best < 0) return 0;
  const chars = prefix[best + n] - prefix[best] + n - 1;
  return (chars * bestCount) / len;
}

/**
 * Characters in n-grams seen before, skipping past each repeat (no overlaps counted) / len;
 * n-grams that occur once are never "seen before" and need no visit.
 */
function dupFraction(sc: RepetitionScratch, nc: number, n: number, len: number): number {
  const { next, nextCount, seen, prefix } = sc;
  const cand = sc.candA;
  const g = sc.nextGen();
  let repeated = 0;
  let allowed = 0;
  for (let k = 0; k < nc; k++) {
    const i = cand[k];
    if (i < allowed) continue;
    const id = next[i];
    if (nextCount[id] < 2) continue;
    if (seen[id] === g) {
      repeated += prefix[i + n] - prefix[i] + n - 1;
      allowed = i + n;
    } else seen[id] = g;
  }
  return repeated / len;
}

/**
 * Next level's candidates: n-grams that repeat (ascending positions, compacted in place); returns
 * their count. `sc.covered`: characters (plus one separator each) of the tokens in the union of the
 * repeated n-grams (the `dupBound` numerator).
 */
function nextCandidates(sc: RepetitionScratch, nc: number, n: number): number {
  const { next, nextCount, prefix } = sc;
  const cand = sc.candA;
  let w = 0;
  let covered = 0;
  let coveredEnd = 0;
  for (let k = 0; k < nc; k++) {
    const i = cand[k];
    if (nextCount[next[i]] >= 2) {
      cand[w++] = i;
      const s = Math.max(i, coveredEnd);
      const e = i + n;
      if (e > s) {
        covered += prefix[e] - prefix[s] + (e - s);
        coveredEnd = e;
      }
    }
  }
  sc.covered = covered;
  return w;
}

/** Paragraph, then line duplicates of a non-empty text: [elements, dup elements, dup chars] each. */
export function paragraphDuplicates(text: string, sc: RepetitionScratch, starts: number[], ends: number[]) {
  const np = paragraphs(text, starts, ends);
  return duplicates(text, starts, ends, np, sc);
}

export function lineDuplicates(a: TextAnalysis, sc: RepetitionScratch) {
  a.lines();
  return duplicates(a.text, a.lineStart, a.lineEnd, a.lineCount, sc);
}

export function gopherRepetition(p: GopherRepetitionParams): Filter['filter'] {
  const sc = new RepetitionScratch();
  const paraStarts: number[] = [];
  const paraEnds: number[] = [];
  const top = new Map<number, number>(Object.entries(p.top_ngram_char_frac).map(([n, f]) => [Number(n), f]));
  const dup = new Map<number, number>(Object.entries(p.dup_ngram_char_frac).map(([n, f]) => [Number(n), f]));
  const maxN = Math.max(0, ...top.keys(), ...dup.keys());
  // Per level n: no top rule after n, and the smallest dup threshold after n (to stop early when
  // `dupBound` shows that no later level can exceed its threshold: the verdict cannot change).
  const limits: NgramLimits = {
    top: new Float64Array(maxN + 1).fill(Number.NaN),
    dup: new Float64Array(maxN + 1).fill(Number.NaN),
    stopBelow: new Float64Array(maxN + 1).fill(Number.NEGATIVE_INFINITY),
  };
  for (const [n, f] of top) limits.top[n] = f;
  for (const [n, f] of dup) limits.dup[n] = f;
  for (let n = 0; n <= maxN; n++) {
    let min = Number.POSITIVE_INFINITY;
    let topLater = false;
    for (const m of top.keys()) if (m > n) topLater = true;
    for (const [m, f] of dup) if (m > n) min = Math.min(min, f);
    if (!topLater) limits.stopBelow[n] = min;
  }
  const topOut = new Float64Array(maxN + 1);
  const dupOut = new Float64Array(maxN + 1);
  return (doc: FilterDoc): FilterResult => {
    const a = doc.analysis;
    const text = a.text;
    const len = text.length;
    if (len === 0) return true;

    const [pe, pd, pc] = paragraphDuplicates(text, sc, paraStarts, paraEnds);
    if (pe > 0 && pd / pe > p.max_dup_para_frac) return drop('dup_para_frac');
    if (pc / len > p.max_dup_para_char_frac) return drop('dup_para_char_frac');

    const [le, ld, lc] = lineDuplicates(a, sc);
    if (le > 0 && ld / le > p.max_dup_line_frac) return drop('dup_line_frac');
    if (lc / len > p.max_dup_line_char_frac) return drop('dup_line_char_frac');

    if (maxN === 0) return true;
    const v = ngramRepetition(a.tokens(), sc, maxN, limits, topOut, dupOut);
    if (v === 0) return true;
    const n = v >> 1;
    return drop((v & 1) === NGRAM_TOP ? `top_${n}gram_char_frac` : `dup_${n}gram_char_frac`);
  };
}

/**
 * gopher_quality as values and a decision (FilterSignals). Values: words, word characters, `#`,
 * ellipses, lines, bullet lines, ellipsis lines, alpha words, stop words; the key is the stop-word
 * list. `decide` runs the checks of `gopherQuality` in its order with the same arithmetic.
 */
export function gopherQualitySignals(base: GopherQualityParams): FilterSignals {
  const rulesFor = gopherRules(base);
  // the stop words of every language are part of the key (they change the measured count)
  const stopKey: Record<string, string[]> = { '': [...rulesFor(null)[1].set].sort() };
  for (const l of LANGUAGE_CODES) if (l !== '') stopKey[l] = [...rulesFor(l)[1].set].sort();
  return {
    key: { stop_words: stopKey[''], languages: stopKey },
    names: [
      'words',
      'word_chars',
      'hashes',
      'ellipses',
      'lines',
      'bullet_lines',
      'ellipsis_lines',
      'alpha_words',
      'stop_words',
      'language',
    ],
    measure(doc, out) {
      const a = doc.analysis.tokens();
      const lang = a.language();
      const stop = rulesFor(lang)[1];
      const text = a.text;
      out[0] = a.wordCount;
      out[1] = a.wordCharSum;
      out[2] = hashCount(text);
      out[3] = ellipsisCount(text);
      a.lines();
      const lines = splitLineCount(a);
      out[4] = lines;
      const [bullets, ellipses] = lines > 0 ? bulletEllipsisLines(a) : [0, 0];
      out[5] = bullets;
      out[6] = ellipses;
      out[7] = a.alphaWords;
      out[8] = countStopWords(a, stop);
      out[9] = languageIndex(lang);
    },
    decide(v) {
      const p = rulesFor(LANGUAGE_CODES[v[9]] || null)[0];
      const words = v[0];
      if (words < p.min_words || words > p.max_words) return drop('word_count');
      const mean = words === 0 ? 0 : v[1] / words;
      if (words > 0 && (mean < p.min_mean_word_length || mean > p.max_mean_word_length))
        return drop('mean_word_length');
      const denom = Math.max(words, 1);
      if (v[2] / denom > p.max_symbol_word_ratio) return drop('hash_ratio');
      if (v[3] / denom > p.max_symbol_word_ratio) return drop('ellipsis_ratio');
      const lines = v[4];
      if (lines > 0) {
        if (v[5] / lines > p.max_bullet_lines_ratio) return drop('bullet_lines');
        if (v[6] / lines > p.max_ellipsis_lines_ratio) return drop('ellipsis_lines');
      }
      if (words > 0 && v[7] / words < p.min_alpha_words_ratio) return drop('alpha_words');
      if (p.min_stop_words > 0 && v[8] < p.min_stop_words) return drop('stop_words');
      return true;
    },
  };
}

/**
 * gopher_repetition as values and a decision (FilterSignals). Values: text length, paragraphs
 * (count, duplicates, duplicate characters), lines (the same), then the top n-gram fraction for each
 * n with a top rule and the duplicate n-gram fraction for each n with a duplicate rule, measured at
 * every level (no early stop); the key is those n. `decide` checks in `gopherRepetition`'s order:
 * its early stop only skips levels that cannot exceed their threshold, so the verdicts agree.
 */
export function gopherRepetitionSignals(p: GopherRepetitionParams): FilterSignals {
  const sc = new RepetitionScratch();
  const paraStarts: number[] = [];
  const paraEnds: number[] = [];
  const topNs = Object.keys(p.top_ngram_char_frac)
    .map(Number)
    .sort((a, b) => a - b);
  const dupNs = Object.keys(p.dup_ngram_char_frac)
    .map(Number)
    .sort((a, b) => a - b);
  const maxN = Math.max(0, ...topNs, ...dupNs);
  const limits: NgramLimits = {
    top: new Float64Array(maxN + 1).fill(Number.NaN),
    dup: new Float64Array(maxN + 1).fill(Number.NaN),
    stopBelow: new Float64Array(maxN + 1).fill(Number.NEGATIVE_INFINITY),
  };
  for (const n of topNs) limits.top[n] = Number.POSITIVE_INFINITY;
  for (const n of dupNs) limits.dup[n] = Number.POSITIVE_INFINITY;
  const topOut = new Float64Array(maxN + 1);
  const dupOut = new Float64Array(maxN + 1);
  const B = 7;
  return {
    key: { top: topNs, dup: dupNs },
    names: [
      'chars',
      'paragraphs',
      'dup_paragraphs',
      'dup_paragraph_chars',
      'lines',
      'dup_lines',
      'dup_line_chars',
      ...topNs.map((n) => `top_${n}gram_char_frac`),
      ...dupNs.map((n) => `dup_${n}gram_char_frac`),
    ],
    measure(doc, out) {
      out.fill(0);
      const a = doc.analysis;
      const text = a.text;
      out[0] = text.length;
      if (text.length === 0) return;
      const [pe, pd, pc] = paragraphDuplicates(text, sc, paraStarts, paraEnds);
      out[1] = pe;
      out[2] = pd;
      out[3] = pc;
      const [le, ld, lc] = lineDuplicates(a, sc);
      out[4] = le;
      out[5] = ld;
      out[6] = lc;
      if (maxN === 0) return;
      ngramRepetition(a.tokens(), sc, maxN, limits, topOut, dupOut);
      topNs.forEach((n, i) => {
        out[B + i] = topOut[n];
      });
      dupNs.forEach((n, i) => {
        out[B + topNs.length + i] = dupOut[n];
      });
    },
    decide(v) {
      const len = v[0];
      if (len === 0) return true;
      if (v[1] > 0 && v[2] / v[1] > p.max_dup_para_frac) return drop('dup_para_frac');
      if (v[3] / len > p.max_dup_para_char_frac) return drop('dup_para_char_frac');
      if (v[4] > 0 && v[5] / v[4] > p.max_dup_line_frac) return drop('dup_line_frac');
      if (v[6] / len > p.max_dup_line_char_frac) return drop('dup_line_char_frac');
      for (let n = 2; n <= maxN; n++) {
        const ti = topNs.indexOf(n);
        if (ti >= 0 && v[B + ti] > p.top_ngram_char_frac[String(n)]) return drop(`top_${n}gram_char_frac`);
        const di = dupNs.indexOf(n);
        if (di >= 0 && v[B + topNs.length + di] > p.dup_ngram_char_frac[String(n)])
          return drop(`dup_${n}gram_char_frac`);
      }
      return true;
    },
  };
}
