/**
 * Groundedness of a response in its context (and prompt): which of the response's
 * numbers, named entities and content words appear in neither. A cheap hallucination
 * signal for synthetic rows with a context column. README "grounded" documents every rule
 * and its measured effect on Dolly.
 *
 * - numbers: digit runs with their `,`/`.` separators, normalised (`1,200` = `1200`,
 *   `3.50` = `3.5`, `$5` = `5`, `25%` = `25`, `3rd` = `3`); a scale word after a number
 *   also gives the scaled value (`1.5 million` = `1500000`); in the sources number words
 *   and roman numerals count too (`twenty-eight`, `ten`, `third`, `II`); in the response a
 *   decade `60s` also matches `1960`, a range `1995-96` also `1996`, `19th century` and
 *   `1800s` any source year 1800-1899, a round figure after a hedge word (`about 650`) a
 *   source value that rounds to it; a number that is the sum, difference or product of two
 *   others of the response is supported. Not numbers: list markers and digits glued to
 *   letters before them (`A380`). Full-width digits read as ASCII, `2½`, `1⁄2` and `2+1⁄2` as
 *   fractions. An unsupported number is *contradicted* when the sources hold another number
 *   between the same two words (`born May 50, 1985` against `born May 11, 1985`) or after the
 *   same content word (`census 2011` against `census 2006`), within a sentence; function words
 *   alone (`from 1911 to`) are no evidence;
 * - named entities: runs of two or more capitalised words (`Mount Everest`, `University
 *   of Connecticut`); a leading function word (`The`) or sentence-initial common word
 *   (`Founder`, written lower-case in the sources) is not part of the name. A name is
 *   unsupported when more than half of its words are: a word is supported as written, by
 *   its first 5 letters, within one or two edits (a misspelling), or as the acronym of a
 *   source name; the whole name by its initials (`United States` ~ `U.S.`);
 * - content words: lower-cased words of 3+ letters that are not function words; supported
 *   when the word or its first 5 letters occur in the sources. Words are compared
 *   lower-cased and without diacritics (`Uscie` matches `Uście`).
 *
 * Scoring (`max_unsupported` = m, default 0.2): numbers and names are strong evidence,
 * content words weak (answers paraphrase). The document is dropped when
 * - more than m of its numbers are unsupported, or more than m/4 contradicted (`grounded:numbers`:
 *   one wrong figure among up to 20, as for names), or
 * - more than m/4 of its names are (`grounded:entities`: at the default, any invented name
 *   among up to 20), or
 * - more than 4m of its content words are, judged only with at least `min_response_words`
 *   content words (`grounded:content_words`). 4m, not 3m, since December 2026: chosen on the tuning
 *   half of Dolly as the largest factor that kept every injection kind within one point (5m let
 *   other rows' answers through: 94.9% -> 73.6% caught); held-out human pass 89.3% -> 90.3%.
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

export interface Groundedness {
  numbers: number;
  unsupportedNumbers: number;
  /**
   * Unsupported numbers standing where the sources have another number between the same two
   * words (`born May 50, 1985` against `born May 11, 1985`): a contradicted figure, not outside
   * knowledge. Counted within `unsupportedNumbers` too.
   */
  contradictedNumbers: number;
  entities: number;
  unsupportedEntities: number;
  words: number;
  unsupportedWords: number;
  /** With `{ detail: true }`: the unsupported units as written (`N:`, `E:`, `W:` prefixed). */
  missing?: string[];
}

const LETTER = 1;
const DIGIT = 8;

