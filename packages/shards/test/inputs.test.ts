import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, expandInputs } from '../src/index.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

describe('detectFormat', () => {
  it('maps extensions and compression', () => {
    expect(detectFormat('a/b.parquet')).toEqual({ format: 'parquet' });
    expect(detectFormat('x.ARROW')).toEqual({ format: 'arrow' });
    expect(detectFormat('x.feather')).toEqual({ format: 'arrow' });
    expect(detectFormat('x.arrows')).toEqual({ format: 'arrows' });
    expect(detectFormat('x.ndjson')).toEqual({ format: 'jsonl' });
    expect(detectFormat('x.jsonl.gz')).toEqual({ format: 'jsonl', compression: 'gzip' });
    expect(detectFormat('x.json.zst')).toEqual({ format: 'json', compression: 'zstd' });
  });

  it('rejects unknown extensions naming the file', () => {
    for (const p of ['notes.txt', 'data.parquet.gz', 'README', 'dir.v1/file']) {
      try {
        detectFormat(p);
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe('E_UNKNOWN_FORMAT');
        expect((e as { file: string }).file).toBe(p);
      }
    }
  });
});

describe('expandInputs', () => {
  async function tree() {
    const d = await tmp();
    await mkdir(join(d, 'data', 'sub'), { recursive: true });
    for (const f of [
      'data/b.jsonl',
      'data/a.jsonl.gz',
      'data/sub/c.parquet',
      'data/notes.txt',
      'data/.hidden.jsonl',
      'x.json',
    ]) {
      await writeFile(join(d, f), '');
    }
    return d;
  }

  it('expands directories recursively (known extensions, no hidden files), sorted', async () => {
    const d = await tree();
    const files = await expandInputs(['data'], { cwd: d });
    expect(files.map((f) => f.path)).toEqual(
      ['data/a.jsonl.gz', 'data/b.jsonl', 'data/sub/c.parquet'].map((f) => join(d, f)),
    );
    expect(files[0]).toEqual({ path: join(d, 'data/a.jsonl.gz'), format: 'jsonl', compression: 'gzip', size: 0 });
  });

  it('expands globs, de-duplicates overlapping patterns and sorts', async () => {
    const d = await tree();
    const files = await expandInputs(
      ['x.json', 'data/**/*.parquet', 'data/*.jsonl*', 'data/b.jsonl', join(d, 'x.json')],
      {
        cwd: d,
      },
    );
    expect(files.map((f) => f.path)).toEqual(
      ['data/a.jsonl.gz', 'data/b.jsonl', 'data/sub/c.parquet', 'x.json'].map((f) => join(d, f)),
    );
  });

  it('takes an existing path literally even when it looks like a glob', async () => {
    const d = await tmp();
    await mkdir(join(d, 'data (1)', '[x]'), { recursive: true });
    await writeFile(join(d, 'data (1)', '[x]', 'a*.jsonl'), '');
    const files = await expandInputs(['data (1)/[x]/a*.jsonl', 'data (1)'], { cwd: d });
    expect(files.map((f) => f.path)).toEqual([join(d, 'data (1)', '[x]', 'a*.jsonl')]);
  });

  it('fails on a pattern that matches nothing, and on a missing file', async () => {
    const d = await tree();
    const e1 = await rejection(expandInputs(['data/*.arrow'], { cwd: d }));
    expect([e1.code, e1.file]).toEqual(['E_NO_MATCH', 'data/*.arrow']);
    const e2 = await rejection(expandInputs(['data/*.txt'], { cwd: d }));
    expect(e2.code).toBe('E_NO_MATCH');
    const e3 = await rejection(expandInputs(['data/missing.jsonl'], { cwd: d }));
    expect([e3.code, e3.file]).toEqual(['E_NOT_FOUND', 'data/missing.jsonl']);
    const e4 = await rejection(expandInputs(['data/notes.txt'], { cwd: d }));
    expect(e4.code).toBe('E_UNKNOWN_FORMAT');
  });
});
