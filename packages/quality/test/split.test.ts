/**
 * Filters split into measured values and a decision (Filter.signals, what the staged mix stores per
 * row): `decide(measure(doc))` equals `filter(doc)` on every row of real text, with the default
 * thresholds and with thresholds moved to where they bite, so a re-mix that only changes thresholds
 * decides exactly as a full scan would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFilter, FilterChain } from '../dist/index.js';

function texts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').slice(0, 3000)) {
    if (!line) continue;
    const r = JSON.parse(line);
    out.push(`${r.instruction}\n\n${r.context}\n\n${r.response}`);
  }
  for (const line of readFileSync(shared('real_text', 'c4_sample.jsonl'), 'utf8').split('\n').slice(0, 2000)) {
    if (line) out.push(JSON.parse(line).text);
  }
  const dir = shared('real_text', 'gutenberg');
  for (const f of readdirSync(dir).sort().slice(0, 3)) {
    const book = readFileSync(`${dir}/${f}`, 'utf8');
    // whole chapters-sized pieces: long documents with repeated lines and n-grams
    for (let i = 0; i < book.length && i < 3_000_000; i += 60_000) out.push(book.slice(i, i + 60_000));
  }
  // Chinese, Japanese, Korean and Thai: per-language rules (the language is a stored value)
  for (const f of ['zh_cmrc2018_dev', 'ja_jsquad_valid', 'ko_wikinews', 'th_wisesight_neg']) {
    const lines = readFileSync(shared('multilingual', `${f}.jsonl`), 'utf8')
      .split('\n')
      .slice(0, 300);
    for (const line of lines) if (line) out.push(JSON.parse(line).text);
  }
  out.push('', '\n', '...', '# # #', '\u2022 a\n\u2022 b', 'word '.repeat(200));
  return out;
}

const CONFIGS: [string, object][] = [
  ['gopher_quality', {}],
  ['gopher_quality', { min_words: 20, max_words: 2000, min_stop_words: 4, min_alpha_words_ratio: 0.9 }],
  ['gopher_quality', { max_symbol_word_ratio: 0.01, max_bullet_lines_ratio: 0.1, max_mean_word_length: 5 }],
  ['gopher_repetition', {}],
  ['gopher_repetition', { max_dup_line_frac: 0.05, max_dup_para_char_frac: 0.05 }],
  [
    'gopher_repetition',
    {
      top_ngram_char_frac: { '2': 0.05, '3': 0.04, '4': 0.03 },
      dup_ngram_char_frac: { '5': 0.05, '6': 0.04, '7': 0.03, '8': 0.03, '9': 0.02, '10': 0.02 },
    },
  ],
  ['fineweb', {}],
  ['fineweb', { languages: { th: false, zh: { short_line_length: 20 } } }],
  ['gopher_quality', { languages: { ja: { min_words: 25 }, ko: false } }],
  ['fineweb', { min_punct_line_ratio: 0.5, max_short_line_ratio: 0.2, max_newline_word_ratio: 0.05 }],
  ['length', { min: 50, max: 400 }],
  ['length', { unit: 'chars', min: 300 }],
];

describe.skipIf(!HAS_SHARED)('filter signals: decide(measure(doc)) === filter(doc)', () => {
  const docs = texts();
  for (const [name, params] of CONFIGS) {
    it(`${name} ${JSON.stringify(params)}`, async () => {
      const f = createFilter(name, params);
      await f.prepare?.();
      const s = f.signals;
      if (!s) throw new Error(`${name} has no signals`);
      const chain = new FilterChain([f]);
      const values = new Float64Array(s.names.length);
      let drops = 0;
      for (const text of docs) {
        const doc = chain.doc.set(text, 'src', 'real');
        const expected = f.filter(doc);
        const d2 = chain.doc.set(text, 'src', 'real');
        s.measure(d2, values);
        const got = s.decide(values);
        expect(got).toEqual(expected);
        if (got !== true) drops++;
      }
      // the thresholds bite: some documents are dropped and some kept
      expect(drops).toBeGreaterThan(0);
      expect(drops).toBeLessThan(docs.length);
    });
  }
});