/** English function words (NLTK's list, contractions, and a few discourse words). */
const STOP = new Set(
  (
    "a about above after again against all am an and any are aren't as at be because been before being below between both but by " +
    "can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from further had hadn't has hasn't " +
    "have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't " +
    "it it's its itself let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own " +
    "same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there there's " +
    "these they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were " +
    "weren't what what's when when's where where's which while who who's whom why why's will with won't would wouldn't you you'd you'll " +
    "you're you've your yours yourself yourselves also however therefore thus yes well like us may might must shall etc via per upon " +
    'within without among amongst although though whether either neither yet still even ever every much many one two ' +
    'now just don should would could also s t d ll m o re ve y since due often usually later another several various ' +
    'including include includes included following follows known called named based using used make made take took ' +
    'became become becomes get got given give gives way ways time times new number part example total around across ' +
    'different certain main major overall together throughout despite prior especially mostly mainly generally typically ' +
    'approximately about roughly nearly almost around currently previously originally eventually finally actually'
  ).split(' '),
);

/** Lower-case connectors inside a name (`University of Connecticut`, `Ludwig van Beethoven`). */
const CONNECTORS = new Set('of de da del della di du van von der den la le al bin ibn y'.split(' '));

const UNITS = new Map<string, number>(
  Object.entries({
    zero: 0,
    one: 1,
    two: 2,
    three: 3,
    four: 4,
    five: 5,
    six: 6,
    seven: 7,
    eight: 8,
    nine: 9,
    ten: 10,
    eleven: 11,
    twelve: 12,
    thirteen: 13,
    fourteen: 14,
    fifteen: 15,
    sixteen: 16,
    seventeen: 17,
    eighteen: 18,
    nineteen: 19,
    first: 1,
    second: 2,
    third: 3,
    fourth: 4,
    fifth: 5,
    sixth: 6,
    seventh: 7,
    eighth: 8,
    ninth: 9,
    tenth: 10,
    eleventh: 11,
    twelfth: 12,
    thirteenth: 13,
    fourteenth: 14,
    fifteenth: 15,
    sixteenth: 16,
    seventeenth: 17,
    eighteenth: 18,
    nineteenth: 19,
    once: 1,
    twice: 2,
    single: 1,
    double: 2,
    triple: 3,
    pair: 2,
    couple: 2,
    dozen: 12,
  }),
); // prettier-ignore
const TENS = new Map<string, number>(
  Object.entries({
    twenty: 20,
    thirty: 30,
    forty: 40,
    fifty: 50,
    sixty: 60,
    seventy: 70,
    eighty: 80,
    ninety: 90,
    twentieth: 20,
    thirtieth: 30,
    fortieth: 40,
    fiftieth: 50,
    sixtieth: 60,
    seventieth: 70,
    eightieth: 80,
    ninetieth: 90,
  }),
); // prettier-ignore
const SCALES = new Map<string, number>(
  Object.entries({
    hundred: 100,
    thousand: 1e3,
    million: 1e6,
    billion: 1e9,
    trillion: 1e12,
    hundredth: 100,
    thousandth: 1e3,
    millionth: 1e6,
    bn: 1e9,
    mn: 1e6,
  }),
); // prettier-ignore
const NUMBER_WORD = new Set([...UNITS.keys(), ...TENS.keys(), ...SCALES.keys(), 'half', 'hundreds']);

/** Lower case without diacritics (`Uście` ~ `uscie`), so spellings with and without accents match. */
function fold(w: string): string {
  const l = w.toLowerCase();
  for (let i = 0; i < l.length; i++) {
    if (l.charCodeAt(i) > 127)
      return l
        .normalize('NFD')
        .replace(/\p{M}/gu, '')
        .replace(/\u2019/g, "'");
  }
  return l;
}

/** `UNESCO's` -> `unesco`, `Actors'` -> `actors`. */
function bare(w: string): string {
  if (w.endsWith("'s")) return w.slice(0, -2);
  if (w.endsWith("'")) return w.slice(0, -1);
  return w;
}

/**
 * A truncation stemmer: the first 5 letters (`governed` ~ `government`, `included` ~ `includes`).
 * Measured against Porter (npm `stemmer`) on Dolly: the same pass and fail rates to 0.1 point,
 * at a fraction of the cost, so no dependency.
 */
function stem(w: string): string {
  return w.length > 5 ? w.slice(0, 5) : w;
}

