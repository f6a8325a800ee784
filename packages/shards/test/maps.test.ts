/**
 * A map the input declares stays a map (issue 15, point 3): JS values cannot tell a map from a
 * struct, so before, a Parquet `MAP` with a few keys was written back as a `STRUCT` of those keys.
 * DuckDB writes the input and reads ours back.
 */
import { join } from 'node:path';
import { collect } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShardWriter, inferColumns, readShard } from '../src/index.js';
import { type Duck, lit, openDuck } from './duck.js';
import { useTmp } from './helpers.js';

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());
const tmp = useTmp();

const TYPES = {
  m: 'MAP(VARCHAR, BIGINT)',
  st: 'STRUCT(s MAP(VARCHAR, VARCHAR), n BIGINT)',
  lm: 'MAP(VARCHAR, DOUBLE)[]',
  e: 'MAP(VARCHAR, BIGINT)',
};

describe('declared maps', () => {
  it('a Parquet MAP (top level, in a struct, in a list, always empty) is written back as a MAP, values equal', async () => {
    const dir = await tmp();
    const input = join(dir, 'in.parquet');
    await duck.rows(
      `COPY (SELECT x AS id, MAP {'a': x, 'b': x * 2} AS m, {'s': MAP {'k': 'v' || x}, 'n': x} AS st,
              [MAP {'z': x / 2}] AS lm, MAP([]::VARCHAR[], []::BIGINT[]) AS e FROM range(300) t(x))
       TO ${lit(input)} (FORMAT parquet, ROW_GROUP_SIZE 100)`,
    );
    const batches = await collect(readShard(input));
    // the shape inferred from the values alone would be a struct: the file's declaration decides
    const specs = inferColumns(batches[0]);
    expect(specs.find((c) => c.name === 'm')?.nested?.type).toBe('map');
    for (const format of ['parquet', 'arrow'] as const) {
      const out = join(dir, format);
      const w = createShardWriter({ dir: out, format, widen: true });
      for (const b of batches) await w.write(b);
      const shards = await w.close();
      const src =
        format === 'arrow' ? `read_parquet(${lit(join(dir, 'copy.parquet'))})` : `read_parquet(${lit(shards[0].path)})`;
      if (format === 'arrow') {
        // DuckDB reads Arrow IPC only through an extension: our reader copies it to Parquet for it
        const copy = createShardWriter({ dir: join(dir, 'copy'), format: 'parquet', widen: true });
        for await (const b of readShard(shards[0].path)) await copy.write(b);
        const [c] = await copy.close();
        await duck.rows(
          `COPY (SELECT * FROM read_parquet(${lit(c.path)})) TO ${lit(join(dir, 'copy.parquet'))} (FORMAT parquet)`,
        );
      }
      const types = await duck.rows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${src})`);
      for (const [k, t] of Object.entries(TYPES)) {
        expect(types.find((r) => r.column_name === k)?.column_type, `${format} ${k}`).toBe(t);
      }
      const same = await duck.rows(
        `SELECT count(*) AS n FROM ${src} a JOIN read_parquet(${lit(input)}) b USING (id)
         WHERE a.m = b.m AND a.st = b.st AND a.lm = b.lm AND a.e = b.e`,
      );
      expect(Number(same[0].n), format).toBe(300);
    }
  });
});
