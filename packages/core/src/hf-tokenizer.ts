/**
 * A Hugging Face `tokenizer.json` (byte-level BPE: Llama 3, Qwen 2/3, GPT-2 family, Mistral
 * Nemo, DeepSeek V3 ...) read from a local file and run in plain JS, with the ids of the
 * reference implementation (the Rust `tokenizers` crate; see test/hf-tokenizer.test.ts).
 *
 * The steps are the reference's, in its order: non-special added tokens are cut out of the text;
 * each remaining piece is normalized (NFC/NFKC/NFD/NFKD), split by the pre-tokenizer's regular
 * expressions (Oniguruma syntax translated to JS), mapped to bytes, and merged by the BPE merge
 * list (lowest merge rank first, the leftmost among equals). Special added tokens (`<|eot_id|>`,
 * `<|endoftext|>`) inside a document are plain text, as for the OpenAI encodings: training text
 * never injects control tokens.
 *
 * Counting and encoding memoise each pre-token's ids (natural text repeats a few thousand
 * pre-tokens), so a miss is the only place the merge loop runs. For the Llama 3 / Qwen split
 * patterns an ASCII scanner decides pre-token ends exactly as the regular expression does and
 * hands every decision that needs a non-ASCII character to the regular expression.
 */
import { readFile } from 'node:fs/promises';
import { asciiPretokenEnd, hashOf, mergeParts, NO_RANK, PretokenMemo } from './bpe-core.js';
import { InputError } from './errors.js';

/** The Llama 3 / tiktoken-cl100k split pattern as written in tokenizer.json. */
export const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen 2/3: the same with single digits. */
export const QWEN_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** GPT-2's ByteLevel pattern (`use_regex: true`). */
const GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** A tokenizer that also gives ids (the model tokenizers; the OpenAI encodings only count). */
export interface TokenEncoder {
  readonly name: string;
  count(text: string): number;
  /** Token ids of `text` (no BOS/EOS added; special-token strings are text). */
  encode(text: string): Uint32Array;
  /** Largest id + 1, added tokens included. */
  readonly vocabSize: number;
  /** Id of a token string (vocabulary or added token), or undefined. */
  idOf(token: string): number | undefined;
  /** The end-of-document token a trainer appends by default (e.g. `<|end_of_text|>`), when known. */
  readonly eod?: string;
  /** The tokenizer.json this came from. */
  readonly file: string;
  /** How often the pre-token memo filled up and started over. */
  memoResets(): number;
}

function unsupported(file: string, what: string): InputError {
  return new InputError(
    `unsupported tokenizer.json: ${what} (supported: byte-level BPE such as Llama 3, Qwen, GPT-2; SentencePiece-style BPE such as Llama 2, Mistral 7B, Gemma; Unigram)`,
    {
      code: 'E_TOKENIZER_UNSUPPORTED',
      file,
    },
  );
}

/** GPT-2's byte -> printable char map (bytes_to_unicode). */
function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out = new Array<string>(256);
  for (let i = 0; i < bs.length; i++) out[bs[i]] = String.fromCodePoint(cs[i]);
  return out;
}

/**
 * An Oniguruma pattern from tokenizer.json as a JS regular expression (`u` flag): `\s`/`\S` as
 * Unicode White_Space (Oniguruma's set: JS `\s` adds U+FEFF and lacks U+0085), and `(?i:...)`
 * groups of ASCII literals spelled out with simple case folding (`s` also matches `ſ`, as in both
 * engines). Anything else Oniguruma-only is refused.
 */