/** Canonical text of a number value: integers without separators, decimals without trailing zeros. */
function canon(v: number): string {
  if (!Number.isFinite(v)) return '';
  const r = Math.round(v * 1e6) / 1e6;
  return String(r);
}

interface NumberToken {
  /** normalised value as written */
  value: string;
  end: number;
  /** the digits as written (for decades and ranges) */
  digits: string;
}

/** Vulgar fractions (`2½` = 2.5). */
const VULGAR = new Map<number, number>([
  [0xbc, 0.25],
  [0xbd, 0.5],
  [0xbe, 0.75],
  [0x2153, 1 / 3],
  [0x2154, 2 / 3],
  [0x2155, 0.2],
  [0x215b, 0.125],
  [0x215c, 0.375],
  [0x215d, 0.625],
  [0x215e, 0.875],
]);

/**
 * A number starting at `i`: digits with inner `,` or `.` groups. Full-width digits read as ASCII
 * (`１２` = `12`); a vulgar fraction or `a⁄b` (U+2044) adds its value (`2½`, `1⁄2` = 0.5).
 */
function readNumber(text: string, i: number): NumberToken {
  let j = i;
  let digits = '';
  const n = text.length;
  let dots = 0;
  let frac = 0;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c >= 0x30 && c <= 0x39) {
      digits += text[j];
      j++;
    } else if (c >= 0xff10 && c <= 0xff19) {
      digits += String.fromCharCode(c - 0xff10 + 0x30);
      j++;
    } else if (VULGAR.has(c)) {
      frac = VULGAR.get(c) as number;
      j++;
      break;
    } else if (c === 0x2044 && digits !== '' && !digits.includes('.') && CHAR_CLASS[text.charCodeAt(j + 1)] === DIGIT) {
      // `1⁄2`: the denominator's digits
      let k = j + 1;
      let d = '';
      while (k < n && text.charCodeAt(k) >= 0x30 && text.charCodeAt(k) <= 0x39) d += text[k++];
      if (d === '' || Number(d) === 0) break;
      frac = Number(digits) / Number(d);
      digits = '';
      j = k;
      break;
    } else if (CHAR_CLASS[c] === DIGIT) {
      digits += text[j];
      j++;
    } else if (
      c === 44 ? isThousands(text, j) : c === 46 && j + 1 < n && CHAR_CLASS[text.charCodeAt(j + 1)] === DIGIT
    ) {
      if (c === 46) {
        digits += '.';
        dots++;
      }
      j++;
    } else break;
  }
  // `1.000.000` (dots as thousands separators)
  if (dots > 1) digits = digits.replace(/\./g, '');
  const v = Number(digits) + frac;
  return { value: Number.isFinite(v) && /^[0-9.]*$/.test(digits) ? canon(v) : digits, end: j, digits };
}

/** `,` at `j` separates thousands: exactly three digits follow (`1,200`, not `1968,1972`). */
function isThousands(text: string, j: number): boolean {
  for (let k = 1; k <= 3; k++) if (CHAR_CLASS[text.charCodeAt(j + k)] !== DIGIT) return false;
  return CHAR_CLASS[text.charCodeAt(j + 4)] !== DIGIT;
}

/** The word starting after `i` (skipping spaces), lower-cased, or ''. */
function nextWord(text: string, i: number): string {
  let k = i;
  while (k < text.length && text.charCodeAt(k) === 32) k++;
  let e = k;
  while (e < text.length && CHAR_CLASS[text.charCodeAt(e)] === LETTER) e++;
  return e > k ? text.slice(k, e).toLowerCase() : '';
}

