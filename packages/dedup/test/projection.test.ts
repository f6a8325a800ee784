/**
 * Pass 1 of dedup reads only the columns it needs from Parquet (signColumns): the planted corpus
 * written as Parquet with a large unused text column and a JSON column dedups exactly as its JSONL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileWriter } from '@curate/shards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED } from '../../../tools/test/shared-data.js';
import { dedupFiles } from '../src/index.js';
import { signColumns } from '../src/sign.js';
import { plantCorpus, readJsonl, readJsonlDir } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'curate-dedup-proj-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!HAS_SHARED)('dedup of wide Parquet inputs', () => {
  it('signs from the text, id and kind columns only, with the same result as the JSONL', async () => {
    const jsonl = await plantCorpus(join(dir, 'in'), 1);
    const rows = await readJsonl(jsonl[0]);
    const parquet = join(dir, 'wide.parquet');
    const w = await createFileWriter('parquet', parquet, {
      columns: [
        { name: 'blob', type: 'string' },
        { name: 'id', type: 'string' },
        { name: 'meta', type: 'json' },
        { name: 'text', type: 'string' },
        { name: 'kind', type: 'string' },
        { name: 'extra', type: 'int64' },
      ],
      compression: 'zstd',
    });
    await w.write({
      length: rows.length,
      columns: {
        blob: rows.map((r) => String(r.text).repeat(3)),
        id: rows.map((r) => r.id),
        meta: rows.map((r, i) => ({ i, tags: [r.kind, 'x'] })),
        text: rows.map((r) => r.text),
        kind: rows.map((r) => r.kind),
        extra: rows.map((r) => (r.extra === undefined ? null : r.extra)),
      },
    });
    await w.close();
    const file = { path: parquet, format: 'parquet' as const, size: 0 };
    expect(await signColumns(file, {})).toEqual(['id', 'text', 'kind']);
    expect(await signColumns(file, { text: '{text} {extra}', scoreColumn: 'extra' })).toEqual([
      'id',
      'text',
      'kind',
      'extra',
    ]);
    // a missing template or score column: everything is read, and the error names the file's columns
    expect(await signColumns(file, { text: '{nope}' })).toBeUndefined();
    expect(await signColumns(file, { scoreColumn: 'nope' })).toBeUndefined();
    expect(await signColumns({ ...file, path: jsonl[0], format: 'jsonl' }, {})).toBeUndefined();

    const a = await dedupFiles({ inputs: [parquet], out: join(dir, 'out-pq'), format: 'jsonl', workers: 1 });
    const b = await dedupFiles({ inputs: jsonl, out: join(dir, 'out-jsonl'), workers: 1 });
    expect(a.documents_in).toBe(rows.length);
    expect(a.removed).toEqual(b.removed);
    expect(a.kept).toBe(b.kept);
    const strip = (r: Record<string, unknown>) => ({ id: r.id, kind: r.kind, reason: r.reason });
    expect((await readJsonlDir(join(dir, 'out-pq', 'rejected'))).map(strip)).toEqual(
      (await readJsonlDir(join(dir, 'out-jsonl', 'rejected'))).map(strip),
    );
    // pass 2 still copies every column, the unused ones included
    const kept = await readJsonlDir(join(dir, 'out-pq'));
    expect(kept.length).toBe(b.kept);
    expect(Object.keys(kept[0]).sort()).toEqual(['blob', 'extra', 'id', 'kind', 'meta', 'text']);
    expect(kept[0].blob).toBe(String(kept[0].text).repeat(3));
  });
});
