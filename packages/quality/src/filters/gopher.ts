/**
 * Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models:
 * Methods, Analysis & Insights from Training Gopher", appendix A; thresholds of
 * table A1), with the checks in datatrove's order. A value exactly at a threshold
 * passes.
 */
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
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
function bulletEllipsisLines(a: TextAnalysis): [number, number] {
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

export function gopherQuality(p: GopherQualityParams): Filter['filter'] {
  const stop = stopWordSet(p.stop_words);
  return (doc: FilterDoc): FilterResult => {
    const a = doc.analysis.tokens();
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
 * Top and duplicate n-gram character fractions of the analysed text (`a.tokens()` done), level by
 * level from n = 2 up to `maxN`. At each level `visit(n, top, dup)` receives the fraction of the
 * text's characters in the most common n-gram (counted only when repeated) when `wantTop(n)`, and
 * in n-grams seen before (no overlaps) when `wantDup(n)`, else NaN; it returns false to stop.
 * Levels after the last repeated (n-1)-gram are not visited: their fractions are 0.
 * `dupBound` is an upper bound of the duplicate fraction of every later level: a repeated
 * m-gram (m > n) is made of repeated n-grams, and the counted m-grams do not overlap, so their
 * characters fit in the union of the repeated n-grams' tokens (each with one separator).
 */
export function ngramRepetition(
  a: TextAnalysis,
  sc: RepetitionScratch,
  maxN: number,
  wantTop: (n: number) => boolean,
  wantDup: (n: number) => boolean,
  visit: (n: number, top: number, dup: number, dupBound: number) => boolean,
): void {
  const len = a.text.length;
  const T = a.tokenCount;
  if (T < 2) return;
  // Dense token ids from the token hashes (a small, cache-resident table).
  const c = sc.counter;
  c.clear(Math.min(T, 4096)); // grows as needed: books have ~10^4 distinct tokens, not T
  let V = 0;
  sc.ensure(T, 0);
  {
    const tokId = sc.tokId;
    const cnt = sc.curCount;
    for (let i = 0; i < T; i++) {
      const before = c.size;
      const slot = c.add(a.tokH1[i], a.tokH2[i]);
      const id = c.order[slot];
      if (c.size > before) cnt[id] = 0;
      cnt[id]++;
      tokId[i] = id;
      sc.cur[i] = id;
    }
    V = c.size;
  }
  sc.ensure(T, V);
  const prefix = sc.prefix;
  prefix[0] = 0;
  for (let i = 0; i < T; i++) prefix[i + 1] = prefix[i] + (a.tokEnd[i] - a.tokStart[i]);
  // Level by level, the n-gram at i is (its (n-1)-gram id, token i+n-1). Only n-grams whose
  // (n-1)-gram prefix occurs twice or more can repeat ("candidates", kept in a list); they are
  // grouped by prefix id with a counting sort and numbered per following token: exact ids, no
  // hashing, work proportional to the candidates.
  const { tokId, first, bucket, sorted, stampV, idV, seen } = sc;
  const cand = sc.candA;
  let nc = 0;
  for (let i = 0; i < T; i++) if (sc.curCount[tokId[i]] >= 2) cand[nc++] = i;
  let D = V;
  for (let n = 2; n <= maxN && nc > 0; n++) {
    const m = T - n + 1;
    if (m <= 0) break;
    const { cur, next, nextCount } = sc;
    while (nc > 0 && cand[nc - 1] >= m) nc--;
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
    let topFrac = Number.NaN;
    if (wantTop(n)) {
      // the most common n-gram (first seen among equals, as Counter.most_common); counted only when repeated
      let best = -1;
      let bestCount = 1;
      for (let id = 0; id < newD; id++) {
        const k = nextCount[id];
        if (k > bestCount || (k === bestCount && best >= 0 && first[id] < best)) {
          bestCount = k;
          best = first[id];
        }
      }
      topFrac = 0;
      if (best >= 0) {
        const chars = prefix[best + n] - prefix[best] + n - 1;
        topFrac = (chars * bestCount) / len;
      }
    }
    let dupFrac = Number.NaN;
    if (wantDup(n)) {
      // characters in n-grams seen before, skipping past each repeat (no overlaps counted);
      // n-grams that occur once are never "seen before" and need no visit
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
      dupFrac = repeated / len;
    }
    // next level's candidates: n-grams that repeat (ascending positions)
    let w = 0;
    let covered = 0;
    let coveredEnd = 0;
    for (let k = 0; k < nc; k++) {
      const i = cand[k];
      if (nextCount[next[i]] >= 2) {
        cand[w++] = i;
        // characters (plus one separator each) of the tokens in the union of the repeated n-grams
        const s = Math.max(i, coveredEnd);
        const e = i + n;
        if (e > s) {
          covered += prefix[e] - prefix[s] + (e - s);
          coveredEnd = e;
        }
      }
    }
    if (!visit(n, topFrac, dupFrac, covered / len)) return;
    nc = w;
    sc.swap();
    D = newD;
  }
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
  const wantTop = (n: number) => top.has(n);
  const wantDup = (n: number) => dup.has(n);
  // Per level n: no top rule after n, and the smallest dup threshold after n (to stop early when
  // `dupBound` shows that no later level can exceed its threshold: the verdict cannot change).
  const stopBelow = new Float64Array(maxN + 1).fill(Number.NEGATIVE_INFINITY);
  for (let n = 0; n <= maxN; n++) {
    let min = Number.POSITIVE_INFINITY;
    let topLater = false;
    for (const m of top.keys()) if (m > n) topLater = true;
    for (const [m, f] of dup) if (m > n) min = Math.min(min, f);
    if (!topLater) stopBelow[n] = min;
  }
  let verdict: FilterResult = true;
  const judge = (n: number, topFrac: number, dupFrac: number, dupBound: number): boolean => {
    const t = top.get(n);
    if (t !== undefined && topFrac > t) {
      verdict = drop(`top_${n}gram_char_frac`);
      return false;
    }
    const d = dup.get(n);
    if (d !== undefined && dupFrac > d) {
      verdict = drop(`dup_${n}gram_char_frac`);
      return false;
    }
    return !(dupBound <= stopBelow[n]);
  };
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
    verdict = true;
    ngramRepetition(a.tokens(), sc, maxN, wantTop, wantDup, judge);
    return verdict;
  };
}