/** Values a number also stands for: the scaled value (`1.5 million`), decades, range ends. */
function alternatives(text: string, start: number, t: NumberToken, out: string[]): void {
  const next = nextWord(text, t.end);
  const scale = SCALES.get(next);
  if (scale !== undefined) out.push(canon(Number(t.value) * scale));
  // `2+1⁄2`, `2 1⁄2` -> 2.5
  const c = text.charCodeAt(t.end);
  if ((c === 43 || c === 32) && /^\d$/.test(text[t.end + 1] ?? '')) {
    const m = /^[+ ](\d+)\u2044(\d+)/.exec(text.slice(t.end, t.end + 12));
    if (m && Number(m[2]) > 0) out.push(canon(Number(t.value) + Number(m[1]) / Number(m[2])));
  }
  const d = t.digits;
  if (d.length === 2) {
    const after = text.charCodeAt(t.end);
    const before = text.charCodeAt(start - 1);
    // `60s`, `'60s` -> 1960, 2060
    if (after === 115 || before === 39 || before === 0x2019) out.push(`19${d}`, `20${d}`);
    // `1995-96`, `1995–96` -> 1996
    if (before === 45 || before === 0x2013 || before === 47) {
      const m = /(\d{2})\d{2}$/.exec(text.slice(Math.max(0, start - 5), start - 1));
      if (m) out.push(m[1] + d);
    }
  }
}

/**
 * A list marker: one or two digits and `.` or `)` before more text, at the start of a line or
 * after a sentence end (`... 1922. 2. At the ...`); `)` markers also after a comma (`1) X, 2) Y`).
 */
function isListMarker(text: string, start: number, end: number): boolean {
  if (end - start > 2) return false;
  const next = text.charCodeAt(end);
  if (next !== 46 && next !== 41) return false;
  const after = text.charCodeAt(end + 1);
  if (!(after === 32 || after === 9 || after === 10) || text.trim().length <= end + 1) return false;
  let k = start - 1;
  while (k >= 0 && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9 || text.charCodeAt(k) === 40)) k--;
  if (k < 0) return true;
  const p = text.charCodeAt(k);
  if (p === 44) return next === 41 && text.charCodeAt(start - 1) !== 40;
  return p === 10 || p === 13 || p === 46 || p === 58 || p === 59 || p === 0x2022;
}

/** Words before a number that mark it as rounded (`about 650` may stand for 652). */
const HEDGES = new Set(
  'about approximately around nearly almost roughly over under some circa c ca estimated approx than close to'.split(
    ' ',
  ),
);

function isHedged(text: string, start: number): boolean {
  let k = start - 1;
  while (k >= 0 && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 36 || text.charCodeAt(k) === 126)) {
    if (text.charCodeAt(k) === 126) return true; // `~650`
    k--;
  }
  let b = k + 1;
  while (b > 0 && CHAR_CLASS[text.charCodeAt(b - 1)] === LETTER) b--;
  return b <= k && HEDGES.has(text.slice(b, k + 1).toLowerCase());
}

/** `x` rounded to the significant digits of `r` (`652` at the precision of `650` is `650`). */
function roundsTo(x: number, r: number): boolean {
  if (r === 0 || !Number.isInteger(r)) return false;
  let unit = 1;
  while (r % (unit * 10) === 0) unit *= 10;
  return unit >= 10 && Math.round(x / unit) * unit === r;
}

const ROMAN: Record<string, number> = { i: 1, v: 5, x: 10, l: 50, c: 100, d: 500, m: 1000 };
/** `II` -> 2, `XIV` -> 14 (upper-case, two letters or more), else -1. */
function roman(raw: string): number {
  if (raw.length < 2 || raw.length > 7 || !/^[IVXLCDM]+$/.test(raw)) return -1;
  let v = 0;
  const w = raw.toLowerCase();
  for (let i = 0; i < w.length; i++) {
    const a = ROMAN[w[i]];
    const b = i + 1 < w.length ? ROMAN[w[i + 1]] : 0;
    v += a < b ? -a : a;
  }
  return v > 0 && v < 4000 ? v : -1;
}

/** Damerau-Levenshtein distance of `a` and `b` is at most `max` (1 or 2); for misspelt names. */
function near(a: string, b: string, max: number): boolean {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return false;
  let prev2 = new Array<number>(lb + 1).fill(0);
  let prev = Array.from({ length: lb + 1 }, (_, j) => j);
  for (let i = 1; i <= la; i++) {
    const cur = new Array<number>(lb + 1);
    cur[0] = i;
    let best = i;
    for (let j = 1; j <= lb; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < best) best = v;
    }
    if (best > max) return false;
    prev2 = prev;
    prev = cur;
  }
  return prev[lb] <= max;
}

