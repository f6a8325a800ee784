// Memory of exact dedup over identical rows (issue 19.11), against a baseline in the same run.
//  1. ExactDeduper alone: the compact one (typed arrays per row, per-key state per distinct key)
//     vs the former one (an object per row and a Map entry + object per removed row), kept here
//     verbatim as the baseline; retained heap + array buffers after add + resolve, per row.
//     Then the compact one held in memory (memoryRows: Infinity, as before spilling) against its
//     default, which moves the state to disk past 2^20 documents: peak RSS of a fresh process.
//  2. Whole commands on N identical JSONL rows: `curate dedup --no-near` (dedupFiles) in memory
//     (exactMemoryRows: Infinity, before) and with the default budget (after), and `curate mix`
//     with exact dedup; peak RSS of a fresh process each.
// Each measurement runs in its own process (fresh heap). Run `npm run build` first.
// Run: node --expose-gc bench/exact-memory.bench.mjs [rows in millions, default "1,4"]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const sizes = (process.argv[2] ?? '1,4').split(',').map((x) => Math.round(Number(x) * 1e6));

// --- child modes -------------------------------------------------------------------------------
const mode = process.env.EXACT_MEM_MODE;
if (mode) {
  const n = Number(process.env.EXACT_MEM_ROWS);
  const mem = () => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  if (mode === 'peak') {
    const { ExactDeduper, exactKey64 } = await import('../dist/index.js');
    const { peakRssBytes } = await import('@curate/core');
    const key = exactKey64('the same document text repeated on every row');
    const budget = process.env.EXACT_MEM_BUDGET === 'inf' ? Number.POSITIVE_INFINITY : undefined;
    const t0 = performance.now();
    const d = new ExactDeduper({ prefer: 'real', memoryRows: budget });
    for (let i = 0; i < n; i++) d.add(i, key, { id: `same:${i}`, kind: 'real' });
    const removed = d.resolve();
    if (removed.size !== n - 1) throw new Error(`expected ${n - 1} removals, got ${removed.size}`);
    process.stdout.write(
      JSON.stringify({ rss: peakRssBytes(), bytes: mem(), secs: (performance.now() - t0) / 1000, spilled: d.spilled }),
    );
  } else if (mode === 'legacy' || mode === 'compact') {
    const { ExactDeduper, exactKey } = await import('../dist/index.js');
    const key = exactKey('the same document text repeated on every row');
    const D = mode === 'legacy' ? LegacyExactDeduper() : ExactDeduper;
    const before = mem();
    const d = new D({ prefer: 'real' });
    for (let i = 0; i < n; i++) d.add(i, key, { id: `same:${i}`, kind: 'real' });
    const removed = d.resolve();
    if (removed.size !== n - 1) throw new Error(`expected ${n - 1} removals, got ${removed.size}`);
    const after = mem();
    process.stdout.write(JSON.stringify({ bytes: after - before, keep: [d.size, removed.size] }));
  } else if (mode === 'dedup') {
    const { dedupFiles } = await import('../dist/index.js');
    const s = await dedupFiles({
      inputs: [process.env.EXACT_MEM_FILE],
      out: process.env.EXACT_MEM_OUT,
      overwrite: true,
      near: false,
      writeRejected: false,
      exactMemoryRows: process.env.EXACT_MEM_BUDGET === 'inf' ? Number.POSITIVE_INFINITY : undefined,
    });
    if (s.kept !== 1) throw new Error(`kept ${s.kept}`);
    const { peakRssBytes } = await import('@curate/core');
    process.stdout.write(JSON.stringify({ rss: peakRssBytes() }));
  }
  process.exit(0);
}

/** The ExactDeduper before issue 19.11 (data use only), verbatim in JS: the baseline. */
function LegacyExactDeduper() {
  const kindCode = (k) => (k === 'real' ? 0 : 1);
  return class {
    constructor(o = {}) {
      this.prefer = o.prefer ?? 'real';
      this.best = new Map();
      this.all = [];
    }
    get size() {
      return this.all.length;
    }
    add(docIndex, key, meta) {
      const e = { index: docIndex, kind: kindCode(meta.kind), score: Number.NaN, id: meta.id };
      this.all.push({ key, index: docIndex });
      const cur = this.best.get(key);
      if (!cur || (this.prefer === 'real' && e.kind !== cur.kind ? e.kind - cur.kind : e.index - cur.index) < 0)
        this.best.set(key, e);
    }
    resolve() {
      const removed = new Map();
      for (const { key, index } of this.all) {
        const b = this.best.get(key);
        if (b.index !== index) removed.set(index, { keptIndex: b.index, keptId: b.id });
      }
      return removed;
    }
  };
}

