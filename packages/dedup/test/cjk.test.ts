/**
 * Chinese, Japanese, Korean and Thai: planted near-duplicates from ../shared/data/multilingual
 * (characters edited at known rates; the true Jaccard computed on the shingles the hasher uses:
 * character 5-grams for these scripts by default, see README), exact-key spacing rules,
 * decontamination over ICU words, and the bad-input rules.
 */
import { Rng } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { DecontamIndex, exactKey, MinHasher, NearDedupIndex, normalizeText, type Signature } from '../src/index.js';
import { prepareWords, wordHashes } from '../src/normalize.js';
import { jaccard, readJsonlSync } from './helpers.js';

/** Character edits at `rate`: substitute (another character of the text), delete or insert. */
function editChars(t: string, rate: number, rng: Rng): string {
  const cs = Array.from(t);
  const out: string[] = [];
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

const FILES: Record<string, string[]> = {
  zh: ['zh_cmrc2018_dev.jsonl', 'zh_drcd.jsonl'],
  ja: ['ja_jaquad_dev.jsonl', 'ja_jsquad_valid.jsonl'],
  ko: ['ko_wikinews.jsonl', 'ko_book_review01.jsonl', 'ko_book_review02.jsonl'],
  th: ['th_thaigov_2021_06.jsonl', 'th_wisesight_neg.jsonl'],
};
const texts = (f: string) => readJsonlSync(shared('multilingual', f)).map((r) => r.text as string);

describe.skipIf(!HAS_SHARED).each(Object.keys(FILES))('planted near-duplicates, %s', (lang) => {
  // distinct documents of 200+ characters (the Korean news file holds 7 exact duplicates as found)
  const docs = [...new Set(FILES[lang].flatMap(texts))].filter((t) => Array.from(t).length >= 200).slice(0, 1000);
  const mh = new MinHasher();
  const rng = new Rng(2026);
  const set = (t: string) => {
    const s = mh.shingleHashes(t);
    return new Set(Array.from(s.hashes.subarray(0, s.count)));
  };
  const idx = new NearDedupIndex({ threshold: 0.8 });
  const pairs: { j: number; copy: number }[] = [];
  const all: string[] = [];
  let di = 0;
  for (const t of docs) {
    const u = rng.float();
    const rate = u < 0.4 ? rng.float() * 0.01 : u < 0.6 ? 0.01 + rng.float() * 0.03 : 0.04 + rng.float() * 0.1;
    const copy = editChars(t, rate, rng);
    const a = di++;
    const b = di++;
    all.push(t, copy);
    idx.add(a, mh.signature(t) as Signature, { id: `o${a}` });
    idx.add(b, mh.signature(copy) as Signature, { id: `c${b}` });
    pairs.push({ j: jaccard(set(t), set(copy)), copy: b });
  }
  const result = idx.resolve();
  it('has pairs on each side of the threshold', () => {
    expect(pairs.filter((p) => p.j >= 0.87).length).toBeGreaterThan(300);
    expect(pairs.filter((p) => p.j <= 0.6).length).toBeGreaterThan(100);
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
  it('removes an original only for a near-duplicate original (Thai news and tweets hold some as found)', () => {
    for (const [k, r] of result.removed) {
      if (k % 2 === 1 && r.keptIndex === k - 1) continue;
      expect(jaccard(set(all[k]), set(all[r.keptIndex])), `${k} ~ ${r.keptIndex}`).toBeGreaterThan(0.5);
    }
  });
});

describe('shingles by script', () => {
  it('shingles Chinese by characters, English by words, ICU words on request', () => {
    const zh = '我们是中国人，我们爱和平。';
    const chars = normalizeText(zh).length - 4; // char 5-grams
    expect(new MinHasher().shingleHashes(zh).count).toBe(chars);
    expect(new MinHasher({ cjk: 'word', ngram: 1 }).shingleHashes(zh).count).toBe(6); // 我们 是 中国人 我们 爱 和平
    expect(new MinHasher().shingleHashes('one two three four five six').count).toBe(2);
  });
  it('splits unspaced runs into ICU words for word n-grams (decontamination)', () => {
    const w = wordHashes(prepareWords('Hello 我们是中国人 world'), new Uint32Array(4));
    expect(w.count).toBe(5);
  });
  it('finds a Chinese eval paragraph inside a document by 13-word n-grams', () => {
    const evalText = '梵語儘管非常古老，構造卻精妙絕倫：比希臘語還完美，比拉丁語還豐富，精緻之處同時勝過此兩者。';
    const idx = new DecontamIndex({ ngram: 13 });
    idx.addEvalSet('drcd', [evalText]);
    expect(idx.match(`在歐洲，梵語的學術研究開創。${evalText}後來`)?.evalName ?? null).not.toBe(null);
    expect(idx.match('在歐洲，梵語的學術研究，由德國學者陸特和漢斯雷頓開創。後來威廉·瓊斯發現印歐語系。')).toBe(null);
  });
});

describe('exact keys: width, punctuation and spacing', () => {
  it('folds full-width forms and CJK punctuation (NFKC, strip_punctuation)', () => {
    expect(normalizeText('ＡＢＣ１２３')).toBe('abc123');
    expect(exactKey('你好，世界！', { stripPunctuation: true })).toBe(
      exactKey('你好 世界', { stripPunctuation: true }),
    );
    expect(exactKey('「東京」。', { stripPunctuation: true })).toBe(exactKey('東京', { stripPunctuation: true }));
  });
  it('unifies Korean and Thai spacing variants and zero-width spaces', () => {
    expect(normalizeText('아버지가 방에 들어가신다')).toBe(normalizeText('아버지가방에 들어 가신다'));
    expect(normalizeText('ภาษา ไทย')).toBe(normalizeText('ภาษาไทย'));
    expect(normalizeText('ภาษา\u200bไทย')).toBe('ภาษาไทย');
    expect(normalizeText('中文 文本')).toBe('中文文本');
    // spaces next to other scripts stay
    expect(normalizeText('Seoul 서울 city')).toBe('seoul 서울 city');
    expect(normalizeText('hello world')).toBe('hello world');
  });
});

describe('bad input', () => {
  it('punctuation-only and emoji-only texts: exact keys dedup them, near dedup gives no signature to punctuation', () => {
    expect(new MinHasher().signature('。！？……')).toBe(null);
    expect(new MinHasher().signature('!!! ...')).toBe(null);
    expect(exactKey('😀😀')).toBe(exactKey('😀😀'));
    expect(exactKey('😀😀')).not.toBe(exactKey('😀'));
    expect(new MinHasher().signature('😀😀')).not.toBe(null); // emoji are word characters (surrogates)
  });
  it('mixed-script and unsupported-script documents do not throw', () => {
    for (const t of ['English with 中文 and 한국어 and ไทย', 'ᚠᚢᚦᚨᚱᚲ ᚷᚹ', '𓀀𓀁𓀂', '\u0000\uffff', '\ud800']) {
      expect(() => new MinHasher().signature(t)).not.toThrow();
      expect(() => normalizeText(t)).not.toThrow();
    }
  });
});