export function translatePattern(file: string, src: string): string {
  let out = src.replace(/\(\?i:([^()]*)\)/g, (_, body: string) => {
    if (!/^[\x20-\x7e]*$/.test(body) || /[\\[\]{}()*+?.^$]/.test(body.replace(/\|/g, ''))) {
      throw unsupported(file, `case-insensitive group (?i:${body})`);
    }
    const alts = body.split('|').map((alt) =>
      [...alt]
        .map((ch) => {
          const lo = ch.toLowerCase();
          const up = ch.toUpperCase();
          if (lo === up) return ch;
          return lo === 's' ? '[sS\\u017F]' : lo === 'k' ? '[kK\\u212A]' : `[${lo}${up}]`;
        })
        .join(''),
    );
    return `(?:${alts.join('|')})`;
  });
  if (/\(\?[^:=!<]/.test(out) || /\\[AzZGhH]/.test(out) || /\[\[:/.test(out)) {
    throw unsupported(file, `regular expression ${JSON.stringify(src)}`);
  }
  out = out.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}');
  try {
    new RegExp(out, 'gu');
  } catch {
    throw unsupported(file, `regular expression ${JSON.stringify(src)}`);
  }
  return out;
}

/**
 * End of the Llama 3 (maxDigits 3) or Qwen (maxDigits 1) pre-token starting at `i`, decided on
 * ASCII characters only, or -1 when the decision needs a non-ASCII character.
 */
export function llamaAsciiEnd(t: string, i: number, n: number, maxDigits: number): number {
  return asciiPretokenEnd(t, i, n, maxDigits, true, false);
}

const MAX_CACHED = 64; // longer pre-tokens are merged without the memo
const MAX_ENTRIES = 300_000;
const POOL_CHARS = 1 << 22;
const POOL_IDS = 1 << 21;

interface Json {
  [k: string]: unknown;
}

type Normalize = (s: string) => string;

function buildNormalizer(file: string, n: unknown): Normalize | null {
  if (n === null || n === undefined) return null;
  const o = n as Json;
  switch (o.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = o.type;
      return (s) => s.normalize(form);
    }
    case 'Replace': {
      // SentencePiece's " " -> "▁" (Llama 2, Gemma); a literal pattern only
      const from = (o.pattern as Json | undefined)?.String;
      const to = o.content;
      if (typeof from !== 'string' || from === '' || typeof to !== 'string') {
        throw unsupported(file, `normalizer Replace ${JSON.stringify(o.pattern)}`);
      }
      return (s) => s.replaceAll(from, to);
    }
    case 'Prepend': {
      const pre = o.prepend;
      if (typeof pre !== 'string') throw unsupported(file, 'normalizer Prepend without a string');
      return (s) => (s.length > 0 ? pre + s : s);
    }
    case 'Sequence': {
      const parts = ((o.normalizers as unknown[]) ?? [])
        .map((x) => buildNormalizer(file, x))
        .filter(Boolean) as Normalize[];
      if (parts.length === 0) return null;
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    default:
      throw unsupported(file, `normalizer ${JSON.stringify(o.type)}`);
  }
}

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS = new Set(['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']);

/** The pre-tokenizer: byte-level regular expressions, or SentencePiece's Metaspace and literal splits. */
interface PreTokenizer {
  byteLevel: boolean;
  /** Byte-level: the split patterns, applied one after another (Isolated). */
  regexSplits: string[];
  /** Metaspace: " " -> replacement, the prefix rule, and whether to cut before each replacement. */
  meta: { rep: string; scheme: 'always' | 'first' | 'never'; split: boolean } | null;
  /** Non-byte-level Split steps (literal string or regular expression, any behavior). */
  splits: { re: RegExp; behavior: Behavior }[];
}

function buildPreTokenizer(file: string, p: unknown): PreTokenizer {
  const o = (p ?? {}) as Json;
  const list = p == null ? [] : o.type === 'Sequence' ? ((o.pretokenizers as Json[]) ?? []) : [o];
  const out: PreTokenizer = { byteLevel: false, regexSplits: [], meta: null, splits: [] };
  const rawSplits: Json[] = [];
  list.forEach((x, i) => {
    if (x.type === 'Split') rawSplits.push(x);
    else if (x.type === 'ByteLevel') {
      if (x.add_prefix_space) throw unsupported(file, 'ByteLevel with add_prefix_space');
      out.byteLevel = true;
    } else if (x.type === 'Metaspace') {
      // only first: it rewrites the text, which the reference does per piece of earlier steps
      if (i !== 0) throw unsupported(file, 'Metaspace after another pre-tokenizer');
      const rep = typeof x.replacement === 'string' ? x.replacement : '▁';
      if ([...rep].length !== 1) throw unsupported(file, `Metaspace replacement ${JSON.stringify(rep)}`);
      const scheme =
        x.prepend_scheme === undefined
          ? x.add_prefix_space === false
            ? 'never'
            : 'always'
          : (x.prepend_scheme as string);
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
        throw unsupported(file, `Metaspace prepend_scheme ${JSON.stringify(scheme)}`);
      }
      out.meta = { rep, scheme, split: x.split !== false };
    } else {
      throw unsupported(file, `pre-tokenizer ${JSON.stringify(x.type)}`);
    }
  });
  let seenByteLevel = false;
  for (const x of list) {
    if (x.type === 'ByteLevel') {
      if (x.use_regex !== false) out.regexSplits.push(GPT2_SPLIT);
      seenByteLevel = true;
      continue;
    }
    if (x.type !== 'Split') continue;
    const pat = x.pattern as Json | undefined;
    const behavior = x.behavior as string;
    if (
      !pat ||
      x.invert ||
      !BEHAVIORS.has(behavior) ||
      (typeof pat.Regex !== 'string' && typeof pat.String !== 'string')
    ) {
      throw unsupported(file, `Split pre-tokenizer ${JSON.stringify({ pattern: pat, behavior, invert: x.invert })}`);
    }
    if (out.byteLevel) {
      if (typeof pat.Regex !== 'string' || behavior !== 'Isolated') {
        throw unsupported(file, `Split pre-tokenizer ${JSON.stringify({ pattern: pat, behavior })} with ByteLevel`);
      }
      if (seenByteLevel) throw unsupported(file, 'Split after ByteLevel');
      out.regexSplits.push(pat.Regex);
    } else {
      const src =
        typeof pat.Regex === 'string'
          ? translatePattern(file, pat.Regex)
          : (pat.String as string).replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      if (src === '') throw unsupported(file, 'Split with an empty pattern');
      out.splits.push({ re: new RegExp(src, 'gu'), behavior: behavior as Behavior });
    }
  }
  if (out.byteLevel && out.meta) throw unsupported(file, 'Metaspace with ByteLevel');
  return out;
}

/**
 * The pieces of t[s, e) cut by `re` with the reference's split behaviors (`NormalizedString::split`):
 * matches alternate with the text between them, and a behavior decides which join or drop.
 */
function splitPieces(t: string, s: number, e: number, re: RegExp, behavior: Behavior, out: number[]): void {
  const segs: number[] = []; // start, end, isMatch triples
  let last = s;
  re.lastIndex = s;
  for (let m = re.exec(t); m !== null && m.index < e; m = re.exec(t)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const me = m.index + m[0].length;
    if (me > e) break;
    if (m.index > last) segs.push(last, m.index, 0);
    segs.push(m.index, me, 1);
    last = me;
  }
  if (last < e || segs.length === 0) segs.push(last, e, 0);
  const kept: number[] = [];
  let prevMatch = false;
  if (behavior === 'MergedWithNext') {
    for (let k = segs.length - 3; k >= 0; k -= 3) {
      const isMatch = segs[k + 2] === 1;
      if (isMatch && !prevMatch && kept.length > 0) kept[kept.length - 2] = segs[k];
      else kept.push(segs[k], segs[k + 1]);
      prevMatch = isMatch;
    }
    for (let k = kept.length - 2; k >= 0; k -= 2) if (kept[k + 1] > kept[k]) out.push(kept[k], kept[k + 1]);
    return;
  }
  for (let k = 0; k < segs.length; k += 3) {
    const isMatch = segs[k + 2] === 1;
    if (behavior === 'Removed') {
      if (!isMatch) kept.push(segs[k], segs[k + 1]);
    } else if (behavior === 'Isolated') kept.push(segs[k], segs[k + 1]);
    else if (
      kept.length > 0 &&
      (behavior === 'MergedWithPrevious' ? isMatch && !prevMatch : isMatch === prevMatch) // Contiguous
    ) {
      kept[kept.length - 1] = segs[k + 1];
    } else kept.push(segs[k], segs[k + 1]);
    prevMatch = isMatch;
  }
  for (let k = 0; k < kept.length; k += 2) if (kept[k + 1] > kept[k]) out.push(kept[k], kept[k + 1]);
}

/** Read and check a tokenizer.json; errors name the file (InputError, exit 2 in the CLI). */
export async function loadHfTokenizer(file: string): Promise<TokenEncoder> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'tokenizer.json not found' : `cannot read tokenizer.json (${code})`, {
      code: 'E_TOKENIZER_MISSING',
      file,
    });
  }
  let json: Json;
  try {
    json = JSON.parse(raw) as Json;
  } catch (e) {
    throw new InputError(`tokenizer.json is not JSON (${(e as Error).message})`, { code: 'E_TOKENIZER_JSON', file });
  }
  if (!json || typeof json !== 'object' || !json.model || typeof json.model !== 'object') {
    throw new InputError('tokenizer.json has no "model"', { code: 'E_TOKENIZER_JSON', file });
  }
  return buildHfTokenizer(file, json);
}