/** Everything the sources (context and prompt) support. */
class Sources {
  words = new Set<string>();
  stems = new Set<string>();
  /** words written in lower case somewhere in the sources */
  lower = new Set<string>();
  numbers = new Set<string>();
  /** numeric values, for centuries, decades and rounded figures */
  values: number[] = [];
  /** initials of capitalised runs (`North Atlantic Treaty Organization` -> `nato`) and dotted acronyms (`U.S.`) */
  acronyms = new Set<string>();
  /** `prev|next` for every source number: the words (or numbers) on its two sides */
  slots = new Set<string>();

  private slot(prev: string, next: string): void {
    this.slots.add(`${prev}|${next}`);
    this.slots.add(`${prev}|*`);
    this.slots.add(`*|${next}`);
  }

  private num(v: string): void {
    if (!this.numbers.has(v)) {
      this.numbers.add(v);
      const x = Number(v);
      if (Number.isFinite(x)) this.values.push(x);
    }
  }

  add(text: string): void {
    const n = text.length;
    let i = 0;
    let initials = '';
    let dotted = '';
    // number words: total + current of a run of number words (`one hundred and fifty`)
    let total = 0;
    let current = -1;
    const flushWords = () => {
      if (current >= 0 || total > 0) this.num(canon(total + Math.max(current, 0)));
      total = 0;
      current = -1;
    };
    const flushInitials = () => {
      if (initials.length >= 2) this.acronyms.add(initials);
      initials = '';
    };
    const alts: string[] = [];
    // the token before the last number, waiting for the token after it (punctuation is skipped)
    let prevTok = '';
    let open: string | null = null;
    while (i < n) {
      const k = CHAR_CLASS[text.charCodeAt(i)];
      if (k === DIGIT) {
        flushWords();
        flushInitials();
        const t = readNumber(text, i);
        if (open !== null) this.slot(open, t.value);
        open = prevTok;
        prevTok = t.value;
        this.num(t.value);
        alts.length = 0;
        alternatives(text, i, t, alts);
        for (const a of alts) this.num(a);
        i = t.end;
      } else if (k === LETTER) {
        let j = i + 1;
        while (j < n && (CHAR_CLASS[text.charCodeAt(j)] === LETTER || isApostrophe(text.charCodeAt(j)))) j++;
        const raw = text.slice(i, j);
        const w = bare(fold(raw));
        if (!isSuffix(text, i, w)) {
          if (open !== null) this.slot(open, w);
          open = null;
          prevTok = w;
        }
        this.words.add(w);
        this.stems.add(stem(w));
        const capital = raw[0] !== raw[0].toLowerCase();
        if (!capital) this.lower.add(w);
        if (capital) initials += w[0];
        else if (!CONNECTORS.has(w) && w !== 'and' && w !== 'for' && w !== 'the') flushInitials();
        // `U.S.`, `U.K.` -> us, uk
        if (j - i === 1 && text.charCodeAt(j) === 46) {
          dotted += w;
          if (dotted.length >= 2) this.words.add(dotted);
        } else dotted = '';
        const r = capital ? roman(raw) : -1;
        if (r > 0) this.num(String(r));
        // number words
        const known = NUMBER_WORD.has(w);
        const u = known ? UNITS.get(w) : undefined;
        const t = known ? TENS.get(w) : undefined;
        const s = known ? SCALES.get(w) : undefined;
        if (u !== undefined) {
          this.num(String(u));
          current = Math.max(current, 0) + u;
        } else if (t !== undefined) {
          this.num(String(t));
          current = Math.max(current, 0) + t;
        } else if (s !== undefined && current >= 0) {
          if (s === 100) current *= 100;
          else {
            total += current * s;
            current = 0;
          }
        } else if (w === 'half') {
          this.num('50');
          this.num('0.5');
        } else if (w !== 'and' && w !== 'a') flushWords();
        i = j;
        // hyphens join number words (`twenty-eight`); anything but a space or hyphen ends the run
        const c = text.charCodeAt(i);
        if (c !== 32 && c !== 45) flushWords();
      } else {
        const c = text.charCodeAt(i);
        if (c !== 32 && c !== 45) {
          flushInitials();
          flushWords();
        }
        // a number's neighbours are in its sentence
        if (endsSentence(c)) {
          if (open !== null) this.slot(open, '');
          open = null;
          prevTok = '';
        }
        if (c !== 46) dotted = '';
        i++;
      }
    }
    flushWords();
    flushInitials();
    if (open !== null) this.slot(open, '');
  }

