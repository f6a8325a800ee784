/**
 * Threads started ahead of their work (pool.ts `Threads`): the re-mix starts one pass-2 thread
 * while it loads the attributes. A thread that dies before it is given work must fail the run with
 * its error (never a pool that waits on a dead thread), and the others must still be ended.
 */
import { describe, expect, it } from 'vitest';
import { Threads } from '../dist/pool.js';

const recipe = { name: 't', sources: [] } as never;

describe('threads started early', () => {
  it('start `now` threads at once and the rest when taken', async () => {
    const t = new Threads(recipe, 3, 1);
    expect(t.workers.length).toBe(1);
    const ws = t.take();
    expect(ws.length).toBe(3);
    expect(new Set(ws.map((w) => w.threadId)).size).toBe(3);
    expect(t.taken).toBe(true);
    await t.close();
  });

  it('each of the others starts once the one before it has loaded its modules, one at a time', async () => {
    const t = new Threads(recipe, 3, 1);
    expect(t.workers.length).toBe(1);
    const grown: number[] = [];
    for (let i = 0; i < 400 && t.workers.length < 3; i++) {
      if (grown.at(-1) !== t.workers.length) grown.push(t.workers.length);
      await new Promise((r) => setTimeout(r, 25));
    }
    grown.push(t.workers.length);
    expect(grown).toEqual([1, 2, 3]); // never two started at once
    expect(t.take().length).toBe(3); // nothing left to start
    await t.close();
  });

  it('a thread that exited before its first task makes take() throw; close() ends the others', async () => {
    const t = new Threads(recipe, 2, 2);
    const exited = new Promise((resolve) => t.workers[0].once('exit', resolve));
    await t.workers[0].terminate();
    await exited;
    expect(() => t.take()).toThrow(/a scan worker exited with code \d/);
    expect(t.taken).toBe(false);
    const alive = t.workers[1];
    const ended = new Promise((resolve) => alive.once('exit', resolve));
    await t.close();
    expect(typeof (await ended)).toBe('number'); // ended (terminated: its exit code)
  });
});
