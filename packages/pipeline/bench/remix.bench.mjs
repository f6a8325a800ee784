// Tag once, mix many times (issue 12), in one run on the pipeline bench's inputs (Gutenberg 97 MB +
// AlpacaEval 9 MB, default filters, exact + near dedup, zstd Parquet):
//   - DuckDB copying the same inputs to zstd Parquet (the baseline)
//   - curate mix without a work dir (everything computed, nothing stored: the pre-stages run), 3 runs
//   - curate mix with a fresh work dir (computes and stores the attribute shards), 3 runs, alternating
//   - the re-mix: ratio and seed changed, same work dir (reuses every file's attributes), 3 seeds
// Prints seconds (medians), ratios, attribute bytes per input byte and peak RSS.
// Run: node bench/remix.bench.mjs  (CURATE_BENCH_SHARDS=1 for a quarter of the input)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const shared = process.env.CURATE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
if (!existsSync(join(shared, 'MANIFEST.md'))) {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
const bin = join(root, 'apps', 'cli', 'bin', 'curate.js');
const tmp = mkdtempSync(join(tmpdir(), 'curate-remix-bench-'));
const n = Number(process.env.CURATE_BENCH_SHARDS ?? 4);
const guten = Array.from({ length: n }, (_, i) =>
  join(shared, 'real_text', 'gutenberg', `gutenberg-0000${i}-of-00004.jsonl`),
);
const alpaca = join(shared, 'instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');
const inBytes = [...guten, alpaca].reduce((a, f) => a + statSync(f).size, 0);

function recipe(name, seed, real) {
  const p = join(tmp, `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}
seed: ${seed}
tokenizer: cl100k_base
target: { ratio: { real: ${real}, synthetic: ${Math.round((1 - real) * 100) / 100} } }
sources:
  - { name: gutenberg, kind: real, paths: [${guten.join(', ')}], text: text }
  - { name: alpaca-eval, kind: synthetic, generator: AlpacaEval models, paths: [${alpaca}], text: "{instruction}\\n\\n{output}", max_epochs: 4 }
quality:
  - gopher_quality: {}
  - gopher_repetition: {}
  - c4: { mode: clean }
  - fineweb: {}
dedup:
  exact: {}
  near: { threshold: 0.8 }
output: { dir: ${join(tmp, `out-${name}`)}, format: parquet, compression: zstd }
report: false
`,
  );
  return p;
}

function mix(name, seed, real, work) {
  const t0 = performance.now();
  const args = [bin, 'mix', recipe(name, seed, real), '--json', '--overwrite', '--workers', '2'];
  args.push(...(work ? ['--work', work] : ['--no-work']));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`curate mix failed: ${r.stderr}`);
  return { s, m: JSON.parse(r.stdout) };
}

async function duckCopy() {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const list = `[${guten.map((f) => `'${f}'`).join(', ')}]`;
  const t0 = performance.now();
  await con.run(
    `COPY (SELECT text FROM read_json(${list}, format='newline_delimited', maximum_object_size=268435456)
           UNION ALL SELECT instruction || chr(10) || chr(10) || output AS text FROM read_json('${alpaca}', format='newline_delimited'))
     TO '${join(tmp, 'duck.parquet')}' (FORMAT parquet, COMPRESSION zstd)`,
  );
  const s = (performance.now() - t0) / 1000;
  con.closeSync();
  inst.closeSync();
  return s;
}

function dirBytes(d) {
  let t = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    t += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return t;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ducks = [await duckCopy()];
// a first run swings by 10-15% too (7.6 s and 8.6 s in two runs of the same build): three of each,
// alternating, each fresh work dir new, medians; the re-mixes reuse the last one
const noWorks = [];
const firsts = [];
let work = '';
for (const k of [1, 2, 3]) {
  noWorks.push(mix('nowork', 1, 0.7, null));
  work = join(tmp, `work${k}`);
  firsts.push(mix('first', 1, 0.7, work));
}
const noWork = { ...noWorks.find((r) => r.s === median(noWorks.map((x) => x.s))) };
const first = { ...firsts.find((r) => r.s === median(firsts.map((x) => x.s))) };
const attrBytes = dirBytes(join(work, 'attributes'));
// single runs swing by 10-15% on this VM: three re-mixes (seeds 2-4) and DuckDB copies between them, medians
const remixes = [];
for (const seed of [2, 3, 4]) {
  remixes.push(mix(`remix${seed}`, seed, 0.6, work));
  ducks.push(await duckCopy());
}
const remix = { ...remixes.find((r) => r.s === median(remixes.map((x) => x.s))) };
const base = median(ducks);
const mb = inBytes / 1e6;
console.log(`inputs: ${n} Gutenberg shard(s) + AlpacaEval outputs, ${mb.toFixed(1)} MB of JSONL`);
console.log(`${'run'.padEnd(58)} seconds   x DuckDB   peak RSS   scan reused/computed`);
const line = (name, r) =>
  console.log(
    `${name.padEnd(58)} ${r.s.toFixed(1).padStart(7)} ${(r.s / base).toFixed(2).padStart(9)}x ${String(r.m.timings.peak_rss_mb).padStart(6)} MB   ${r.m.work ? `${r.m.work.scan.reused}/${r.m.work.scan.computed}` : '-'}`,
  );
console.log(
  `${'DuckDB COPY to zstd Parquet (median of 4)'.padEnd(58)} ${base.toFixed(1).padStart(7)} ${'1.00'.padStart(9)}x`,
);
line('curate mix --no-work (nothing stored, median of 3)', noWork);
line('curate mix, fresh work dir (stores attributes, median of 3)', first);
line('re-mix: ratio 0.6/0.4, seeds 2-4 (median)', remix);
console.log(
  `first runs: ${firsts.map((r) => r.s.toFixed(2)).join(', ')} s; --no-work: ${noWorks.map((r) => r.s.toFixed(2)).join(', ')} s`,
);
console.log(
  `re-mix runs: ${remixes.map((r) => r.s.toFixed(2)).join(', ')} s; DuckDB: ${ducks.map((d) => d.toFixed(2)).join(', ')} s`,
);
console.log(
  `storing attributes costs ${(((first.s - noWork.s) / noWork.s) * 100).toFixed(1)}% of the run (goal: within 10%); re-mix is ${(first.s / remix.s).toFixed(2)}x faster than the first run (goal >= 4x) and ${(remix.s / base).toFixed(2)}x DuckDB's copy (goal <= 1x)`,
);
console.log(
  `attribute shards: ${(attrBytes / 1e6).toFixed(1)} MB for ${mb.toFixed(1)} MB of input = ${(attrBytes / inBytes).toFixed(3)} bytes per input byte`,
);
console.log(
  `re-mix phases (s): ${Object.entries(remix.m.timings)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(2) : v}`)
    .join(', ')}`,
);
rmSync(tmp, { recursive: true, force: true });