  has(w: string): boolean {
    return this.words.has(w) || this.stems.has(stem(w));
  }

  /** A misspelling of a source word (`Heminway` ~ `Hemingway`): one edit from 4 letters, two from 9. */
  near(w: string): boolean {
    if (w.length < 4) return false;
    const max = w.length >= 9 ? 2 : 1;
    for (const s of this.words) if (s[0] === w[0] && near(w, s, max)) return true;
    return false;
  }

  /** Any source value in [lo, hi). */
  within(lo: number, hi: number): boolean {
    for (const v of this.values) if (v >= lo && v < hi) return true;
    return false;
  }

  /** A rounded figure (`about 650`) of a source value (`652`). */
  rounded(r: number): boolean {
    for (const v of this.values) if (roundsTo(v, r)) return true;
    return false;
  }
}

/** `th` of `17th`, `s` of `1960s`: part of the number, not its neighbour. */
function isSuffix(text: string, i: number, w: string): boolean {
  return (
    i > 0 &&
    CHAR_CLASS[text.charCodeAt(i - 1)] === DIGIT &&
    (w === 'th' || w === 'st' || w === 'nd' || w === 'rd' || w === 's')
  );
}

function isApostrophe(c: number): boolean {
  return c === 39 || c === 0x2019;
}

/** Sentence ends, line breaks and list bullets start a sentence. */
function endsSentence(c: number): boolean {
  return c === 46 || c === 33 || c === 63 || c === 58 || c === 10 || c === 13 || c === 59 || c === 0x2022;
}

/** Count supported and unsupported units of `response` against the source texts. */
export function groundedness(response: string, ...sources: string[]): Groundedness {
  return measure(response, sources, false);
}

/** Like `groundedness`, with the unsupported units listed in `missing`. */
export function groundednessDetail(response: string, ...sources: string[]): Groundedness {
  return measure(response, sources, true);
}

interface ResponseNumber {
  token: NumberToken;
  start: number;
  ok: boolean;
  /** the tokens on its two sides (`Sources.slots`) */
  prev: string;
  next: string;
}

/** Is a response number supported by the sources (as written, scaled, as a century or decade, rounded)? */
function numberSupported(src: Sources, response: string, start: number, t: NumberToken, alts: string[]): boolean {
  if (src.numbers.has(t.value)) return true;
  alts.length = 0;
  alternatives(response, start, t, alts);
  for (const a of alts) if (src.numbers.has(a)) return true;
  const v = Number(t.value);
  if (!Number.isFinite(v)) return false;
  const next = nextWord(response, t.end);
  // `19th century` ~ any year 1800-1899; `1800s` ~ 1800-1899, `1990s` ~ 1990-1999
  if (next === 'th' || next === 'st' || next === 'nd' || next === 'rd') {
    if (nextWord(response, t.end + 2) === 'century' && v >= 1 && v <= 21) return src.within((v - 1) * 100, v * 100);
  }
  if (next === 's' && v >= 1000 && v % 10 === 0) return src.within(v, v + (v % 100 === 0 ? 100 : 10));
  if (isHedged(response, start) && src.rounded(v)) return true;
  return false;
}

