/**
 * Lineage from columns (issue 15, point 4): a synthetic source whose rows come from several models
 * names the columns holding each row's generator and generation depth. On the real AlpacaEval outputs
 * (9 models, a `generator` column per row) with a `depth` column added by the test (2 for alpaca-7b,
 * a model fine-tuned on text-davinci-003 outputs, so its answers are generated from generated data;
 * null, i.e. the source's 1, for the others).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

describe.skipIf(!HAS_SHARED)('lineage from columns', () => {
  const setup = (dir: string, mutate?: (row: Record<string, unknown>, i: number) => void) => {
    const lines = readFileSync(shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const rows = lines.map((l, i) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      r.depth = r.generator === 'alpaca-7b' ? 2 : null;
      mutate?.(r, i);
      return r;
    });
    writeFileSync(join(dir, 'alpaca-eval.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const dolly = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(dir, 'dolly.jsonl'), `${dolly.slice(0, 4000).join('\n')}\n`);
    return rows;
  };
  const recipe = (dir: string, guards = 'max_recursive_share: 0.02') =>
    writeRecipe(
      dir,
      'r.yaml',
      `name: lineage
seed: 4
tokenizer: cl100k_base
target: { tokens: 400000, ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: dolly, kind: real, paths: ["${join(dir, 'dolly.jsonl')}"], text: "{instruction}\\n\\n{response}" }
  - name: alpaca-eval
    kind: synthetic
    generator: mixed
    generator_column: generator
    generation_column: depth
    paths: ["${join(dir, 'alpaca-eval.jsonl')}"]
    text: "{instruction}\\n\\n{output}"
guards: { ${guards} }
output: { dir: out, format: parquet, shard_rows: 2000 }
report: false
`,
    );

  it("rows carry their own generator and depth; the manifest's lineage sums the sampled rows' tokens by both", async () => {
    const dir = tempDir();
    const input = setup(dir);
    const out = join(dir, 'out');
    const { manifest: m } = await runRecipeFile(recipe(dir), { out, workers: 2 });
    const rows = await duckRows(
      `SELECT source, source_row, generator, generation, text FROM read_parquet('${join(out, '*.parquet')}')`,
    );
    const synth = rows.filter((r) => r.source === 'alpaca-eval');
    expect(synth.length).toBeGreaterThan(500);
    // every written row has the generator and depth of the input row it came from
    for (const r of synth) {
      const src = input[Number(r.source_row)];
      expect(r.generator).toBe(src.generator);
      expect(Number(r.generation)).toBe(src.generator === 'alpaca-7b' ? 2 : 1);
    }
    for (const r of rows.filter((x) => x.source === 'dolly')) {
      expect(r.generator).toBeNull();
      expect(Number(r.generation)).toBe(0);
    }
    // an independent recount of the written text, by generator and by depth
    const enc = getEncoding('cl100k_base');
    const byModel = new Map<string, number>();
    const byDepth = new Map<string, number>();
    for (const r of rows) {
      const t = enc.encode(String(r.text), [], []).length;
      const model = r.source === 'dolly' ? 'human' : String(r.generator);
      byModel.set(model, (byModel.get(model) ?? 0) + t);
      byDepth.set(String(r.generation), (byDepth.get(String(r.generation)) ?? 0) + t);
    }
    const lin = m.lineage as NonNullable<typeof m.lineage>;
    expect(Object.keys(lin.by_generator).sort()).toEqual([...byModel.keys()].sort());
    expect(Object.keys(lin.by_generator)).toHaveLength(10); // human + the 9 models
    for (const [k, t] of byModel) expect(lin.by_generator[k].tokens, k).toBe(t);
    expect(Object.keys(lin.by_generation).sort()).toEqual(['0', '1', '2']);
    for (const [k, t] of byDepth) expect(lin.by_generation[k].tokens, k).toBe(t);
    const total = [...byDepth.values()].reduce((a, b) => a + b, 0);
    expect(lin.recursive_share).toBeCloseTo((byDepth.get('2') ?? 0) / total, 12);
    // alpaca-7b's short answers are ~3% of the tokens: above the stated 2%, so the warning names the source
    expect(lin.recursive_share).toBeGreaterThan(0.02);
    expect(m.warnings.find((w) => w.code === 'recursive_generations')?.sources).toEqual(['alpaca-eval']);
    const src = m.sources.find((s) => s.name === 'alpaca-eval');
    expect(src?.lineage?.by_generator['alpaca-7b'].documents).toBe(
      synth.filter((r) => r.generator === 'alpaca-7b').length,
    );
  });

  it('a depth that is not an integer >= 1, or deeper than max_generation_depth, is refused naming the file and row', async () => {
    const dir = tempDir();
    setup(dir, (r, i) => {
      if (i === 41) r.depth = 'two';
    });
    const bad = await runRecipeFile(recipe(dir), { out: join(dir, 'o1') }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'E_LINEAGE', file: join(dir, 'alpaca-eval.jsonl'), row: 41 });
    expect(String((bad as Error).message)).toMatch(/generation column "depth" holds "two": .*integer >= 1/);

    const dir2 = tempDir();
    const input = setup(dir2);
    const first = input.findIndex((r) => r.generator === 'alpaca-7b');
    const deep = await runRecipeFile(recipe(dir2, 'max_generation_depth: 1'), { out: join(dir2, 'o2') }).catch(
      (e: unknown) => e,
    );
    expect(deep).toMatchObject({ code: 'E_LINEAGE', file: join(dir2, 'alpaca-eval.jsonl'), row: first });
    expect(String((deep as Error).message)).toMatch(/generation 2 .* deeper than guards.max_generation_depth \(1\)/);
  });
});