/** Memo sizes (tests use tiny ones to exercise the start-over path). */
export interface HfMemoLimits {
  entries?: number;
  poolChars?: number;
  poolIds?: number;
}

const POW10 = Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));

/**
 * The f64 that serde_json's default parser (the reference's; not its `float_roundtrip` mode) reads
 * for the shortest decimal of `x`: the digits as an integer rounded to f64, then one multiplication
 * or division by a power of ten. For 17-digit scores that is sometimes one ulp off the correctly
 * rounded value JSON.parse gives, enough to flip a Unigram tie.
 */
export function serdeF64(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(x)));
  if (!m) return x;
  let exp = (m[3] ? Number(m[3]) : 0) - (m[2]?.length ?? 0);
  let f = Number(BigInt(m[1] + (m[2] ?? '')));
  for (;;) {
    const k = exp < 0 ? -exp : exp;
    if (k < POW10.length) {
      f = exp >= 0 ? f * POW10[k] : f / POW10[k];
      break;
    }
    if (f === 0 || exp >= 0) break;
    f /= 1e308;
    exp += 308;
  }
  return x < 0 ? -f : f;
}

const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

export function buildHfTokenizer(file: string, json: Json, limits: HfMemoLimits = {}): TokenEncoder {
  const model = json.model as Json;
  if (model.type !== 'BPE' && model.type !== 'Unigram') {
    throw unsupported(file, `model type ${JSON.stringify(model.type)}`);
  }
  const unigram = model.type === 'Unigram';
  if (model.dropout) throw unsupported(file, 'BPE dropout');
  if (model.continuing_subword_prefix || model.end_of_word_suffix) throw unsupported(file, 'subword prefix/suffix');
  const normalize = buildNormalizer(file, json.normalizer);
  const pre = buildPreTokenizer(file, json.pre_tokenizer);
  const byteLevel = pre.byteLevel;
  if (byteLevel && (unigram || model.byte_fallback)) throw unsupported(file, 'ByteLevel with byte_fallback or Unigram');
  const splits = pre.regexSplits.map((p) => translatePattern(file, p));
  const noVocab = () => new InputError('tokenizer.json model has no vocab', { code: 'E_TOKENIZER_JSON', file });
  const vocab = new Map<string, number>();
  let vocabSize = 0;
  /** Unigram: piece scores by id. */
  let scores = new Float64Array(0);
  if (unigram) {
    const list = model.vocab as unknown[];
    if (!Array.isArray(list)) throw noVocab();
    scores = new Float64Array(list.length);
    list.forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        throw new InputError(`tokenizer.json model.vocab[${id}] is not a [piece, score] pair`, {
          code: 'E_TOKENIZER_JSON',
          file,
        });
      }
      vocab.set(entry[0], id); // the reference's token -> id map: the last of equal pieces
      scores[id] = serdeF64(entry[1]);
    });
    vocabSize = list.length;
  } else {
    const vocabObj = model.vocab as Record<string, number>;
    if (!vocabObj || typeof vocabObj !== 'object' || Array.isArray(vocabObj)) throw noVocab();
    for (const k in vocabObj) {
      const v = vocabObj[k];
      vocab.set(k, v);
      if (v + 1 > vocabSize) vocabSize = v + 1;
    }
  }
  const added = ((json.added_tokens as Json[]) ?? []).map((t) => ({
    id: t.id as number,
    content: t.content as string,
    special: Boolean(t.special),
    normalized: Boolean(t.normalized),
    flags: Boolean(t.lstrip || t.rstrip || t.single_word),
  }));
  const addedIds = new Map<string, number>();
  for (const t of added) {
    addedIds.set(t.content, t.id);
    if (t.id + 1 > vocabSize) vocabSize = t.id + 1;
  }
  // Non-special added tokens are matched in the text (leftmost, longest first), as the reference does.
  const plainAdded = added.filter((t) => !t.special);
  for (const t of plainAdded) {
    if (t.flags) throw unsupported(file, `added token ${JSON.stringify(t.content)} with lstrip/rstrip/single_word`);
    if (t.normalized && (normalize || pre.meta) && !/^[\x21-\x7e]*$/.test(t.content)) {
      throw unsupported(file, `normalized added token ${JSON.stringify(t.content)}`);
    }
  }
  const addedRe = plainAdded.length
    ? new RegExp(
        plainAdded
          .map((t) => t.content)
          .sort((a, b) => b.length - a.length)
          .map((s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))
          .join('|'),
        'gu',
      )
    : null;

  // Byte-level symbols: byte -> id of its one-char token.
  const chars = byteChars();
  const byteId = new Int32Array(256).fill(-1);
  if (byteLevel) {
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(chars[b]);
      if (id === undefined) throw unsupported(file, `byte ${b} has no token (not a byte-level vocabulary)`);
      byteId[b] = id;
    }
  } else if (model.byte_fallback) {
    // SentencePiece byte fallback: <0x00> ... <0xFF>
    for (let b = 0; b < 256; b++) byteId[b] = vocab.get(byteToken(b)) ?? -1;
  }
  const fallback = !byteLevel && Boolean(model.byte_fallback);
  const unkName = unigram ? undefined : (model.unk_token as string | null | undefined);
  let unkId = -1;
  if (unigram) {
    if (typeof model.unk_id === 'number') unkId = model.unk_id;
    else throw unsupported(file, 'Unigram without unk_id');
  } else if (typeof unkName === 'string') {
    const id = vocab.get(unkName);
    if (id === undefined) throw unsupported(file, `unk_token ${JSON.stringify(unkName)} not in the vocabulary`);
    unkId = id;
  }
  const fuseUnk = unigram || Boolean(model.fuse_unk);

  // Merges: (left id, right id) -> rank; the merged token's id is looked up when a merge is first used.
  const merges = unigram ? [] : ((model.merges as unknown[]) ?? []);
  const pairRank = new Map<number, number>();
  const mergeId = new Int32Array(merges.length).fill(-1);
  const V = vocabSize;
  const pairOf = (r: number): [string, string] => {
    const m = merges[r];
    if (typeof m === 'string') {
      const sp = m.indexOf(' ', 1);
      if (sp > 0) return [m.slice(0, sp), m.slice(sp + 1)];
    } else if (Array.isArray(m) && m.length === 2) return [String(m[0]), String(m[1])];
    throw new InputError(`tokenizer.json merges[${r}] is not a pair`, { code: 'E_TOKENIZER_JSON', file });
  };
  const notInVocab = (r: number) =>
    new InputError(`tokenizer.json merges[${r}] names a token not in the vocabulary`, {
      code: 'E_TOKENIZER_JSON',
      file,
    });
  // SentencePiece BPE runs over a whole segment (no pre-tokenizer): it is cut before each run of
  // the meta space (▁) whose previous character never merges with it (no merge joins "x" + "▁..."),
  // so no merge crosses a cut and each piece can be merged and memoised alone.
  const rep = pre.meta?.rep ?? '▁';
  const repCode = rep.charCodeAt(0);
  const noCutAfter = new Set<string>();
  let cuts = !byteLevel && !unigram && rep.length === 1 && vocab.has(rep);
  for (let r = 0; r < merges.length; r++) {
    const [a, b] = pairOf(r);
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    if (ia === undefined || ib === undefined) throw notInVocab(r);
    const key = ia * V + ib;
    if (!pairRank.has(key)) pairRank.set(key, r);
    if (cuts && b.startsWith(rep) && !a.endsWith(rep)) {
      if (/^<0x[0-9A-F]{2}>$/.test(a) || a === unkName) cuts = false;
      else noCutAfter.add(String.fromCodePoint(a.codePointAt(a.length - 1) as number));
    }
  }
  if (cuts && noCutAfter.size > 0 && [...noCutAfter].some((c) => c.length > 1)) cuts = false;
  const merged = (r: number): number => {
    let id = mergeId[r];
    if (id < 0) {
      const [a, b] = pairOf(r);
      const im = vocab.get(a + b);
      if (im === undefined) throw notInVocab(r);
      mergeId[r] = id = im;
    }
    return id;
  };
  const ignoreMerges = Boolean(model.ignore_merges);

  // The symbols of one piece, merged in place (BPE: lowest merge rank first, leftmost among equals).
  let sym = new Int32Array(256);
  let rk = new Int32Array(256);
  const rankOf = (a: number, b: number): number => {
    const r = pairRank.get(a * V + b);
    return r === undefined ? NO_RANK : r;
  };
  const grow = (n: number) => {
    if (n > sym.length) {
      sym = new Int32Array(2 * n);
      rk = new Int32Array(2 * n);
    }
  };
  const joinSym = (at: number, rank: number, m: number) => {
    sym[at] = merged(rank);
    sym.copyWithin(at + 1, at + 2, m);
  };
  const rankAtSym = (i: number) => rankOf(sym[i], sym[i + 1]);
  /** Merge sym[0, m) and return the new count. */
  const mergeSymbols = (m: number): number => {
    for (let i = 0; i < m - 1; i++) rk[i] = rankOf(sym[i], sym[i + 1]);
    return mergeParts(rk, m, joinSym, rankAtSym);
  };
  const encoder = new TextEncoder();
  let bytes = new Uint8Array(1024);
  const utf8 = (piece: string): number => {
    if (piece.length * 3 > bytes.length) bytes = new Uint8Array(piece.length * 3 + 16);
    return encoder.encodeInto(piece, bytes).written;
  };
  /** Byte-level BPE: ids of text[s, e) into `sym`, returns the count. */
  const mergeBytes = (text: string, s: number, e: number): number => {
    const n = utf8(text.slice(s, e));
    grow(n);
    if (ignoreMerges) {
      let w = '';
      for (let i = 0; i < n; i++) w += chars[bytes[i]];
      const id = vocab.get(w);
      if (id !== undefined) {
        sym[0] = id;
        return 1;
      }
    }
    for (let i = 0; i < n; i++) sym[i] = byteId[bytes[i]];
    return mergeSymbols(n);
  };
  // SentencePiece BPE: one symbol per character (the reference's `merge_word`), <0xXX> byte tokens
  // for characters not in the vocabulary (byte_fallback), else the unknown token (fused when asked).
  const asciiId = new Int32Array(128);
  for (let c = 0; c < 128; c++) asciiId[c] = vocab.get(String.fromCharCode(c)) ?? -1;
  const mergeChars = (text: string, s: number, e: number): number => {
    grow(4 * (e - s) + 1);
    let m = 0;
    let unk = false; // an unknown token waits (the reference adds it before the next known character)
    for (let i = s; i < e; ) {
      const c = text.charCodeAt(i);
      let len = 1;
      let id: number;
      if (c < 128) id = asciiId[c];
      else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < e) len = 2;
        id = vocab.get(text.slice(i, i + len)) ?? -1;
      }
      i += len;
      if (id >= 0) {
        if (unk) {
          sym[m++] = unkId;
          unk = false;
        }
        sym[m++] = id;
        continue;
      }
      if (fallback) {
        const n = utf8(text.slice(i - len, i));
        let all = true;
        for (let k = 0; k < n; k++) if (byteId[bytes[k]] < 0) all = false;
        if (all) {
          for (let k = 0; k < n; k++) sym[m++] = byteId[bytes[k]];
          continue;
        }
      }
      if (unkId < 0) continue; // no unknown token: the reference drops the character
      if (unk && !fuseUnk) sym[m++] = unkId;
      unk = true;
    }
    if (unk) sym[m++] = unkId;
    return mergeSymbols(m);
  };
  // Unigram: the best-scoring segmentation (Viterbi, the reference's `encode_optimized`), pieces
  // found by a trie walk; a character no piece starts with is the unknown token at min score - 10.
  const trieEdges = new Map<number, number>();
  let trieId = new Int32Array(0);
  let unkScore = 0;
  if (unigram) {
    const ids: number[] = [-1];
    for (const [piece, id] of vocab) {
      let node = 0;
      for (let i = 0; i < piece.length; i++) {
        const key = node * 65536 + piece.charCodeAt(i);
        let next = trieEdges.get(key);
        if (next === undefined) {
          next = ids.length;
          ids.push(-1);
          trieEdges.set(key, next);
        }
        node = next;
      }
      ids[node] = id;
    }
    trieId = Int32Array.from(ids);
    let min = Number.POSITIVE_INFINITY;
    for (const v of scores) if (v < min) min = v; // (the reference's min over its parsed scores)
    unkScore = min - 10;
  }
  let best = new Float64Array(256);
  let from = new Int32Array(256);
  let nodeId = new Int32Array(256);
  const viterbi = (text: string, s: number, e: number): number => {
    const n = e - s;
    if (n + 1 > best.length) {
      best = new Float64Array(2 * n + 2);
      from = new Int32Array(2 * n + 2);
      nodeId = new Int32Array(2 * n + 2);
    }
    from.fill(-1, 0, n + 1);
    best[0] = 0;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(s + i);
      const mb = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
      const base = best[i];
      let single = false;
      let node = 0;
      for (let j = i; j < n; j++) {
        const next = trieEdges.get(node * 65536 + text.charCodeAt(s + j));
        if (next === undefined) break;
        node = next;
        const id = trieId[node];
        if (id < 0) continue;
        const at = j + 1;
        const cand = scores[id] + base;
        if (from[at] < 0 || cand > best[at]) {
          best[at] = cand;
          from[at] = i;
          nodeId[at] = id;
        }
        if (at - i === mb) single = true;
      }
      if (!single) {
        const at = i + mb;
        const cand = unkScore + base;
        if (from[at] < 0 || cand > best[at]) {
          best[at] = cand;
          from[at] = i;
          nodeId[at] = unkId;
        }
      }
      i += mb;
    }
    // back from the end; runs of unknown pieces fuse into one string, looked up again
    const ends: number[] = [];
    for (let at = n; at > 0; at = from[at]) ends.push(at);
    grow(4 * n + 1);
    let m = 0;
    let k = ends.length - 1;
    let start = 0;
    while (k >= 0) {
      const end = ends[k];
      if (nodeId[end] !== unkId) {
        sym[m++] = nodeId[end];
        start = end;
        k--;
        continue;
      }
      let last = end;
      while (k - 1 >= 0 && nodeId[ends[k - 1]] === unkId) last = ends[--k];
      k--;
      const str = text.slice(s + start, s + last);
      const id = vocab.get(str);
      if (id !== undefined) sym[m++] = id;
      else {
        let done = false;
        if (fallback) {
          const nb = utf8(str);
          let all = true;
          for (let b = 0; b < nb; b++) if (byteId[bytes[b]] < 0) all = false;
          if (all) {
            for (let b = 0; b < nb; b++) sym[m++] = byteId[bytes[b]];
            done = true;
          }
        }
        if (!done) sym[m++] = unkId;
      }
      start = last;
    }
    return m;
  };
  const mergePiece = byteLevel ? mergeBytes : unigram ? viterbi : mergeChars;

  const memo = new PretokenMemo(
    limits.entries ?? MAX_ENTRIES,
    limits.poolChars ?? POOL_CHARS,
    limits.poolIds ?? POOL_IDS,
  );
  const regexes = splits.map((p) => new RegExp(p, 'gu'));
  const sticky = byteLevel && splits.length === 1 ? new RegExp(splits[0], 'uy') : null;
  const rawSplit = json.pre_tokenizer as Json;
  const firstRaw = (rawSplit?.type === 'Sequence' ? (rawSplit.pretokenizers as Json[])[0] : rawSplit)?.pattern as
    | Json
    | undefined;
  const maxDigits =
    splits.length === 1 && firstRaw?.Regex === LLAMA3_SPLIT
      ? 3
      : splits.length === 1 && firstRaw?.Regex === QWEN_SPLIT
        ? 1
        : 0;

  /** Visit the byte-level pre-tokens of a normalized segment. */
  const eachPretoken = (text: string, visit: (s: number, e: number) => void): void => {
    const n = text.length;
    if (sticky) {
      let i = 0;
      while (i < n) {
        let e = maxDigits ? llamaAsciiEnd(text, i, n, maxDigits) : -1;
        if (e < 0) {
          sticky.lastIndex = i;
          const m = sticky.exec(text);
          if (m === null || m[0].length === 0) {
            // Isolated split: text the pattern does not match is a piece of its own
            let j = i + 1;
            for (; j < n; j++) {
              sticky.lastIndex = j;
              const mm = sticky.exec(text);
              if (mm !== null && mm[0].length > 0) break;
            }
            e = j;
          } else e = i + m[0].length;
        }
        visit(i, e);
        i = e;
      }
      return;
    }
    let pieces: [number, number][] = [[0, n]];
    for (const re of regexes) {
      const next: [number, number][] = [];
      for (const [s, e] of pieces) {
        const sub = text.slice(s, e);
        let last = 0;
        re.lastIndex = 0;
        for (let m = re.exec(sub); m !== null; m = re.exec(sub)) {
          if (m[0].length === 0) {
            re.lastIndex++;
            continue;
          }
          if (m.index > last) next.push([s + last, s + m.index]);
          next.push([s + m.index, s + m.index + m[0].length]);
          last = m.index + m[0].length;
        }
        if (last < sub.length) next.push([s + last, e]);
      }
      pieces = next;
    }
    for (const [s, e] of pieces) visit(s, e);
  };

  /** SentencePiece-style: Metaspace and Split steps over a normalized segment, then the model's pieces. */
  const eachWord = (text: string, visit: (s: number, e: number) => void): void => {
    const n = text.length;
    let words: number[] = [0, n];
    if (pre.meta?.split) {
      words = [];
      let last = 0;
      for (let i = text.indexOf(rep, 1); i >= 0; i = text.indexOf(rep, i + 1)) {
        words.push(last, i);
        last = i;
      }
      words.push(last, n);
    }
    for (const step of pre.splits) {
      const next: number[] = [];
      for (let k = 0; k < words.length; k += 2) splitPieces(text, words[k], words[k + 1], step.re, step.behavior, next);
      words = next;
    }
    for (let k = 0; k < words.length; k += 2) visit(words[k], words[k + 1]);
  };
  // A control character that no other token contains (Llama 2 has no newline token: "\n" is
  // <0x0A> by byte fallback and no merge joins it) never merges either: cut around it too.
  const lone = cuts
    ? ['\n', '\r', '\t'].filter((c) => {
        const own = [c, byteToken(c.charCodeAt(0))];
        if (!vocab.has(c) && !(fallback && vocab.has(own[1]))) return false; // an unknown token may fuse
        for (const k of vocab.keys())
          if (k.length > 1 && !own.includes(k) && own.some((o) => k.includes(o))) return false;
        return true;
      })
    : [];
  const loneChar = new Uint8Array(128);
  for (const c of lone) loneChar[c.charCodeAt(0)] = 1;
  /** The pieces of a SentencePiece BPE word that merge alone (see `cuts`). */
  const eachCut = (text: string, s: number, e: number, visit: (s: number, e: number) => void): void => {
    if (!cuts || e - s < 2) {
      visit(s, e);
      return;
    }
    let last = s;
    for (let i = s; i < e; i++) {
      const c = text.charCodeAt(i);
      if (c !== repCode) {
        if (c >= 128 || loneChar[c] === 0) continue;
        // a lone control character: a piece of its own
        if (i > last) visit(last, i);
        visit(i, i + 1);
        last = i + 1;
        continue;
      }
      if (i === last) continue;
      const p = text.charCodeAt(i - 1);
      if (p === repCode) continue;
      if (noCutAfter.size > 0) {
        const ch = p >= 0xdc00 && p <= 0xdfff && i - 2 >= s ? text.slice(i - 2, i) : text[i - 1];
        if (noCutAfter.has(ch)) continue;
      }
      visit(last, i);
      last = i;
    }
    if (last < e) visit(last, e);
  };

  /** ids of the piece text[s, e), memoised: calls onIds(src, at, m). */
  const piece = (t: string, s: number, e: number, onIds: (src: Int32Array, at: number, m: number) => void): void => {
    if (e - s > MAX_CACHED) {
      const m = mergePiece(t, s, e);
      onIds(sym, 0, m);
      return;
    }
    const h = hashOf(t, s, e);
    const k = memo.lookup(t, s, e, h);
    if (k < 0) {
      const m = mergePiece(t, s, e);
      memo.insert(t, s, e, h, sym, m);
      onIds(sym, 0, m);
    } else onIds(memo.ids, memo.idsAt(k), memo.count(k));
  };

  /** Run `onIds` over every piece's ids (memoised); an added token's id as a piece of its own. */
  const run = (text: string, onIds: (src: Int32Array, at: number, m: number) => void): void => {
    if (!byteLevel && LONE_SURROGATE.test(text)) text = text.replace(LONE_SURROGATES, '\ufffd'); // as the reference receives it
    const one = new Int32Array(1);
    const segment = (seg: string, first: boolean) => {
      let t = normalize ? normalize(seg) : seg;
      if (byteLevel) {
        eachPretoken(t, (s, e) => piece(t, s, e, onIds));
        return;
      }
      const meta = pre.meta;
      if (meta) {
        t = t.replaceAll(' ', meta.rep);
        if (
          (meta.scheme === 'always' || (meta.scheme === 'first' && first)) &&
          t.length > 0 &&
          !t.startsWith(meta.rep)
        ) {
          t = meta.rep + t;
        }
      }
      const emit = (s: number, e: number) => piece(t, s, e, onIds);
      eachWord(t, (s, e) => {
        if (ignoreMerges && !unigram) {
          const id = vocab.get(t.slice(s, e));
          if (id !== undefined) {
            one[0] = id;
            onIds(one, 0, 1);
            return;
          }
        }
        eachCut(t, s, e, emit);
      });
    };
    if (!addedRe) {
      segment(text, true);
      return;
    }
    let last = 0;
    addedRe.lastIndex = 0;
    for (let m = addedRe.exec(text); m !== null; m = addedRe.exec(text)) {
      if (m.index > last) segment(text.slice(last, m.index), last === 0);
      one[0] = addedIds.get(m[0]) as number;
      onIds(one, 0, 1);
      last = m.index + m[0].length;
    }
    if (last < text.length) segment(last === 0 ? text : text.slice(last), last === 0);
  };

  const countFast = (text: string): number => {
    // The hot path: no added tokens and a single split pattern.
    const t = normalize ? normalize(text) : text;
    const n = t.length;
    let total = 0;
    let i = 0;
    while (i < n) {
      let e = maxDigits ? llamaAsciiEnd(t, i, n, maxDigits) : -1;
      if (e < 0) {
        (sticky as RegExp).lastIndex = i;
        const m = (sticky as RegExp).exec(t);
        if (m === null || m[0].length === 0) return countSlow(text);
        e = i + m[0].length;
      }
      if (e - i > MAX_CACHED) total += mergePiece(t, i, e);
      else {
        const h = hashOf(t, i, e);
        const k = memo.lookup(t, i, e, h);
        if (k < 0) {
          const m = mergePiece(t, i, e);
          memo.insert(t, i, e, h, sym, m);
          total += m;
        } else total += memo.count(k);
      }
      i = e;
    }
    return total;
  };
  /** `encode`'s hot path (as `countFast`): ids into a growing buffer; null when the split stalls. */
  const encodeFast = (text: string): Uint32Array | null => {
    const t = normalize ? normalize(text) : text;
    const len = t.length;
    let out = new Uint32Array(Math.max(16, len >> 1));
    let n = 0;
    let i = 0;
    while (i < len) {
      let e = maxDigits ? llamaAsciiEnd(t, i, len, maxDigits) : -1;
      if (e < 0) {
        (sticky as RegExp).lastIndex = i;
        const m = (sticky as RegExp).exec(t);
        if (m === null || m[0].length === 0) return null;
        e = i + m[0].length;
      }
      let src: Int32Array;
      let at = 0;
      let m: number;
      if (e - i > MAX_CACHED) {
        m = mergePiece(t, i, e);
        src = sym;
      } else {
        const h = hashOf(t, i, e);
        const k = memo.lookup(t, i, e, h);
        if (k < 0) {
          m = mergePiece(t, i, e);
          memo.insert(t, i, e, h, sym, m);
          src = sym;
        } else {
          src = memo.ids;
          at = memo.idsAt(k);
          m = memo.count(k);
        }
      }
      if (n + m > out.length) {
        const grown = new Uint32Array(Math.max(2 * out.length, n + m));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      for (let j = 0; j < m; j++) out[n++] = src[at + j];
      i = e;
    }
    return n === out.length ? out : out.slice(0, n);
  };
  const countSlow = (text: string): number => {
    let total = 0;
    run(text, (_src, _at, m) => {
      total += m;
    });
    return total;
  };
  const eodName = ['<|end_of_text|>', '<|endoftext|>', '</s>', '<eos>', '<|eot_id|>'].find(
    (t) => addedIds.has(t) || vocab.has(t),
  );
  const name = file;
  return {
    name,
    file,
    vocabSize,
    memoResets: () => memo.resets,
    eod: eodName,
    count: sticky && !addedRe ? countFast : countSlow,
    encode(text: string): Uint32Array {
      if (sticky && !addedRe) {
        const fast = encodeFast(text);
        if (fast) return fast;
      }
      let out = new Uint32Array(Math.max(16, text.length >> 1));
      let n = 0;
      run(text, (src, at, m) => {
        if (n + m > out.length) {
          const grown = new Uint32Array(Math.max(2 * out.length, n + m));
          grown.set(out.subarray(0, n));
          out = grown;
        }
        for (let j = 0; j < m; j++) out[n++] = src[at + j];
      });
      return n === out.length ? out : out.slice(0, n);
    },
    idOf(token: string): number | undefined {
      return addedIds.get(token) ?? vocab.get(token);
    },
  };
}
