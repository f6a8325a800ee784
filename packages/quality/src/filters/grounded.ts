/**
 * Groundedness of a response in its context (and prompt): the share of the
 * response's numbers, named entities and content words that appear in neither.
 * A cheap hallucination signal for synthetic rows with a context column.
 *
 * - numbers: digit runs with their `,`/`.` separators (`1,200` = `1200`, `3.50` = `3.5`);
 *   list markers at the start of a line (`1.`, `2)`) are not numbers;
 * - named entities: runs of two or more capitalised words (`Mount Everest`,
 *   `New York City`); supported when each of their words (stop words aside) occurs in
 *   the sources, ignoring case;
 * - content words: lower-cased words of 3+ letters that are not stop words; supported
 *   when the word, or its first 5 letters (a truncation stemmer, so `governed` ~
 *   `government`), occurs in the sources. Words are compared lower-cased and without
 *   diacritics (`Uscie` matches `Uście`).
 *
 * The document is dropped when the unsupported share of numbers or of entities
 * exceeds `max_unsupported`, or that of content words exceeds twice it (answers
 * paraphrase: on Dolly's human answers a content-word gate at 0.2 alone drops 14%,
 * at 0.4 5%); reasons `grounded:numbers`, `grounded:entities`,
 * `grounded:content_words`. Content words are judged only when the response has at
 * least `min_response_words` of them (short answers are all names and numbers).
 * Rows with an empty context are not judged (kept).
 */
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
import { CHAR_CLASS } from '../text.js';

export interface GroundedParams {
  context: string;
  prompt?: string;
  response?: string;
  max_unsupported: number;
  min_response_words: number;
}

export const GROUNDED_DEFAULTS: GroundedParams = {
  context: '',
  prompt: undefined,
  response: undefined,
  max_unsupported: 0.2,
  min_response_words: 5,
};

const LETTER = 1;
const DIGIT = 8;

const STOP = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by can ' +
    'could did do does doing down during each few for from further had has have having he her here hers herself him himself his how ' +
    'i if in into is it its itself just may me might more most must my myself no nor not now of off on once only or other our ours ' +
    'ourselves out over own same she should so some such than that the their theirs them themselves then there these they this those ' +
    'through to too under until up very was we were what when where which while who whom why will with would you your yours yourself ' +
    'yourselves one two many much also however therefore thus yes well like many us'
  ).split(' '),
);

export interface Groundedness {
  numbers: number;
  unsupportedNumbers: number;
  entities: number;
  unsupportedEntities: number;
  words: number;
  unsupportedWords: number;
}

/** Number words in sources also support their digits ("three" supports 3, "third" supports 3). */
const NUMBER_WORDS = new Map<string, string>(
  (
    'zero 0 one 1 two 2 three 3 four 4 five 5 six 6 seven 7 eight 8 nine 9 ten 10 eleven 11 twelve 12 thirteen 13 ' +
    'fourteen 14 fifteen 15 sixteen 16 seventeen 17 eighteen 18 nineteen 19 twenty 20 thirty 30 forty 40 fifty 50 ' +
    'sixty 60 seventy 70 eighty 80 ninety 90 hundred 100 thousand 1000 million 1000000 billion 1000000000 first 1 ' +
    'second 2 third 3 fourth 4 fifth 5 sixth 6 seventh 7 eighth 8 ninth 9 tenth 10 once 1 twice 2 dozen 12 half 50 ' +
    'single 1 double 2 triple 3 pair 2 couple 2'
  )
    .split(' ')
    .reduce<[string, string][]>((acc, x, i, a) => (i % 2 === 0 ? acc.concat([[x, a[i + 1]]]) : acc), []),
);

/** Lower case without diacritics (`Uście` ~ `uscie`), so spellings with and without accents match. */
function fold(w: string): string {
  const l = w.toLowerCase();
  for (let i = 0; i < l.length; i++) {
    if (l.charCodeAt(i) > 127) return l.normalize('NFD').replace(/\p{M}/gu, '');
  }
  return l;
}

function stem(w: string): string {
  return w.length > 5 ? w.slice(0, 5) : w;
}

