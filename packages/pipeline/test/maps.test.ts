/**
 * A pass-through MAP column stays a MAP through curate mix (issue 15, point 3): the input is written
 * by DuckDB with real Dolly text, and DuckDB reads the output's types and values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

describe.skipIf(!HAS_SHARED)('maps through curate mix', () => {
  it('Parquet MAP pass-through columns are written as MAP (Parquet and Arrow output), values equal', async () => {
    const dir = tempDir();
    const input = join(dir, 'dolly.parquet');
    const dolly = shared('instruct_pair', 'human_dolly15k.jsonl');
    expect(readFileSync(dolly).length).toBeGreaterThan(0);
    await duckRows(
      `COPY (SELECT row_number() OVER () - 1 AS rid, instruction, response,
              MAP {'category': category, 'len': length(response)::VARCHAR} AS meta,
              {'tags': MAP {'source': 'dolly'}, 'n': length(instruction)} AS info
            FROM read_json('${dolly}', format='newline_delimited') LIMIT 3000)
       TO '${input}' (FORMAT parquet)`,
    );
    for (const format of ['parquet', 'arrow']) {
      const recipe = writeRecipe(
        dir,
        `${format}.yaml`,
        `name: maps
seed: 1
tokenizer: words
target: { documents: 1000, ratio: { real: 1 } }
sources:
  - { name: dolly, kind: real, paths: ["${input}"], text: "{instruction}\\n\\n{response}", columns: [rid, meta, info] }
output: { dir: out, format: ${format} }
report: false
`,
      );
      const out = join(dir, `out-${format}`);
      await runRecipeFile(recipe, { out, workers: 2 });
      let src = `read_parquet('${join(out, '*.parquet')}')`;
      if (format === 'arrow') {
        // DuckDB has no Arrow IPC reader here: curate's own Arrow reader rewrites the shards as Parquet
        const { createShardWriter, readShard, expandInputs } = await import('@curate/shards');
        const w = createShardWriter({ dir: join(dir, 'arrow-copy'), format: 'parquet', widen: true });
        for (const f of await expandInputs([join(out, '*.arrow')]))
          for await (const b of readShard(f)) await w.write(b);
        await w.close();
        src = `read_parquet('${join(dir, 'arrow-copy', '*.parquet')}')`;
      }
      const types = await duckRows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${src})`);
      const typeOf = Object.fromEntries(types.map((r) => [r.column_name, r.column_type]));
      expect(typeOf.meta, format).toBe('MAP(VARCHAR, VARCHAR)');
      expect(typeOf.info, format).toBe('STRUCT(tags MAP(VARCHAR, VARCHAR), n BIGINT)');
      const same = await duckRows(
        `SELECT count(*) AS n, count(*) FILTER (WHERE a.meta = b.meta AND a.info = b.info) AS eq
         FROM ${src} a JOIN read_parquet('${input}') b USING (rid)`,
      );
      expect(Number(same[0].n), format).toBe(1000);
      expect(Number(same[0].eq), format).toBe(1000);
    }
  });
});
