/** Word metrics in languages written without spaces: words from @curate/core's segmenter (ICU). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { CorpusMetrics, words } from '../src/index.js';

describe('words in unspaced scripts', () => {
  it('splits Chinese, Japanese and Thai runs into ICU words; English and Korean as before', () => {
    expect(words('我们是中国人。')).toEqual(['我们', '是', '中国人']);
    expect(words('สวัสดีครับ')).toEqual(['สวัสดี', 'ครับ']);
    expect(words("Don't stop 中国 now")).toEqual(["don't", 'stop', '中国', 'now']);
    expect(words('서울은 한국의 수도입니다.')).toEqual(['서울은', '한국의', '수도입니다']);
    expect(words('😀 。！？')).toEqual(['😀']); // emoji are word characters (surrogates), punctuation is not
  });
  it('distinct-1 of Chinese text is below 1 (words repeat; a whole paragraph was one "word" before)', () => {
    const m = new CorpusMetrics();
    for (let i = 0; i < 20; i++) m.add(`我们是中国人，我们爱和平。今天是第${i}天。`);
    const r = m.result();
    expect(r.words).toBeGreaterThan(20 * 8);
    expect(r.distinct[1]).toBeLessThan(0.2);
  });
});

describe.skipIf(!HAS_SHARED)('on ../shared/data/multilingual', () => {
  it('mean words per paragraph within 2x of the ICU segmenter', { timeout: 60000 }, () => {
    const icu = new Intl.Segmenter(undefined, { granularity: 'word' });
    for (const f of [
      'zh_cmrc2018_dev',
      'zh_drcd',
      'ja_jaquad_dev',
      'ja_jsquad_valid',
      'ko_wikinews',
      'th_thaigov_2021_06',
    ]) {
      const texts = readFileSync(shared('multilingual', `${f}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .slice(0, 200)
        .map((l) => (JSON.parse(l) as { text: string }).text.slice(0, 3000)); // one ICU call per text: quadratic
      const m = new CorpusMetrics();
      let ref = 0;
      for (const t of texts) {
        m.add(t);
        for (const s of icu.segment(t)) if (s.isWordLike) ref++;
      }
      const ratio = m.result().words / ref;
      expect(ratio, f).toBeGreaterThan(0.5);
      expect(ratio, f).toBeLessThan(2);
    }
  });
});