/**
 * A number that is the sum, difference, product or quotient of two other numbers of the response
 * (`started in 1539, completed in 1597: 58 years`; number words count as operands: `three wins and
 * two podiums: 5 times`).
 */
function derived(self: ResponseNumber, all: ResponseNumber[], words: number[]): boolean {
  const v = Number(self.token.value);
  // 0, 1 and the number itself are no evidence (`x * 1`, `x + 0`)
  const ops: number[] = [];
  for (const w of words) if (w > 1 && w !== v) ops.push(w);
  for (const x of all) {
    const y = Number(x.token.value);
    if (x !== self && y > 1 && y !== v) ops.push(y);
  }
  const whole = Number.isInteger(v);
  for (let a = 0; a < ops.length; a++) {
    const x = ops[a];
    for (let b = a + 1; b < ops.length; b++) {
      const y = ops[b];
      if (Math.abs(x - y) === v || x + y === v || x * y === v) return true;
      // quotients only for fractional results (`3,015,926 / 100,000 = 30.15926`)
      if (!whole && (Math.abs(x / y - v) <= 1e-6 * Math.abs(v) || Math.abs(y / x - v) <= 1e-6 * Math.abs(v)))
        return true;
    }
  }
  return false;
}

/**
 * Does the sources' text hold another number where the response has this one? 2: between the
 * same two tokens (`born May 50, 1985` ~ `born May 11, 1985`); 1: after the same word or before
 * it (`In 1989, Applegate` ~ `In 1898, Applegate`); 0: no. Only content words and numbers are
 * evidence (`from 1911 to` is not); the tokens are within the sentence.
 */
function isNumeric(t: string): boolean {
  const c = t.charCodeAt(0);
  return c >= 48 && c <= 57;
}

function contradicted(src: Sources, x: ResponseNumber): number {
  const cp = x.prev !== '' && !STOP.has(x.prev);
  const cn = x.next !== '' && !STOP.has(x.next);
  if (!cp && !cn) return 0;
  if (src.slots.has(`${x.prev}|${x.next}`)) return cp && cn ? 2 : 1;
  return cp && !isNumeric(x.prev) && src.slots.has(`${x.prev}|*`) ? 1 : 0;
}

