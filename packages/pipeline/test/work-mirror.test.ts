/**
 * A work dir on s3:// as a local cache mirrored to the prefix (src/stages/work-mirror.ts), against
 * s3rver on 127.0.0.1: the lock object (conditional put), pull on a fresh machine, push of changes
 * with markers last, deletions, and a WorkDir opened on the cache.
 */
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetS3Client, storageFor } from '@curate/shards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from '../../../tools/test/s3-server.js';
import { WorkMirror } from '../src/stages/work-mirror.js';
import { WorkDir } from '../src/stages/workdir.js';

let s3: TestS3;
let base: string;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env, { CURATE_S3_RETRY_BASE_MS: '2', CURATE_S3_RETRY_MAX_MS: '20' });
  resetS3Client();
  base = await mkdtemp(join(tmpdir(), 'curate-mirror-'));
});

afterAll(async () => {
  process.env = saved;
  resetS3Client();
  await s3.stop();
  await rm(base, { recursive: true, force: true });
});

async function names(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storageFor(prefix).list(`${prefix}/`)) out.push(o.path.slice(prefix.length + 1));
  return out;
}

describe('WorkMirror', () => {
  it('locks the prefix, pushes changes (markers last), and a fresh machine pulls them', async () => {
    const url = 's3://test/work/a';
    const a = await WorkMirror.open(url, { cacheDir: join(base, 'machine-a') });
    expect(await names(url)).toEqual(['lock']);
    // a second run (another machine) is refused while the lock is held
    await expect(WorkMirror.open(url, { cacheDir: join(base, 'machine-b') })).rejects.toMatchObject({
      code: 'E_WORK_LOCKED',
      message: expect.stringMatching(
        /^work dir s3:\/\/test\/work\/a is locked by a curate run on host .* delete s3:\/\/test\/work\/a\/lock$/,
      ),
    });
    // the stages use a local WorkDir on the cache
    const work = await WorkDir.open(a.cacheDir, 'test');
    await work.release();
    await storageFor(a.cacheDir).writeFile(join(a.cacheDir, 'attributes', 'f1', 'sig.k1.parquet'), 'data-1');
    await storageFor(a.cacheDir).writeFile(join(a.cacheDir, 'attributes', 'f1', 'sig.k1.json'), '{"marker":1}');
    const pushed = await a.push();
    expect(pushed.files).toBe(3); // curate-work.json, the data file and its marker
    expect((await a.push()).files).toBe(0); // nothing changed
    await a.release();
    expect(await names(url)).toEqual(['attributes/f1/sig.k1.json', 'attributes/f1/sig.k1.parquet', 'curate-work.json']);

    const b = await WorkMirror.open(url, { cacheDir: join(base, 'machine-b') });
    expect(await readFile(join(b.cacheDir, 'attributes', 'f1', 'sig.k1.parquet'), 'utf8')).toBe('data-1');
    expect(await readFile(join(b.cacheDir, 'attributes', 'f1', 'sig.k1.json'), 'utf8')).toBe('{"marker":1}');
    // b replaces the unit and drops another
    await rm(join(b.cacheDir, 'attributes', 'f1', 'sig.k1.json'));
    await rm(join(b.cacheDir, 'attributes', 'f1', 'sig.k1.parquet'));
    await storageFor(b.cacheDir).writeFile(join(b.cacheDir, 'attributes', 'f2', 'sig.k1.parquet'), 'data-2');
    await storageFor(b.cacheDir).writeFile(join(b.cacheDir, 'attributes', 'f2', 'sig.k1.json'), '{"marker":2}');
    expect(await b.push()).toEqual({ files: 2, bytes: 18, removed: 2 });
    await b.release();

    // machine a again: only what changed is downloaded
    const a2 = await WorkMirror.open(url, { cacheDir: join(base, 'machine-a') });
    expect(await readFile(join(a2.cacheDir, 'attributes', 'f2', 'sig.k1.parquet'), 'utf8')).toBe('data-2');
    // a file changed locally (same size) is pushed again: mtime and size are compared
    const f = join(a2.cacheDir, 'curate-work.json');
    await writeFile(f, await readFile(f));
    await utimes(f, new Date(), new Date(Date.now() + 5000));
    expect((await a2.push()).files).toBe(1);
    await a2.release();
  });

  it('a dead run of this host leaves its lock: the next run takes it over', async () => {
    const url = 's3://test/work/dead';
    await storageFor(url).writeFile(
      `${url}/lock`,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), started: 'then' }),
    );
    const m = await WorkMirror.open(url, { cacheDir: join(base, 'dead') });
    const lock = JSON.parse(new TextDecoder().decode(await storageFor(url).read(`${url}/lock`, 0, 1000)));
    expect(lock.pid).toBe(process.pid);
    await m.release();
    expect(await names(url)).toEqual([]);
  });
});
