/**
 * One conformance suite for every storage driver: local files and S3 (s3rver on 127.0.0.1 behind the
 * test proxy). Each driver must stat, list (recursively, in path order, across pages), read ranges,
 * stream from an offset, write, upload (multipart above the part size) and remove the same way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from '../../../tools/test/s3-server.js';
import { localStorage, resetS3Client, type StorageDriver, s3Storage } from '../src/storage/index.js';
import { rejection } from './helpers.js';

let s3: TestS3;
let local: string;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env, {
    CURATE_S3_LIST_PAGE: '2', // listings span pages
    CURATE_S3_PART_BYTES: '65536', // uploads above 64 KiB are multipart
    CURATE_S3_COPY_PART_BYTES: '131072', // copies above 128 KiB are UploadPartCopy parts
    CURATE_S3_RETRY_BASE_MS: '5',
  });
  resetS3Client();
  local = await mkdtemp(join(tmpdir(), 'curate-storage-'));
});

afterAll(async () => {
  process.env = saved;
  resetS3Client();
  await s3.stop();
  await rm(local, { recursive: true, force: true });
});

const drivers: [string, () => StorageDriver, () => string][] = [
  ['local', () => localStorage, () => local],
  ['s3', () => s3Storage, () => 's3://test/conformance'],
];

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
};

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Byte equality without a deep comparison per element (slow for large arrays). */
function same(a: Uint8Array, b: Uint8Array): void {
  expect(a.length).toBe(b.length);
  expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
}

describe.each(drivers)('storage driver %s', (_name, driver, root) => {
  it('writes, stats, reads ranges and streams from an offset', async () => {
    const d = driver();
    const p = `${root()}/a/data.bin`;
    const data = bytes(10_000);
    await d.writeFile(p, data);
    const st = await d.stat(p);
    expect(st?.size).toBe(10_000);
    expect(st?.path).toBe(p);
    same(await d.read(p, 100, 200), data.subarray(100, 200));
    same(await d.read(p, 9_990, 20_000), data.subarray(9_990));
    same(await collect(d.stream(p)), data);
    same(await collect(d.stream(p, 4_000)), data.subarray(4_000));
    same(await collect(d.stream(p, 4_000, 6_000)), data.subarray(4_000, 6_000));
    same(await collect(d.stream(p, 9_000, 20_000)), data.subarray(9_000));
    await d.writeFile(p, 'replaced');
    expect(new TextDecoder().decode(await collect(d.stream(p)))).toBe('replaced');
  });

  it('lists every object below a prefix, recursively, in path order', async () => {
    const d = driver();
    const names = ['l/b.txt', 'l/a.txt', 'l/sub/c.txt', 'l/sub/deeper/d.txt', 'l/e.txt', 'other/x.txt'];
    for (const n of names) await d.writeFile(`${root()}/${n}`, n);
    const listed: string[] = [];
    for await (const o of d.list(`${root()}/l/`)) listed.push(o.path.slice(root().length + 1));
    expect(listed).toEqual(['l/a.txt', 'l/b.txt', 'l/e.txt', 'l/sub/c.txt', 'l/sub/deeper/d.txt']);
  });

  it('uploads a local file, in parts when large, and removes objects', async () => {
    const d = driver();
    const src = join(local, `upload-${_name}.bin`);
    const big = bytes(300_000, 7); // > 4 parts of 64 KiB
    await writeFile(src, big);
    const p = `${root()}/up/big.bin`;
    await d.upload(p, src);
    expect((await d.stat(p))?.size).toBe(300_000);
    same(await collect(d.stream(p)), big);
    await d.remove(p);
    await d.remove(p); // missing: no error
    expect(await d.stat(p)).toBeUndefined();
    if (_name === 's3') expect(await s3.openUploads()).toEqual([]);
  });

  it('copies an object, in parts above the copy part size', async () => {
    const d = driver();
    const small = `${root()}/cp/small.bin`;
    await d.writeFile(small, bytes(1000, 3));
    await d.copy(small, `${root()}/cp/small-copy.bin`);
    same(await collect(d.stream(`${root()}/cp/small-copy.bin`)), bytes(1000, 3));
    const src = join(local, `copy-${_name}.bin`);
    const big = bytes(300_000, 5); // above the 128 KiB copy part size: UploadPartCopy parts on S3
    await writeFile(src, big);
    await d.upload(`${root()}/cp/big.bin`, src);
    await d.copy(`${root()}/cp/big.bin`, `${root()}/cp/sub/big-copy.bin`);
    same(await collect(d.stream(`${root()}/cp/sub/big-copy.bin`)), big);
    expect(await rejection(d.copy(`${root()}/cp/missing.bin`, `${root()}/cp/x.bin`))).toBeInstanceOf(Error);
    if (_name === 's3') expect(await s3.openUploads()).toEqual([]);
  });

  it('writes an object only if absent (lock objects)', async () => {
    const d = driver();
    const p = `${root()}/lk/lock`;
    expect(await d.writeFileIfAbsent(p, 'first')).toBe(true);
    expect(await d.writeFileIfAbsent(p, 'second')).toBe(false);
    expect(new TextDecoder().decode(await collect(d.stream(p)))).toBe('first');
    await d.remove(p);
    expect(await d.writeFileIfAbsent(p, 'third')).toBe(true);
  });

  it('a missing object: stat undefined, read and stream fail naming it', async () => {
    const d = driver();
    const p = `${root()}/missing.bin`;
    expect(await d.stat(p)).toBeUndefined();
    const e = await rejection(d.read(p, 0, 10));
    expect(String((e as { code?: string }).code ?? e.message)).toMatch(/E_NOT_FOUND|ENOENT/);
    await expect(collect(d.stream(p))).rejects.toThrow();
  });
});
