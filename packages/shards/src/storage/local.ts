/** The local-file storage driver (node:fs). */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectInfo, StorageDriver } from './types.js';

async function* walk(dir: string): AsyncGenerator<ObjectInfo> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) {
      const st = await stat(p);
      yield { path: p, size: st.size, mtimeMs: st.mtimeMs };
    }
  }
}

export const localStorage: StorageDriver = {
  kind: 'local',
  async stat(path) {
    const st = await stat(path).catch(() => undefined);
    return st?.isFile() ? { path, size: st.size, mtimeMs: st.mtimeMs } : undefined;
  },
  list: walk,
  async read(path, start, end) {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const stop = Math.min(end, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`${path}: file ended at byte ${start + done}, expected ${stop}`);
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  },
  async *stream(path, start = 0, end?: number) {
    if (end !== undefined && end <= start) return;
    const opts = { start, highWaterMark: 1 << 20, ...(end !== undefined ? { end: end - 1 } : {}) };
    yield* createReadStream(path, opts) as AsyncIterable<Buffer>;
  },
  async writeFile(path, data) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  },
  async writeFileIfAbsent(path, data) {
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, data, { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  },
  async upload(path, localFile) {
    await mkdir(dirname(path), { recursive: true });
    await copyFile(localFile, path);
  },
  async copy(from, to) {
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
  },
  async remove(path) {
    await rm(path, { force: true });
  },
};
