import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeBatch } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { createShardWriter, shardColumns } from '../src/index.js';
import { useTmp } from './helpers.js';

const tmp = useTmp();

describe('shardColumns', () => {
  it('reads the column names from the schema of every format', async () => {
    const batch = makeBatch({ id: ['a', 'b'], text: ['x', 'y'], meta: [{ k: 1 }, { k: 2 }] });
    const root = await tmp();
    for (const format of ['parquet', 'arrow', 'jsonl'] as const) {
      const dir = join(root, format);
      const w = createShardWriter({ dir, format });
      await w.write(batch);
      const [shard] = await w.close();
      expect(await shardColumns(shard.path), format).toEqual(['id', 'text', 'meta']);
    }
    const json = join(root, 'rows.json');
    await writeFile(json, JSON.stringify([{ a: 1 }, { b: 2 }]));
    expect((await shardColumns(json)).sort()).toEqual(['a', 'b']);
    const err = await shardColumns(join(root, 'missing.parquet')).catch((e) => e);
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.file).toMatch(/missing\.parquet$/);
  });
});
