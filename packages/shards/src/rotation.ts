/**
 * The life cycle both shard writers share (`createShardWriter`: one file per shard;
 * `createTokenShardWriter`: a dataset of several files per shard): shards are opened under
 * `.tmp-PREFIX-NNNNN-TAG` names in `dir` (created when the first one opens), work is queued so
 * calls never interleave, `close()` renames every shard to `PREFIX-NNNNN-of-MMMMM` (the total is
 * only known then) and hashes it, and `abort()` (or a failed close) removes every temporary file.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diskFull } from './disk-full.js';
import { sha256File, shardName } from './writer.js';

/** A file of a closed shard. */
export interface RotatedFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface RotationOptions<C, D> {
  dir: string;
  prefix: string;
  /** The extensions of one shard's files (the first is the shard's main file). */
  exts: readonly string[];
  /** What the errors call the writer (`shard writer`). */
  kind: string;
  /** Open shard `index`'s files at `${base}${ext}`. */
  open(base: string, index: number): Promise<C>;
  /** Close the open shard's files (complete); returns what `close()` reports for it. */
  finish(current: C): Promise<D>;
  /** Close the open shard's files after a failure (errors ignored). */
  discard(current: C): Promise<void>;
}

export interface Rotation<C, D> {
  /** The open shard, opened first when there is none. */
  current(): Promise<C>;
  /** Finish the open shard, if any (the next write opens a new one). */
  rotate(): Promise<void>;
  /** Queue work while open. */
  run(fn: () => Promise<void>): Promise<void>;
  /** Finish, rename and hash every shard, in order. */
  close(): Promise<{ info: D; files: RotatedFile[] }[]>;
  abort(): Promise<void>;
}

export function createRotation<C, D>(o: RotationOptions<C, D>): Rotation<C, D> {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const done: { base: string; info: D }[] = [];
  let open: { base: string; value: C } | undefined;
  let dirReady = false;
  let state: 'open' | 'closed' | 'aborted' = 'open';
  let chain: Promise<void> = Promise.resolve();

  const rotate = async () => {
    if (!open) return;
    const c = open;
    open = undefined;
    done.push({ base: c.base, info: await o.finish(c.value) });
  };

  const cleanup = async () => {
    const bases = done.map((d) => d.base);
    if (open) {
      const c = open;
      open = undefined;
      await o.discard(c.value).catch(() => {});
      bases.push(c.base);
    }
    await Promise.all(bases.flatMap((b) => o.exts.map((e) => rm(`${b}${e}`, { force: true }))));
    done.length = 0;
  };

  const enqueue = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.then(
      () => {},
      () => {},
    );
    return p;
  };

  return {
    async current() {
      if (open) return open.value;
      if (!dirReady) {
        await mkdir(o.dir, { recursive: true });
        dirReady = true;
      }
      const index = done.length;
      const base = join(o.dir, `.tmp-${o.prefix}-${String(index).padStart(5, '0')}-${tag}`);
      open = { base, value: await o.open(base, index) };
      return open.value;
    },
    rotate,
    run(fn) {
      if (state !== 'open') return Promise.reject(new Error(`${o.kind} is ${state}`));
      return enqueue(() =>
        fn().catch((e: unknown) => {
          throw diskFull(e, open ? open.base : o.dir);
        }),
      );
    },
    close() {
      if (state !== 'open') return Promise.reject(new Error(`${o.kind} is ${state}`));
      state = 'closed';
      return enqueue(async () => {
        try {
          await rotate();
          const total = done.length;
          const out: { info: D; files: RotatedFile[] }[] = [];
          for (let i = 0; i < total; i++) {
            const base = join(o.dir, shardName(o.prefix, i, total, ''));
            const files: RotatedFile[] = [];
            for (const ext of o.exts) {
              const path = `${base}${ext}`;
              await rename(`${done[i].base}${ext}`, path);
              const [st, sha256] = await Promise.all([stat(path), sha256File(path)]);
              files.push({ path, bytes: st.size, sha256 });
            }
            done[i].base = base;
            out.push({ info: done[i].info, files });
          }
          return out;
        } catch (e) {
          await cleanup();
          throw diskFull(e, o.dir);
        }
      });
    },
    abort() {
      if (state === 'aborted') return Promise.resolve();
      state = 'aborted';
      return enqueue(cleanup);
    },
  };
}