/** Words (letter/digit runs, lower-cased) and normalised numbers of a source text. */
function indexSource(text: string, words: Set<string>, stems: Set<string>, numbers: Set<string>): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const k = CHAR_CLASS[text.charCodeAt(i)];
    if (k === DIGIT) {
      const [num, end] = readNumber(text, i);
      numbers.add(num);
      i = end;
    } else if (k === LETTER) {
      let j = i + 1;
      while (j < n && (CHAR_CLASS[text.charCodeAt(j)] === LETTER || text.charCodeAt(j) === 39)) j++;
      const w = fold(text.slice(i, j));
      words.add(w);
      stems.add(stem(w));
      const num = NUMBER_WORDS.get(w);
      if (num !== undefined) numbers.add(num);
      i = j;
    } else i++;
  }
}

/** A number starting at `i`: digits with inner `,` or `.` groups; returns the normalised form and end. */
function readNumber(text: string, i: number): [string, number] {
  let j = i;
  let out = '';
  const n = text.length;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (CHAR_CLASS[c] === DIGIT) {
      out += text[j];
      j++;
    } else if ((c === 44 || c === 46) && j + 1 < n && CHAR_CLASS[text.charCodeAt(j + 1)] === DIGIT) {
      if (c === 46) out += '.';
      j++;
    } else break;
  }
  if (out.includes('.')) out = out.replace(/\.?0+$/, '').replace(/^0+(?=\d)/, '');
  else out = out.replace(/^0+(?=\d)/, '');
  return [out, j];
}

function isListMarker(text: string, start: number, end: number): boolean {
  const next = text.charCodeAt(end);
  if (next !== 46 && next !== 41) return false;
  let k = start - 1;
  while (k >= 0 && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k--;
  return k < 0 || text.charCodeAt(k) === 10;
}

/** Count supported and unsupported units of `response` against the source texts. */
export function groundedness(response: string, ...sources: string[]): Groundedness {
  const words = new Set<string>();
  const stems = new Set<string>();
  const numbers = new Set<string>();
  for (const s of sources) indexSource(s, words, stems, numbers);
  const g: Groundedness = {
    numbers: 0,
    unsupportedNumbers: 0,
    entities: 0,
    unsupportedEntities: 0,
    words: 0,
    unsupportedWords: 0,
  };
  const n = response.length;
  let i = 0;
  // current run of capitalised words (entity candidate)
  let runLen = 0;
  let runUnsupported = false;
  const endRun = () => {
    if (runLen >= 2) {
      g.entities++;
      if (runUnsupported) g.unsupportedEntities++;
    }
    runLen = 0;
    runUnsupported = false;
  };
  while (i < n) {
    const c = response.charCodeAt(i);
    const k = CHAR_CLASS[c];
    if (k === DIGIT) {
      endRun();
      const [num, end] = readNumber(response, i);
      if (!isListMarker(response, i, end)) {
        g.numbers++;
        if (!numbers.has(num)) g.unsupportedNumbers++;
      }
      i = end;
    } else if (k === LETTER) {
      let j = i + 1;
      while (j < n && (CHAR_CLASS[response.charCodeAt(j)] === LETTER || response.charCodeAt(j) === 39)) j++;
      const raw = response.slice(i, j);
      const w = fold(raw);
      const supported = words.has(w) || stems.has(stem(w));
      const capital = raw[0] !== raw[0].toLowerCase();
      if (capital) {
        runLen++;
        if (!STOP.has(w) && !supported) runUnsupported = true;
      } else endRun();
      if (w.length >= 3 && !STOP.has(w)) {
        g.words++;
        if (!supported) g.unsupportedWords++;
      }
      i = j;
      // an entity run continues only across single spaces or hyphens
      const sep = response.charCodeAt(i);
      if (!(sep === 32 || sep === 45) || !(i + 1 < n && CHAR_CLASS[response.charCodeAt(i + 1)] === LETTER)) endRun();
      else i++;
    } else {
      endRun();
      i++;
    }
  }
  endRun();
  return g;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

export function grounded(p: GroundedParams): Filter['filter'] {
  return (doc: FilterDoc): FilterResult => {
    const context = text(doc.get(p.context));
    if (context.trim() === '') return true;
    const prompt = p.prompt ? text(doc.get(p.prompt)) : '';
    const response = p.response ? text(doc.get(p.response)) : doc.text;
    const g = groundedness(response, context, prompt);
    const max = p.max_unsupported;
    if (g.numbers > 0 && g.unsupportedNumbers / g.numbers > max) return drop('numbers');
    if (g.entities > 0 && g.unsupportedEntities / g.entities > max) return drop('entities');
    if (g.words >= p.min_response_words && g.unsupportedWords / g.words > 2 * max) return drop('content_words');
    return true;
  };
}
