/**
 * c4 `clean` stores what it removes as spans (issue 12): the write stage rebuilds the cleaned text from
 * the raw rendering and the spans, without running the filter again, and writes the same bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { applySpans, applySpansUtf8, cleanSpans, NOT_SPANS } from '../dist/spans.js';
import { outputHash, shardBytes, tempDir, writeRecipe } from './helpers.js';

const pairs = (b: Uint8Array | null) => {
  if (!b) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.byteLength / 4 }, (_, i) => v.getUint32(i * 4, true));
};

describe('spans: what the rewriting steps removed', () => {
  it('encode deletions of lines, blank lines and trimmed space, and refuse what is not a deletion', () => {
    expect(cleanSpans('a\nb', 'a\nb')).toBeNull();
    const raw = '  Keep this.\n\nlorem junk\r\nAnd this one.  \n';
    const cleaned = 'Keep this.\nAnd this one.';
    const sp = cleanSpans(raw, cleaned) as Uint8Array;
    expect(pairs(sp)).toEqual([0, 2, 13, 26, 39, 42]);
    expect(applySpans(raw, sp)).toBe(cleaned);
    // a citation stripped inside a line (c4), then trimmed: the pieces cut out of the line are spans
    const cited = cleanSpans('See [1] here. [2]\nOk.', 'See here.\nOk.') as Uint8Array;
    expect(pairs(cited)).toEqual([4, 8, 13, 17]);
    expect(applySpans('See [1] here. [2]\nOk.', cited)).toBe('See here.\nOk.');
    // a line that is not in the raw text with pieces cut out (a pii placeholder): not spans
    expect(cleanSpans('Mail bob@x.org now.\nOk.', 'Mail <EMAIL> now.\nOk.')).toBe(NOT_SPANS);
    // two cleaned lines out of one raw line: no raw newline to keep between them
    expect(cleanSpans('one two', 'one\ntwo')).toBe(NOT_SPANS);
  });
});

describe('spans on UTF-8 bytes (the byte path of pass 2)', () => {
  const WORDS = [
    'Keep this line.',
    'junk without end',
    'Ça va très bien.',
    '中文句子。',
    'Emoji 😀 here.',
    'A long line of plain words that runs on for well over sixty-four bytes of ASCII text [1] before it ends.',
    'Une longue ligne où les accents [12] tombent près des frontières de blocs de soixante-quatre octets.',
    '𝄞 clef',
    '',
  ];
  it('keep the same text as applySpans on the string, for any cleaning of any text', () => {
    const rng = new Rng('spans-utf8');
    for (let t = 0; t < 500; t++) {
      const lines = Array.from({ length: 1 + rng.int(12) }, () =>
        Array.from({ length: 1 + rng.int(4) }, () => WORDS[rng.int(WORDS.length)]).join(' '),
      );
      const raw = lines.join(rng.int(2) ? '\n' : '\r\n');
      // c4-like cleaning: a random subset of the lines, citations stripped, trimmed, joined by one newline
      const kept = raw
        .split('\n')
        .filter(() => rng.int(3) > 0)
        .map((l) => l.replace(/\[\d*\]/g, '').trim())
        .filter(Boolean);
      const cleaned = kept.join('\n');
      const sp = cleanSpans(raw, cleaned);
      if (sp === null) {
        expect(cleaned).toBe(raw);
        continue;
      }
      expect(sp.byteLength).toBeGreaterThan(0); // a deletion, always (never NOT_SPANS)
      expect(applySpans(raw, sp)).toBe(cleaned);
      const bytes = Buffer.from(raw, 'utf8');
      const ascii = /^[\x00-\x7f]*$/.test(raw);
      expect(applySpansUtf8(bytes, bytes.length, sp, ascii)).toBe(applySpans(raw, sp));
    }
  });

  it('refuse an edge inside a surrogate pair or past the end (the caller decodes the whole text)', () => {
    const raw = 'a😀b';
    // a fresh copy each call: the kept bytes are moved to the front of the buffer given
    const bytes = () => Buffer.from(raw, 'utf8');
    const n = bytes().length;
    const span = (...v: number[]) => new Uint8Array(new Uint32Array(v).buffer);
    expect(applySpansUtf8(bytes(), n, span(1, 3), false)).toBe('ab');
    expect(applySpansUtf8(bytes(), n, span(2, 3), false)).toBeNull();
    expect(applySpansUtf8(bytes(), n, span(3, 9), false)).toBeNull();
    // the bytes past n are not the text's (a thread's scratch buffer): never read, never kept
    const big = Buffer.concat([bytes(), Buffer.from('zzzz')]);
    expect(applySpansUtf8(big, n, span(0, 1), false)).toBe('😀b');
  });
});

describe.skipIf(!HAS_SHARED)('c4 clean from spans in a mix (real C4 text)', () => {
  const mix = (dir: string, seed: number, ratio: number) =>
    writeRecipe(
      dir,
      `r${seed}.yaml`,
      `name: spans
seed: ${seed}
tokenizer: cl100k_base
target: { documents: 250, ratio: { real: ${ratio}, synthetic: ${Math.round((1 - ratio) * 100) / 100} } }
sources:
  - { name: c4, kind: real, paths: ["${join(dir, 'c4-*.jsonl')}"], text: text }
  - name: alpaca-eval
    kind: synthetic
    generator: mixed
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
    max_epochs: 2
quality:
  - c4: { mode: clean, min_sentences: 1 }
  - pii: {}
output: { dir: out, format: parquet, compression: zstd, shard_rows: 100 }
report: false
`,
    );

  it('a re-mix rebuilds the cleaned text from the stored spans and equals a run without a work dir', async () => {
    const dir = tempDir();
    const lines = readFileSync(shared('real_text', 'c4_sample.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(dir, 'c4-0.jsonl'), `${lines.slice(0, 150).join('\n')}\n`);
    writeFileSync(join(dir, 'c4-1.jsonl'), `${lines.slice(150).join('\n')}\n`);
    const work = join(dir, 'work');
    for (const [workers, seed, ratio] of [
      [2, 1, 0.6],
      [1, 2, 0.5],
      [2, 3, 0.7],
    ]) {
      const r = mix(dir, seed, ratio);
      const out = join(dir, `out-${seed}`);
      const m = (await runRecipeFile(r, { work, workers, out })).manifest;
      const fresh = (await runRecipeFile(r, { work: false, workers, out: join(dir, `fresh-${seed}`) })).manifest;
      expect(outputHash(m)).toBe(outputHash(fresh));
      const a = shardBytes(out);
      const b = shardBytes(join(dir, `fresh-${seed}`));
      expect(Object.keys(a)).toEqual(Object.keys(b));
      for (const k of Object.keys(a)) expect(a[k].equals(b[k])).toBe(true);
      // every selected row's text came from the spans, except the rows pii rewrote (not a deletion)
      const text = m.work?.write?.text as { from_spans: number; rederived: number };
      expect(text.from_spans).toBeGreaterThan(100);
      expect(text.rederived).toBeLessThan(text.from_spans / 5);
      if (seed > 1) expect(m.work?.scan).toMatchObject({ reused: 3, computed: 0, bytes_read: 0 });
      expect(fresh.work).toBeUndefined();
    }
  });
});
