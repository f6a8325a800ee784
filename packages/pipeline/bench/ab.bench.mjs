// A/B speed of `curate mix` on English input: two builds of the CLI, interleaved, best of N, CPU time of
// the child process (user + sys, from /usr/bin/time: wall time moves by 2x on the shared machine).
// Input: one Gutenberg shard (real) + AlpacaEval outputs (synthetic), every default quality filter,
// exact + near dedup, zstd Parquet out, 1 worker. Prints new/old CPU-time ratios.
// Usage: NEW=/path/a/apps/cli/dist/bin.js BASE=/path/b/apps/cli/dist/bin.js node bench/ab.bench.mjs
// (NEW defaults to this checkout's CLI; ROUNDS, default 3; NO_WORK=1 runs both with --no-work)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const shared = process.env.CURATE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
if (!existsSync(join(shared, 'MANIFEST.md'))) {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
if (!process.env.BASE) {
  console.log('BASE=/path/to/other/apps/cli/dist/bin.js is required');
  process.exit(2);
}
const builds = { new: process.env.NEW ?? join(root, 'apps', 'cli', 'dist', 'bin.js'), old: process.env.BASE };
const rounds = Number(process.env.ROUNDS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'curate-ab-bench-'));
const guten = join(shared, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
const alpaca = join(shared, 'instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');

let runs = 0;
// a fresh directory per run for the recipe, its work directory (.curate-work beside the recipe) and the
// output: a rerun would reuse the finished scans and dedup of the previous one
function recipe(name) {
  const dir = join(work, `run-${runs++}`);
  mkdirSync(dir);
  const out = join(dir, 'out');
  const p = join(dir, `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}
seed: 1
tokenizer: cl100k_base
target: { ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: gutenberg, kind: real, paths: [${guten}], text: text }
  - { name: alpaca-eval, kind: synthetic, paths: [${alpaca}], text: "{instruction}\\n\\n{output}", max_epochs: 4 }
quality:
  - gopher_quality: {}
  - gopher_repetition: {}
  - c4: { mode: clean }
  - fineweb: {}
dedup:
  exact: {}
  near: { threshold: 0.8 }
output: { dir: ${out}, format: parquet, compression: zstd }
report: false
`,
  );
  return { p, dir };
}

function run(which) {
  const timeFile = join(work, 'time.txt');
  const { p, dir } = recipe(which);
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%U %S %M',
      '-o',
      timeFile,
      process.execPath,
      builds[which],
      'mix',
      p,
      '--json',
      '--workers',
      '1',
      // NO_WORK=1: both builds without a work dir (no attribute shards or c4 spans stored)
      ...(process.env.NO_WORK ? ['--no-work'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${which}: curate mix failed: ${r.stderr}`);
  const [user, sys, rssKb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
  const m = JSON.parse(r.stdout);
  if (m.work?.scan?.groups_reused) throw new Error(`${which}: the run reused earlier work`);
  return { cpu: user + sys, rss: rssKb / 1024, written: m.totals?.rows_written, tokens: m.totals?.tokens_written };
}

const best = { new: Infinity, old: Infinity };
const ratios = [];
const rss = { new: 0, old: 0 };
try {
  for (let i = 0; i < rounds; i++) {
    const cpu = {};
    for (const which of i % 2 === 0 ? ['new', 'old'] : ['old', 'new']) {
      const r = run(which);
      cpu[which] = r.cpu;
      best[which] = Math.min(best[which], r.cpu);
      rss[which] = Math.max(rss[which], r.rss);
      console.log(
        `round ${i + 1} ${which}: ${r.cpu.toFixed(2)} s CPU, peak RSS ${r.rss.toFixed(0)} MB, ${r.written} rows / ${r.tokens} tokens written`,
      );
    }
    ratios.push(cpu.new / cpu.old);
  }
  ratios.sort((a, b) => a - b);
  console.log(
    `curate mix (1 Gutenberg shard + AlpacaEval, default filters, dedup), best of ${rounds}: new ${best.new.toFixed(2)} s, old ${best.old.toFixed(2)} s CPU, new/old ${(best.new / best.old).toFixed(3)} (median of the rounds' new/old ${ratios[Math.floor(ratios.length / 2)].toFixed(3)}, range ${ratios[0].toFixed(3)}-${ratios[ratios.length - 1].toFixed(3)}); peak RSS new ${rss.new.toFixed(0)} MB, old ${rss.old.toFixed(0)} MB`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
