/**
 * Pass-through columns keep odd names and exact values through `curate mix` (issue 19.3, 19.5):
 * a "__proto__" column became {} and integers beyond 2^53 lost digits.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const WORDS = 'the quick brown fox jumps over the lazy dog while seven wise owls watch from an old oak tree'.split(' ');

function sentence(i: number): string {
  return Array.from({ length: 40 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ') + ` doc ${i}.`;
}

describe('mix pass-through columns', () => {
  for (const [format, workers] of [
    ['jsonl', 1],
    ['jsonl', 2],
    ['parquet', 2],
  ] as const) {
    it(`keeps __proto__/constructor/toString columns, big integers and float-ness (${format} input, ${workers} worker(s))`, async () => {
      const dir = tempDir();
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) {
        lines.push(
          `{"text":${JSON.stringify(sentence(i))},"__proto__":{"k":${i}},"constructor":"c${i}","toString":${i},"big":${1234567890123456700n + BigInt(i)},"score":${i}.0}`,
        );
      }
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, `${lines.join('\n')}\n`);
      let paths = input;
      if (format === 'parquet') {
        const { createShardWriter, readShard } = await import('@curate/shards');
        const w = createShardWriter({ dir: join(dir, 'pq'), format: 'parquet' });
        for await (const b of readShard(input)) await w.write(b);
        paths = (await w.close())[0].path;
      }
      const recipe = writeRecipe(
        dir,
        'r.yaml',
        `name: odd
seed: 3
tokenizer: words
sources:
  - { name: s, kind: real, paths: ["${paths}"], text: text, columns: [__proto__, constructor, toString, big, score] }
output: { dir: out, format: jsonl, write_rejected: false }
report: false
`,
      );
      const out = join(dir, 'out');
      await runRecipeFile(recipe, { out, workers });
      const rows = readdirSync(out)
        .filter((f) => f.startsWith('shard-'))
        .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
      expect(rows.length).toBe(40);
      for (const line of rows) {
        const i = Number(/"source_row":(\d+)/.exec(line)![1]);
        expect(line).toContain(
          `"__proto__":{"k":${i}},"constructor":"c${i}","toString":${i},"big":${1234567890123456700n + BigInt(i)},"score":${i}.0}`,
        );
      }
    }, 60_000);
  }
});
