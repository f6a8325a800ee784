import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { exactKeyOfBytes, exactKeyPrepared } from '../src/exact.js';
import { MinHasher } from '../src/minhash.js';
import { prepareWords, wordHashes } from '../src/normalize.js';
import { isSimple, RawTextKernel } from '../src/rawtext.js';
import { readJsonlSync } from './helpers.js';

/** The kernel's words and key for a text, or null when it leaves the text to the string path. */
function viaKernel(k: RawTextKernel, text: string, strip: boolean) {
  const raw = Buffer.from(JSON.stringify(text), 'utf8');
  if (!k.scan(raw, 1, raw.length - 1, strip)) return null;
  return {
    words: [...k.words.subarray(0, k.wordCount)],
    key: exactKeyOfBytes(k.norm.subarray(0, k.normLength)),
    chars: k.chars,
  };
}

function viaString(text: string, strip: boolean) {
  const p = prepareWords(text);
  const w = wordHashes(p, new Uint32Array(16));
  return {
    words: [...w.hashes.subarray(0, w.count)],
    key: exactKeyPrepared(p, { stripPunctuation: strip }),
    chars: text.length,
  };
}

describe('RawTextKernel', () => {
  it('gives the string path words and exact key, or declines', () => {
    const k = new RawTextKernel();
    const texts = [
      '',
      '   ',
      'Hello,   World!',
      '  Ｆｕｌｌ\u00a0WIDTH\r\n\ttext  ',
      '“Curly” quotes — and ‘single’ ones… café Straße',
      'ΣΊΣΥΦΟΣ σίσυφος',
      'İstanbul',
      'e\u0301 combining',
      'ﬁne ligature',
      'emoji 😀 here',
      'tabs\tand\nnewlines\\ and "quotes" and / slashes \u0001 \u001f \u007f',
      'Ελληνικά κείμενα και Кириллица текст',
      '中文文本 日本語のテキスト 한국어 텍스트',
      'a\u2028b\u2029c\u3000d\ufeffe\u200bf',
      '¡Qué! ¿Cómo? «quotes» ‹single› — – - ‐',
    ];
    let declined = 0;
    for (const t of texts) {
      for (const strip of [false, true]) {
        const a = viaKernel(k, t, strip);
        if (a === null) declined++;
        else expect(a, `${JSON.stringify(t)} strip=${strip}`).toEqual(viaString(t, strip));
      }
    }
    // NFKC changes, combining marks, Σ, İ and astral characters go to the string path
    expect(declined).toBeGreaterThanOrEqual(12);
    expect(declined).toBeLessThan(texts.length * 2);
  });

  it('calls no character simple that NFKC could change in context (second of a canonical pair)', () => {
    const seconds = new Set<number>();
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const d = String.fromCharCode(c).normalize('NFD');
      for (let i = 1; i < d.length; i++) seconds.add(d.charCodeAt(i));
    }
    expect(seconds.size).toBeGreaterThan(100);
    const wrong = [...seconds].filter((c) => isSimple(c));
    expect(wrong).toEqual([]);
    for (let c = 0x80; c < 0x10000; c += 7) {
      if (!isSimple(c)) continue;
      const ch = String.fromCharCode(c);
      expect(ch.normalize('NFKC')).toBe(ch);
      expect(`a${ch}b`.normalize('NFKC').toLowerCase()).toBe(`a${ch}b`.toLowerCase());
    }
  });
});

describe('MinHasher.signatureOfWords', () => {
  it('equals shingles + signatureOfShingles for every n-gram, permutation count and kernel', () => {
    const texts = ['', 'one', 'two words', 'a b c d', 'a b c d e', 'the quick brown fox jumps over the lazy dog again'];
    for (let i = 0; i < 20; i++)
      texts.push(Array.from({ length: 3 + i * 7 }, (_, j) => `w${(j * 7919 + i) % 23}`).join(' '));
    for (const ngram of [1, 3, 5, 7])
      for (const numPerm of [2, 100, 128, 256])
        for (const algorithm of ['oph', 'classic'] as const) {
          const mh = new MinHasher({ ngram, numPerm, algorithm });
          for (const t of texts) {
            const w = wordHashes(prepareWords(t), new Uint32Array(4));
            const words = w.hashes.slice(0, w.count);
            const sh = mh.shinglesOfWords(words, w.count);
            const expected = w.count ? [...mh.signatureOfShingles(sh.hashes.slice(0, sh.count), sh.count)] : null;
            const got = mh.signatureOfWords(words, w.count);
            expect(got ? [...got] : null).toEqual(expected);
            expect(mh.signature(t) ? [...(mh.signature(t) as Int32Array)] : null).toEqual(expected);
          }
        }
  });
});

describe.skipIf(!HAS_SHARED)('RawTextKernel on real text', () => {
  it('matches the string path on every Gutenberg book (or declines it)', () => {
    const k = new RawTextKernel();
    let fast = 0;
    for (let s = 0; s < 4; s++) {
      for (const row of readJsonlSync(shared('real_text', 'gutenberg', `gutenberg-0000${s}-of-00004.jsonl`))) {
        const text = (row.text as string).slice(0, 20000);
        const a = viaKernel(k, text, false);
        if (a === null) continue;
        fast++;
        expect(a).toEqual(viaString(text, false));
      }
    }
    expect(fast).toBeGreaterThan(150);
  }, 60_000);
});