// --- parent ------------------------------------------------------------------------------------
const child = (env, args = ['--expose-gc']) =>
  JSON.parse(
    execFileSync(process.execPath, [...args, fileURLToPath(import.meta.url)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    }),
  );
const MB = (b) => (b / 2 ** 20).toFixed(0).padStart(6);
const work = mkdtempSync(join(tmpdir(), 'curate-exact-mem-'));
try {
  console.log('ExactDeduper alone, N identical keys: retained heap + array buffers after add + resolve');
  console.log('rows        before MB  B/row   after MB  B/row   after/before');
  for (const n of sizes) {
    const a = child({ EXACT_MEM_MODE: 'legacy', EXACT_MEM_ROWS: String(n) });
    const b = child({ EXACT_MEM_MODE: 'compact', EXACT_MEM_ROWS: String(n) });
    console.log(
      `${String(n).padEnd(10)} ${MB(a.bytes)} ${(a.bytes / n).toFixed(0).padStart(6)}   ${MB(b.bytes)} ${(b.bytes / n).toFixed(0).padStart(6)}   ${(b.bytes / a.bytes).toFixed(3)}`,
    );
  }
  console.log('\nExactDeduper, N identical bigint keys: peak RSS of a fresh process (MiB), add + resolve');
  console.log('rows        in memory (before)   default budget (after)   after: retained MiB, seconds');
  for (const n of sizes) {
    const a = child({ EXACT_MEM_MODE: 'peak', EXACT_MEM_ROWS: String(n), EXACT_MEM_BUDGET: 'inf' });
    const b = child({ EXACT_MEM_MODE: 'peak', EXACT_MEM_ROWS: String(n) });
    console.log(
      `${String(n).padEnd(10)} ${MB(a.rss).padStart(18)}   ${MB(b.rss).padStart(22)}${b.spilled ? ' (spilled)' : ''}   ${MB(b.bytes)}, ${b.secs.toFixed(1)} s (in memory ${a.secs.toFixed(1)} s)`,
    );
  }
  console.log('\nwhole commands on N identical JSONL rows (69 bytes a line): peak RSS of a fresh process');
  console.log(
    'rows        curate dedup --no-near MB: in memory (before) / default budget (after)   curate mix (exact dedup) MB',
  );
  const bin = join(root, 'apps', 'cli', 'bin', 'curate.js');
  for (const n of sizes) {
    const file = join(work, `same-${n}.jsonl`);
    writeFileSync(file, '{"text":"the same document text repeated on every row of this file"}\n'.repeat(n));
    const d0 = child(
      {
        EXACT_MEM_MODE: 'dedup',
        EXACT_MEM_FILE: file,
        EXACT_MEM_OUT: join(work, 'out-dedup'),
        EXACT_MEM_BUDGET: 'inf',
      },
      [],
    );
    const d = child({ EXACT_MEM_MODE: 'dedup', EXACT_MEM_FILE: file, EXACT_MEM_OUT: join(work, 'out-dedup') }, []);
    const recipe = join(work, 'mix.yaml');
    writeFileSync(
      recipe,
      `name: same\nseed: 1\ntokenizer: words\nsources:\n  - { name: same, kind: real, paths: ["${file}"], text: text }\ndedup: { exact: {} }\noutput: { dir: "${join(work, 'out-mix')}", format: jsonl, write_rejected: false }\nreport: false\n`,
    );
    const m = JSON.parse(
      execFileSync(process.execPath, [bin, 'mix', recipe, '--json', '--overwrite'], { encoding: 'utf8' }),
    );
    console.log(
      `${String(n).padEnd(10)} ${`${MB(d0.rss).trim()} / ${MB(d.rss).trim()}`.padStart(60)}   ${String(m.timings.peak_rss_mb).padStart(27)}`,
    );
    rmSync(file, { force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
