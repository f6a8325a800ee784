// Start-up of the `curate` process, bundled (dist/bundle, what bin/curate.js runs: CommonJS from
// V8's code cache) against the same bundle without its code cache (CURATE_CODE_CACHE=off) and the
// unbundled build (CURATE_NO_BUNDLE=1: ~300 ES modules loaded one by one), in one run, alternating
// A B C A B C so the machine's drift hits all three:
//   - `curate --version` (the CLI's own modules)
//   - `curate mix fixtures/recipes/demo.yaml --dry-run` (recipe, shards, pipeline: what a Slurm rank loads)
//   - `curate mix` of the demo (a whole small run, with its worker threads' start)
// Prints median wall milliseconds and the ratios bundled / no code cache and bundled / unbundled.
// Run: node bench/startup.bench.mjs [runs]   (build first: npm run build)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..');
const root = join(cli, '..', '..');
const bin = join(cli, 'bin', 'curate.js');
if (!existsSync(join(cli, 'dist', 'bundle', 'curate.js'))) {
  console.log('dist/bundle/curate.js not found: run `npm run build` first');
  process.exit(1);
}
const runs = Number(process.argv[2] ?? 10);
const demo = join(root, 'fixtures', 'recipes', 'demo.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'curate-startup-'));

function time(args, how) {
  const env = { ...process.env };
  delete env.CURATE_NO_BUNDLE;
  delete env.CURATE_CODE_CACHE;
  if (how === 'unbundled') env.CURATE_NO_BUNDLE = '1';
  if (how === 'no-cache') env.CURATE_CODE_CACHE = 'off';
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', cwd: root });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`curate ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const cases = [
  ['--version', ['--version']],
  ['mix --dry-run (demo)', ['mix', demo, '--dry-run', '--no-progress']],
  ['mix (demo, 2 workers)', ['mix', demo, '--out', join(tmp, 'out'), '--overwrite', '--workers', '2', '--no-progress']],
];
console.log(`runs: ${runs} of each, alternating; median wall ms`);
console.log('command                      bundled  no cache  unbundled  vs no cache  vs unbundled');
try {
  for (const [name, args] of cases) {
    const hows = ['bundled', 'no-cache', 'unbundled'];
    for (const how of hows) time(args, how); // warm-up (page cache)
    const t = { bundled: [], 'no-cache': [], unbundled: [] };
    for (let i = 0; i < runs; i++) for (const how of hows) t[how].push(time(args, how));
    const [ma, mc, mb] = hows.map((h) => median(t[h]));
    console.log(
      `${name.padEnd(28)} ${ma.toFixed(0).padStart(7)}  ${mc.toFixed(0).padStart(8)}  ${mb.toFixed(0).padStart(9)}  ${(ma / mc).toFixed(2).padStart(10)}x  ${(ma / mb).toFixed(2).padStart(11)}x`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
