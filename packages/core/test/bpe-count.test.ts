import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import cl100kApi, { countTokens as cl100kRef } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200kRef } from 'gpt-tokenizer/encoding/o200k_base';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { type BpeCore, bpeCounter, CL100K_PATTERN, cl100kAsciiEnd } from '../src/bpe-count.js';
import { loadTokenizer } from '../src/index.js';

// The reference: gpt-tokenizer's own count with special tokens treated as text (what curate counts).
const plain = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() };
const REF = { cl100k_base: cl100kRef, o200k_base: o200kRef } as const;

// Pieces that exercise every alternative of the split patterns and the ASCII/non-ASCII border.
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
  'ｆｕｌｌ',
  'ſ',
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
  "'",
  "'s",
  "'S",
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
  '\ud800',
  '\udfff',
  '<|endoftext|>',
  '<|fim_prefix|>',
];
const textArb = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((p) => p.join(''));

describe('exact BPE counting (memo + ASCII pre-tokenizer)', () => {
  for (const name of ['cl100k_base', 'o200k_base'] as const) {
    it(`${name}: equals gpt-tokenizer on random mixed-script text`, async () => {
      const t = await loadTokenizer(name);
      fc.assert(
        fc.property(textArb, (s) => t.count(s) === REF[name](s, plain)),
        { numRuns: 4000, seed: 7 },
      );
    });
  }

  it('the ASCII scanner defers to the regular expression whenever a non-ASCII character decides', () => {
    expect(cl100kAsciiEnd('café', 0, 4)).toBe(-1); // is é a letter? the regex knows
    expect(cl100kAsciiEnd(' \u00a0x', 0, 3)).toBe(-1); // is U+00A0 white space? the regex knows
    expect(cl100kAsciiEnd('12²', 0, 3)).toBe(-1); // is ² a number? the regex knows
    expect(cl100kAsciiEnd('1234', 0, 4)).toBe(3); // \p{N}{1,3}
    expect(cl100kAsciiEnd("'llama", 0, 6)).toBe(3); // contraction first
    expect(cl100kAsciiEnd('  word', 0, 6)).toBe(1); // \s+(?!\S) leaves one space for " word"
    expect(cl100kAsciiEnd(' \n\n  x', 0, 6)).toBe(3); // \s*[\r\n] ends at the last newline
    expect(cl100kAsciiEnd('   ', 0, 3)).toBe(3); // \s+$
    expect(cl100kAsciiEnd(' ...\n\nx', 0, 7)).toBe(6); // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  });

  it('stays exact when the memo fills up and starts over (tiny limits)', () => {
    const core = (cl100kApi as unknown as { bytePairEncodingCoreProcessor: BpeCore }).bytePairEncodingCoreProcessor;
    expect(core.tokenSplitRegex.source).toBe(CL100K_PATTERN);
    for (const limits of [{ entries: 7 }, { poolChars: 64 }]) {
      const count = bpeCounter(core, true, limits);
      fc.assert(
        fc.property(textArb, (s) => count(s) === cl100kRef(s, plain)),
        { numRuns: 1500, seed: 11 },
      );
      expect(count.memoResets()).toBeGreaterThan(100);
    }
  });

  it('counts a text the same however often it is seen (the memo is only a cache)', async () => {
    const t = await loadTokenizer('cl100k_base');
    const s = 'The quick brown fox, naïvely, jumped 12345 times.\n\n  Done!';
    const first = t.count(s);
    for (let i = 0; i < 50; i++) expect(t.count(s)).toBe(first);
    expect(first).toBe(cl100kRef(s, plain));
  });

  it.skipIf(!HAS_SHARED)(
    'equals gpt-tokenizer and js-tiktoken on every row of the real instruction sets and a Gutenberg shard',
    async () => {
      const files = [
        shared('instruct_pair', 'human_dolly15k.jsonl'),
        shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl'),
        shared('instruct_pair', 'synthetic_alpaca_libre_gpt35.jsonl'),
        shared('real_text', 'gutenberg', 'gutenberg-00002-of-00004.jsonl'),
      ];
      for (const name of ['cl100k_base', 'o200k_base'] as const) {
        const ours = await loadTokenizer(name);
        const tik = getEncoding(name);
        let rows = 0;
        let mismatches = 0;
        for (const f of files) {
          for (const line of readFileSync(f, 'utf8').split('\n')) {
            if (!line) continue;
            const r = JSON.parse(line) as Record<string, unknown>;
            const text = Object.values(r)
              .filter((v): v is string => typeof v === 'string')
              .join('\n\n');
            rows++;
            if (ours.count(text) !== REF[name](text, plain)) mismatches++;
          }
        }
        expect(rows).toBeGreaterThan(20000);
        expect(mismatches).toBe(0);
        // and the independent implementation on a slice (js-tiktoken is ~5x slower)
        const dolly = readFileSync(files[0], 'utf8').split('\n').slice(0, 500).filter(Boolean);
        for (const line of dolly) {
          const text = Object.values(JSON.parse(line) as Record<string, string>).join('\n');
          expect(ours.count(text)).toBe(tik.encode(text, [], []).length);
        }
      }
    },
    240_000,
  );
});
