import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { peakRssBytes } from '../src/memory.js';

describe('peakRssBytes', () => {
  it('grows with what this process holds', () => {
    const before = peakRssBytes();
    const held = Buffer.alloc(64 * 2 ** 20, 1);
    expect(held[held.length - 1]).toBe(1);
    expect(peakRssBytes()).toBeGreaterThanOrEqual(before);
    expect(peakRssBytes()).toBeGreaterThan(64 * 2 ** 20);
  });

  it.skipIf(process.platform !== 'linux')(
    "a child started by a process with a large peak reports its own, not its parent's",
    () => {
      // the built module (turbo builds a package before its tests): a plain node child cannot load .ts
      const memory = fileURLToPath(new URL('../dist/memory.js', import.meta.url));
      // the parent holds 400 MiB when it starts the child; getrusage in the child would say >= 400 MiB
      const script = `
        const { execFileSync } = require('node:child_process');
        const big = Buffer.alloc(400 * 2 ** 20, 1);
        const out = execFileSync(process.execPath, ['-e',
          'import(' + JSON.stringify(${JSON.stringify(memory)}) + ').then((m) => console.log(JSON.stringify({ own: m.peakRssBytes(), rusage: process.resourceUsage().maxRSS * 1024 })))'],
          { encoding: 'utf8' });
        console.log(out.trim(), big[0]);`;
      const line = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
      const { own, rusage } = JSON.parse(line.slice(0, line.lastIndexOf('}') + 1));
      expect(rusage).toBeGreaterThan(400 * 2 ** 20); // the inherited high-water mark this guards against
      expect(own).toBeLessThan(200 * 2 ** 20);
    },
  );
});
