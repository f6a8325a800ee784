import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFilter } from '../src/index.js';
import { check, words } from './helpers.js';

const sentence = (i: number) => `${words(4, 5, i).join(' ')}.`;
const body = (n: number) => Array.from({ length: n }, (_, i) => sentence(i)).join('\n');

describe('c4', () => {
  it('min_sentences: 5 pass, 4 drop; sentences are counted inside lines', () => {
    expect(check('c4', {}, body(5))).toBe(true);
    expect(check('c4', {}, body(4))).toBe('too_few_sentences');
    expect(check('c4', {}, `${sentence(1)} ${sentence(2)} ${sentence(3)}\n${sentence(4)} ${sentence(5)}`)).toBe(true);
    expect(check('c4', {}, '')).toBe('too_few_sentences');
  });

  it('filter mode drops a document with any line the line rules would remove', () => {
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nno terminal punctuation here`)).toBe('no_terminal_punct');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nTrailing ellipsis line...`)).toBe('no_terminal_punct');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nTwo words.`)).toBe('too_few_words');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nThree words here.`)).toBe(true);
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nPlease enable JavaScript to view.`)).toBe('javascript');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nRead our Privacy Policy today.`)).toBe('policy');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nThis site uses cookies, sadly.`)).toBe('policy');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nA ${'x'.repeat(1001)} word.`)).toBe('long_word');
    expect(check('c4', { mode: 'filter' }, `${body(5)}\n\n\n   \n${sentence(9)}`)).toBe(true);
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nQuoted ends count "like this."`)).toBe(true);
    expect(check('c4', { mode: 'filter' }, `${body(5)}\nA cited line here.[12]`)).toBe(true);
  });

  it('document rules: lorem ipsum and curly brackets anywhere', () => {
    expect(check('c4', {}, `${body(6)}\nLorem Ipsum dolor sit amet.`)).toBe('lorem_ipsum');
    expect(check('c4', {}, `${body(6)}\nfunction f() { return 1; }`)).toBe('curly_bracket');
    expect(check('c4', { remove_curly_bracket: false, mode: 'clean' }, `${body(6)}\nobj = {a: 1}`)).toEqual({
      text: body(6),
    });
  });

  it('clean mode removes lines and keeps the rest; switches turn rules off', () => {
    const text = `Title line\n${body(3)}\nPlease enable JavaScript to view.\n${body(2)}\nok\nCookie Policy applies to you.`;
    expect(check('c4', { mode: 'clean' }, text)).toEqual({ text: `${body(3)}\n${body(2)}` });
    expect(check('c4', { mode: 'clean', min_sentences: 6 }, text)).toBe('too_few_sentences');
    expect(check('c4', { mode: 'clean', remove_javascript: false, remove_policy: false }, text)).toEqual({
      text: `${body(3)}\nPlease enable JavaScript to view.\n${body(2)}\nCookie Policy applies to you.`,
    });
    expect(check('c4', { mode: 'clean', terminal_punctuation: false, min_words_per_line: 1 }, 'a\nb\nc\nd\ne')).toBe(
      true,
    );
    // already clean text is returned unchanged
    expect(check('c4', { mode: 'clean' }, body(5))).toBe(true);
  });
});

describe('fineweb', () => {
  const long = (i: number, end = '.') => `${words(8, 6, i).join(' ')}${end}`;
  it('punct_line_ratio >= 0.12', () => {
    // 3 of 25 lines end in punctuation = 0.12 (passes); 2 of 25 = 0.08
    const doc = (k: number) => Array.from({ length: 25 }, (_, i) => long(i, i < k ? '.' : '')).join('\n');
    expect(check('fineweb', {}, doc(3))).toBe(true);
    expect(check('fineweb', {}, doc(2))).toBe('punct_line_ratio');
    expect(check('fineweb', {}, doc(3).replaceAll('\n', '\r\n'))).toBe(true);
  });
  it('short_line_ratio <= 0.67 (lines <= 30 chars)', () => {
    const doc = (k: number) => Array.from({ length: 100 }, (_, i) => (i < k ? `Short ${i}.` : long(i))).join('\n');
    expect(check('fineweb', { max_newline_word_ratio: 1 }, doc(67))).toBe(true);
    expect(check('fineweb', { max_newline_word_ratio: 1 }, doc(68))).toBe('short_line_ratio');
  });
  it('dup_line_char_frac <= 0.01', () => {
    const lines = Array.from({ length: 40 }, (_, i) => long(i));
    const text = [...lines, lines[0]].join('\n');
    const frac = lines[0].length / (text.length - 40);
    expect(check('fineweb', { max_dup_line_char_frac: frac }, text)).toBe(true);
    expect(check('fineweb', { max_dup_line_char_frac: frac - 1e-9 }, text)).toBe('dup_line_char_frac');
  });
  it('newline_word_ratio <= 0.3', () => {
    // 10 lines of 3 words: 9 newlines / 30 words = 0.3
    const doc = (w: number) => Array.from({ length: 10 }, (_, i) => `${words(w, 5, i).join(' ')}.`).join('\n');
    expect(check('fineweb', { max_short_line_ratio: 1 }, doc(3))).toBe(true);
    // one more newline: 10 / 30 > 0.3
    expect(check('fineweb', { max_short_line_ratio: 1 }, `${doc(3)}\n`)).toBe('newline_word_ratio');
  });
  it('empty text and text without newlines', () => {
    expect(check('fineweb', {}, '')).toBe('punct_line_ratio');
    expect(check('fineweb', {}, long(1))).toBe(true);
  });
});

describe('length', () => {
  it('words, chars and tokens with min and max', async () => {
    expect(check('length', {}, '')).toBe('too_short');
    expect(check('length', {}, '-- !!')).toBe('too_short');
    expect(check('length', {}, 'one')).toBe(true);
    expect(check('length', { min: 3, max: 4 }, 'a b, c')).toBe(true);
    expect(check('length', { min: 3, max: 4 }, 'a b')).toBe('too_short');
    expect(check('length', { min: 3, max: 4 }, 'a b c d e')).toBe('too_long');
    expect(check('length', { unit: 'chars', max: 3 }, '😀😀😀')).toBe(true);
    expect(check('length', { unit: 'chars', max: 3 }, '😀😀😀😀')).toBe('too_long');
    const f = createFilter('length', { unit: 'tokens', min: 2, max: 3 });
    await f.prepare?.();
    const run = (text: string) => f.filter({ text, source: 's', kind: 'real', get: () => null } as never);
    expect(run('hello')).toEqual({ drop: 'too_short' });
    expect(run('hello world')).toBe(true);
    // the recipe passes its tokenizer (an encoding name or a tokenizer.json path)
    const bytes = createFilter('length', { unit: 'tokens', min: 2, max: 3, tokenizer: 'bytes' });
    await bytes.prepare?.();
    expect(bytes.filter({ text: 'hello', source: 's', kind: 'real', get: () => null } as never)).toEqual({
      drop: 'too_long',
    });
    expect(() => createFilter('length', { min: 5, max: 4 }, 'quality[0].length')).toThrow(/must be >= min/);
  });
});

describe('blocklist', () => {
  const p = { words: ['casino', 'Viagra'], phrases: ['click here', 'buy now!'] };
  it('matches words and phrases at word boundaries, case-insensitively', () => {
    expect(check('blocklist', p, 'Visit our CASINO today')).toBe('word');
    expect(check('blocklist', p, 'casinos are not casino-like?')).toBe('word');
    expect(check('blocklist', p, 'casinos are fine')).toBe(true);
    expect(check('blocklist', p, 'viagra')).toBe('word');
    expect(check('blocklist', p, 'Please Click   here.')).toBe('phrase');
    expect(check('blocklist', p, 'clickhere')).toBe(true);
    expect(check('blocklist', p, 'buy nowhere')).toBe(true);
    expect(check('blocklist', p, 'BUY NOW')).toBe('phrase');
    expect(check('blocklist', { ...p, case_sensitive: true }, 'viagra and Casino')).toBe(true);
    expect(check('blocklist', { ...p, case_sensitive: true }, 'Viagra')).toBe('word');
    expect(check('blocklist', {}, 'anything')).toBe(true);
    expect(check('blocklist', { words: ['ёж'] }, 'Большой ЁЖ')).toBe('word');
  });
  it('overlapping patterns (failure links) and hostile input stay linear', () => {
    expect(check('blocklist', { phrases: ['a a b', 'a c'] }, 'x a a a c y')).toBe('phrase');
    expect(check('blocklist', { phrases: ['a a a a b'] }, `${'a '.repeat(200000)}`)).toBe(true);
    expect(() => createFilter('blocklist', { words: ['ok', '!!'] }, 'quality[3].blocklist')).toThrow(/has no letters/);
  });
});

describe.skipIf(!HAS_SHARED)('c4 clean mode on Gutenberg boilerplate', () => {
  it('removes the licence header lines and keeps sentences', () => {
    const line = readFileSync(shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl'), 'utf8').split(
      '\n',
    )[0];
    const text = JSON.parse(line).text as string;
    const res = check('c4', { mode: 'clean' }, text);
    expect(typeof res).toBe('object');
    const cleaned = (res as { text: string }).text;
    for (const boiler of [
      '*** START OF THIS PROJECT GUTENBERG EBOOK',
      'Title: A Garland for Girls',
      'Release Date: June, 2004',
      'Character set encoding: UTF-8',
      'gbnewby@pglaf.org',
      'with this eBook or online at www.gutenberg.org',
    ]) {
      expect(text).toContain(boiler);
      expect(cleaned).not.toContain(boiler);
    }
    const kept = cleaned.split('\n');
    expect(kept.length).toBeGreaterThan(100);
    for (const l of kept) expect(/[.?!"']$/.test(l) && l.split(/\s+/).length >= 3).toBe(true);
  });
});
