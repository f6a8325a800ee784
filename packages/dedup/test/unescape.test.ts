/**
 * The byte path of pass 2 (pipeline sample.ts): `LineScanner` finds a line's text value and
 * `unescapeJsonString` turns its JSON body into the UTF-8 bytes of the string `JSON.parse` gives,
 * or refuses (-1) what has no UTF-8 form. Checked against JSON.parse on generated strings written
 * both by JSON.stringify and with every character as a \u escape.
 */
import { Rng } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { ByteScratch, LineScanner, T_STRING, unescapeJsonString } from '../src/index.js';

const POOL = [
  'a',
  'Z',
  ' ',
  '.',
  '\n',
  '\r',
  '\t',
  '"',
  '\\',
  '/',
  '\b',
  '\f',
  '\u0000',
  '\u001f',
  'é',
  'ß',
  '中',
  '日本',
  '\u2028',
  '\uffff',
  '😀',
  '𝄞',
];

function randomString(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += POOL[rng.int(POOL.length)];
  return s;
}

/** Every UTF-16 unit as \uXXXX (upper or lower case hex). */
function allEscaped(s: string, upper: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const h = s.charCodeAt(i).toString(16).padStart(4, '0');
    out += `\\u${upper ? h.toUpperCase() : h}`;
  }
  return `${out}"`;
}

function viaBytes(line: string, key = 'text'): Buffer | null {
  const buf = Buffer.from(line, 'utf8');
  const sc = new LineScanner();
  sc.lazyKey = Buffer.from(key);
  if (!sc.scan(buf, 0, buf.length)) return null;
  const k = sc.find(sc.lazyKey);
  if (k < 0 || sc.valType[k] !== T_STRING || sc.lazyCount !== 1) return null;
  const out = new ByteScratch();
  const n = unescapeJsonString(buf, sc.valStart[k] + 1, sc.valEnd[k] - 1, out);
  return n < 0 ? null : Buffer.from(out.buf.subarray(0, n));
}

describe('unescapeJsonString', () => {
  it('gives the UTF-8 bytes of the parsed string, however it was escaped', () => {
    const rng = new Rng('unescape');
    for (let t = 0; t < 2000; t++) {
      const s = randomString(rng, rng.int(40));
      const want = Buffer.from(s, 'utf8');
      const lines = [
        `{"id":${t},"text":${JSON.stringify(s)},"meta":{"a":[1,"x\\"}"]}}`,
        `{ "text" : ${allEscaped(s, t % 2 === 0)} , "n": 1.5e3 }`,
        `{"text":${JSON.stringify(s).replaceAll('/', '\\/')}}`,
      ];
      for (const line of lines) {
        expect((JSON.parse(line) as { text: string }).text).toBe(s);
        expect(viaBytes(line)?.equals(want)).toBe(true);
      }
    }
  });

  it('refuses lone surrogates and bad escapes, and the scanner leaves other shapes to JSON.parse', () => {
    // a lone surrogate has no UTF-8 form (TextEncoder would write U+FFFD): the reader's path
    expect(viaBytes('{"text":"a\\ud83d b"}')).toBeNull();
    expect(viaBytes('{"text":"a\\ude00"}')).toBeNull();
    expect(viaBytes('{"text":"\\ud83d\\u0041"}')).toBeNull();
    expect(viaBytes('{"text":"bad \\x escape"}')).toBeNull();
    expect(viaBytes('{"text":"short \\u12"}')).toBeNull();
    // the pair itself is fine
    expect(viaBytes('{"text":"\\ud83d\\ude00"}')?.toString('utf8')).toBe('😀');
    // not a string, repeated, absent, not an object
    expect(viaBytes('{"text":5}')).toBeNull();
    expect(viaBytes('{"text":"a","text":"b"}')).toBeNull();
    expect(viaBytes('{"body":"a"}')).toBeNull();
    expect(viaBytes('["text","a"]')).toBeNull();
  });
});
