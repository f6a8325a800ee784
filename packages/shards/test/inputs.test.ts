import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
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

  it('lists a file once however many links lead to it (a link loop, an upward link, a link to a file)', async () => {
    const d = await tmp();
    await mkdir(join(d, 'data', 'sub'), { recursive: true });
    await writeFile(join(d, 'data', 'a.jsonl'), '{"id":1}\n');
    await writeFile(join(d, 'data', 'sub', 'b.jsonl'), '{"id":2}\n');
    await symlink('.', join(d, 'data', 'loop')); // data/loop -> data
    await symlink('..', join(d, 'data', 'sub', 'up')); // data/sub/up -> data
    await symlink('a.jsonl', join(d, 'data', 'alias.jsonl')); // a link to a listed file
    const files = await expandInputs(['data', 'data/sub', 'data/loop/a.jsonl'], { cwd: d });
    expect(files.map((f) => f.path)).toEqual([join(d, 'data', 'a.jsonl'), join(d, 'data', 'sub', 'b.jsonl')]);
    // a directory reached only through a link is followed
    await mkdir(join(d, 'other'));
    await symlink(join(d, 'data', 'sub'), join(d, 'other', 'linked'));
    expect((await expandInputs(['other'], { cwd: d })).map((f) => f.path)).toEqual([
      join(d, 'other', 'linked', 'b.jsonl'),
    ]);
  });

  it('refuses FIFOs, sockets and devices (also behind links) unless allowSpecialFiles', async () => {
    const d = await tmp();
    await mkdir(join(d, 'data'));
    await writeFile(join(d, 'data', 'a.jsonl'), '{"id":1}\n');
    await symlink(join(d, 'data', 'a.jsonl'), join(d, 'ok.jsonl')); // a link to a regular file is fine
    expect((await expandInputs(['ok.jsonl'], { cwd: d })).map((f) => f.path)).toEqual([join(d, 'ok.jsonl')]);
    execFileSync('mkfifo', [join(d, 'data', 'pipe.jsonl')]);
    await symlink('/dev/null', join(d, 'data', 'null.jsonl'));
    const server = createServer();
    await new Promise<void>((res) => server.listen(join(d, 'sock.jsonl'), res));
    try {
      const pipe = await rejection(expandInputs(['data/pipe.jsonl'], { cwd: d }));
      expect([pipe.code, pipe.file]).toEqual(['E_NOT_REGULAR_FILE', 'data/pipe.jsonl']);
      expect(pipe.message).toMatch(/^is a FIFO \(named pipe\), not a regular file: refused/);
      const sock = await rejection(expandInputs(['sock.jsonl'], { cwd: d }));
      expect([sock.code, sock.message.slice(0, 11)]).toEqual(['E_NOT_REGULAR_FILE', 'is a socket']);
      // a directory listing holds files and links (not FIFOs): the link to a device is refused
      const dev = await rejection(expandInputs(['data'], { cwd: d }));
      expect([dev.code, dev.file, dev.message.slice(0, 22)]).toEqual([
        'E_NOT_REGULAR_FILE',
        join(d, 'data', 'null.jsonl'),
        'is a character device,',
      ]);
      const all = await expandInputs(['data', 'data/pipe.jsonl'], { cwd: d, allowSpecialFiles: true });
      expect(all.map((f) => f.path)).toEqual(
        ['data/a.jsonl', 'data/null.jsonl', 'data/pipe.jsonl'].map((f) => join(d, f)),
      );
    } finally {
      server.close();
    }
  });
});
