import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/main.js';
import { createProgressBar, formatEta } from '../src/progress.js';
import { curate } from './helpers.js';

describe('curate CLI shell', () => {
  it('registers every command of the CLI contract with help text', async () => {
    const names = COMMANDS.map((c) => c.name).sort();
    expect(names).toEqual([
      'convert',
      'decontam',
      'dedup',
      'filter',
      'inspect',
      'mix',
      'plan',
      'report',
      'stats',
      'status',
      'tag',
      'validate',
    ]);
    const r = await curate(['--help']);
    expect(r.code).toBe(0);
    for (const n of names) expect(r.stdout).toContain(n);
    for (const n of names) {
      const h = await curate([n, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: curate ${n}`);
      expect(h.stdout).toContain('--json');
      expect(h.stdout).toContain('--no-progress');
    }
  });

  it('exits 2 with one line for bad usage', async () => {
    const unknown = await curate(['mixx', 'r.yaml']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'mixx'/);
    const missing = await curate(['inspect']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument/);
    const badFlag = await curate(['inspect', 'x.parquet', '--frobnicate']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/unknown option '--frobnicate'/);
    const badNumber = await curate(['dedup', 'x.jsonl', '--out', 'o', '--threshold', 'high']);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr.trim().split('\n')[0]).toBe('error: --threshold must be a number, got "high"');
    expect(badNumber.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the version', async () => {
    const r = await curate(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('progress bar', () => {
  it('draws rows, MB/s and ETA on a TTY and nothing otherwise', () => {
    let out = '';
    let t = 0;
    const io = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (out += s), isTTY: true, columns: 200 },
      env: {},
      cwd: '.',
    };
    const bar = createProgressBar(io, true, () => t);
    bar.listener({ phase: 'read', rows: 0, bytes: 0, totalBytes: 8 * 1024 * 1024 });
    t = 2000;
    bar.listener({ phase: 'read', rows: 1500, bytes: 4 * 1024 * 1024, totalBytes: 8 * 1024 * 1024 });
    expect(out).toContain('read: 1,500 rows');
    expect(out).toContain('2.0 MB/s');
    expect(out).toContain('50%');
    expect(out).toContain('ETA 2s');
    // A new phase restarts the clock for its rate.
    t = 5000;
    bar.listener({ phase: 'write', rows: 10, bytes: 0 });
    t = 6000;
    bar.listener({ phase: 'write', rows: 20, bytes: 3 * 1024 * 1024 });
    expect(out).toContain('write: 20 rows, 3.0 MB, 3.0 MB/s');
    bar.done();
    let quiet = '';
    const off = createProgressBar(
      { ...io, stderr: { write: (s: string) => (quiet += s), isTTY: false } },
      true,
      () => t,
    );
    off.listener({ phase: 'read', rows: 1, bytes: 1 });
    const disabled = createProgressBar({ ...io, stderr: { write: (s: string) => (quiet += s), isTTY: true } }, false);
    disabled.listener({ phase: 'read', rows: 1, bytes: 1 });
    expect(quiet).toBe('');
    expect(formatEta(3725)).toBe('1h02m');
  });
});