function measure(response: string, sources: string[], detail: boolean): Groundedness {
  const src = new Sources();
  for (const s of sources) src.add(s);
  const g: Groundedness = {
    numbers: 0,
    unsupportedNumbers: 0,
    contradictedNumbers: 0,
    entities: 0,
    unsupportedEntities: 0,
    words: 0,
    unsupportedWords: 0,
  };
  const missing: string[] | undefined = detail ? (g.missing = []) : undefined;
  const n = response.length;
  let i = 0;
  let sentenceStart = true;
  // current run of capitalised words (entity candidate)
  let runWords = 0; // capitalised words in the run
  let runUnsupported = 0;
  let runStart = -1;
  let runEnd = 0;
  let runInitials = '';
  let pendingConnector = false;
  const endRun = () => {
    if (runWords >= 2) {
      g.entities++;
      if (runUnsupported * 2 > runWords && !src.words.has(runInitials)) {
        g.unsupportedEntities++;
        missing?.push(`E:${response.slice(runStart, runEnd)}`);
      }
    }
    runWords = 0;
    runUnsupported = 0;
    runStart = -1;
    runInitials = '';
    pendingConnector = false;
  };
  const alts: string[] = [];
  const nums: ResponseNumber[] = [];
  const numberWords: number[] = [];
  let prevTok = '';
  let open: ResponseNumber | null = null;
  while (i < n) {
    const c = response.charCodeAt(i);
    const k = CHAR_CLASS[c];
    if (k === DIGIT) {
      endRun();
      const t = readNumber(response, i);
      const glued = i > 0 && CHAR_CLASS[response.charCodeAt(i - 1)] === LETTER;
      if (isListMarker(response, i, t.end)) {
        // a list marker keeps the sentence start: `2. Posting Job listings`
      } else {
        if (open !== null) open.next = t.value;
        open = null;
        if (!glued) {
          open = { token: t, start: i, ok: numberSupported(src, response, i, t, alts), prev: prevTok, next: '' };
          nums.push(open);
        }
        prevTok = t.value;
        sentenceStart = false;
      }
      i = t.end;
    } else if (k === LETTER) {
      let j = i + 1;
      while (j < n && (CHAR_CLASS[response.charCodeAt(j)] === LETTER || isApostrophe(response.charCodeAt(j)))) j++;
      const raw = response.slice(i, j);
      const w = bare(fold(raw));
      if (!isSuffix(response, i, w)) {
        if (open !== null) open.next = w;
        open = null;
        prevTok = w;
      }
      const stop = STOP.has(w) || NUMBER_WORD.has(w);
      const capital = raw[0] !== raw[0].toLowerCase();
      const nw = NUMBER_WORD.has(w) ? (UNITS.get(w) ?? TENS.get(w)) : undefined;
      if (nw !== undefined && numberWords.length < 20) numberWords.push(nw);
      let supported: boolean | undefined;
      if (capital) {
        // a leading function word (`The`, `In`) or a sentence-initial common word (`Founder`) is not part of a name
        const common = runWords === 0 && (stop || (sentenceStart && src.lower.has(w)));
        if (!common) {
          supported =
            src.has(w) ||
            (raw.length >= 2 && raw === raw.toUpperCase() && src.acronyms.has(w)) ||
            roman(raw) > 0 ||
            src.near(w);
          if (runStart < 0) runStart = i;
          runEnd = j;
          runWords++;
          runInitials += w[0];
          if (!supported) runUnsupported++;
          pendingConnector = false;
        } else endRun();
      } else if (runWords > 0 && CONNECTORS.has(w) && !pendingConnector) {
        pendingConnector = true;
      } else endRun();
      if (w.length >= 3 && !stop) {
        g.words++;
        if (!(supported ?? src.has(w))) {
          g.unsupportedWords++;
          missing?.push(`W:${w}`);
        }
      }
      sentenceStart = false;
      i = j;
      // a name continues only across single spaces or hyphens
      const sep = response.charCodeAt(i);
      if (!(sep === 32 || sep === 45) || !(i + 1 < n && CHAR_CLASS[response.charCodeAt(i + 1)] === LETTER)) endRun();
      else i++;
    } else {
      if (endsSentence(c)) {
        sentenceStart = true;
        open = null;
        prevTok = '';
      }
      endRun();
      i++;
    }
  }
  endRun();
  for (const x of nums) {
    g.numbers++;
    if (x.ok) continue;
    const c = contradicted(src, x);
    if (c < 2 && derived(x, nums, numberWords)) continue;
    g.unsupportedNumbers++;
    if (c > 0) g.contradictedNumbers++;
    missing?.push(`N:${x.token.digits}`);
  }
  return g;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

/** The drop decision for measured units at threshold `max` (see the module comment). */
export function groundedVerdict(g: Groundedness, max: number, minWords: number): string | undefined {
  if (g.numbers > 0 && g.unsupportedNumbers / g.numbers > max) return 'numbers';
  if (g.contradictedNumbers > 0 && g.contradictedNumbers / g.numbers > max / 4) return 'numbers';
  if (g.unsupportedEntities > 0 && g.unsupportedEntities / g.entities > max / 4) return 'entities';
  if (g.words >= minWords && g.unsupportedWords / g.words > 4 * max) return 'content_words';
  return undefined;
}

export function grounded(p: GroundedParams): Filter['filter'] {
  return (doc: FilterDoc): FilterResult => {
    const context = text(doc.get(p.context));
    if (context.trim() === '') return true;
    const prompt = p.prompt ? text(doc.get(p.prompt)) : '';
    const response = p.response ? text(doc.get(p.response)) : doc.text;
    const v = groundedVerdict(groundedness(response, context, prompt), p.max_unsupported, p.min_response_words);
    return v === undefined ? true : drop(v);
  };
}
