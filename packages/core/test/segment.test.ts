import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasUnspaced, MAX_PIECE, scriptLanguage, segmentWords, WordSegmenter } from '../src/index.js';

const ML = new URL('../../../../shared/data/multilingual/', import.meta.url);
const HAS_ML = existsSync(ML);
const texts = (f: string) =>
  readFileSync(new URL(f, ML), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text);

describe('segmentWords', () => {
  it('keeps the white-space rule for spaced scripts', () => {
    expect(segmentWords('Hello, world -- "quoted" 3.5')).toEqual(['Hello', 'world', 'quoted', '3.5']);
    expect(segmentWords('안녕하세요 세계입니다.')).toEqual(['안녕하세요', '세계입니다']);
  });
  it('splits unspaced scripts with ICU', () => {
    expect(segmentWords('我们是中国人。')).toEqual(['我们', '是', '中国人']);
    expect(segmentWords('สวัสดีครับ ผมชื่อสมชาย')).toEqual(['สวัสดี', 'ครับ', 'ผม', 'ชื่อ', 'สมชาย']);
    expect(segmentWords('Hello世界')).toEqual(['Hello', '世界']);
  });
  it('has no word in punctuation, emoji or empty text', () => {
    expect(segmentWords('')).toEqual([]);
    expect(segmentWords('😀😀 !!! ... 。！？')).toEqual([]);
  });
  it('cuts long runs into pieces (ICU is quadratic in the string length) with the same words', () => {
    const run = '我们是中国人，'.repeat(2000);
    const seg = new WordSegmenter();
    const n = seg.split(run);
    expect(n).toBe(4 * 2000);
    for (let i = 0; i < n; i++) expect(seg.end[i] - seg.start[i]).toBeLessThanOrEqual(MAX_PIECE);
    const noCut = '中'.repeat(3 * MAX_PIECE + 1);
    expect(new WordSegmenter().split(noCut)).toBeGreaterThan(0);
  });
});

describe('hasUnspaced / scriptLanguage', () => {
  it('picks the language of the main script', () => {
    expect(hasUnspaced('plain English text')).toBe(false);
    expect(hasUnspaced('한국어')).toBe(false);
    expect(hasUnspaced('日本')).toBe(true);
    expect(scriptLanguage('The cat sat.')).toBe(null);
    expect(scriptLanguage('东京是日本的首都。')).toBe('zh');
    expect(scriptLanguage('東京は日本の首都です。')).toBe('ja');
    expect(scriptLanguage('서울은 한국의 수도입니다.')).toBe('ko');
    expect(scriptLanguage('กรุงเทพฯ เป็นเมืองหลวง')).toBe('th');
    expect(scriptLanguage('The word 中国 in an English sentence about China.')).toBe(null);
    expect(scriptLanguage('😀 123 !!!')).toBe(null);
    expect(scriptLanguage('𠀀𠀁')).toBe('zh'); // CJK extension B
  });
});

describe.skipIf(!HAS_ML)('on ../shared/data/multilingual', () => {
  it('gives every file the language of its script', () => {
    const want: Record<string, string> = {
      'zh_cmrc2018_dev.jsonl': 'zh',
      'zh_drcd.jsonl': 'zh',
      'ja_jaquad_dev.jsonl': 'ja',
      'ja_jsquad_valid.jsonl': 'ja',
      'ko_wikinews.jsonl': 'ko',
      'th_thaigov_2021_06.jsonl': 'th',
    };
    for (const [f, lang] of Object.entries(want)) {
      const t = texts(f);
      const hits = t.filter((x) => scriptLanguage(x) === lang).length;
      expect(hits / t.length, f).toBeGreaterThan(0.97);
    }
  });
  it('counts words within 2x of ICU on the unspaced files (mean per paragraph)', () => {
    const icu = new Intl.Segmenter(undefined, { granularity: 'word' });
    for (const f of ['zh_cmrc2018_dev.jsonl', 'ja_jsquad_valid.jsonl', 'th_wisesight_neg.jsonl', 'ko_wikinews.jsonl']) {
      const t = texts(f).slice(0, 300);
      let ours = 0;
      let ref = 0;
      for (const x of t) {
        ours += segmentWords(x).length;
        for (const s of icu.segment(x)) if (s.isWordLike) ref++;
      }
      const r = ours / ref;
      expect(r, f).toBeGreaterThan(0.5);
      expect(r, f).toBeLessThan(2);
    }
  });
  it('segments a 160,000-character Thai article (quadratic in one ICU call: minutes)', () => {
    const long = texts('th_thaigov_2021_06.jsonl').reduce((a, b) => (b.length > a.length ? b : a));
    expect(long.length).toBeGreaterThan(100000);
    expect(segmentWords(long).length).toBeGreaterThan(20000);
  });
});
