// Start-up cost of a recipe: `import('@curate/recipe')` + the first `loadRecipe(fixtures/recipes/demo.yaml)`,
// each run in a fresh Node process. Precompiled validator (dist/ as built) against the baseline of the same
// build with dist/recipe-validator.js removed, i.e. the schema compiled by ajv at run time.
// Run: node bench/startup.bench.mjs [runs] (uses dist/; build first).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const demo = join(pkg, '..', '..', 'fixtures', 'recipes', 'demo.yaml');

if (process.argv[2] === 'child') {
  // One measurement: import the package entry in `dist`, then load the demo recipe (paths checked, as `curate` does).
  const t0 = performance.now();
  const { loadRecipe } = await import(pathToFileURL(join(process.argv[3], 'index.js')).href);
  const t1 = performance.now();
  await loadRecipe(demo);
  const t2 = performance.now();
  const t3 = performance.now();
  await loadRecipe(demo);
  const t4 = performance.now();
  console.log(JSON.stringify({ import: t1 - t0, first: t2 - t1, total: t2 - t0, second: t4 - t3 }));
  process.exit(0);
}

const runs = Number(process.argv[2] ?? 10);
const dist = join(pkg, 'dist');
if (!existsSync(join(dist, 'index.js'))) throw new Error('build first: dist/index.js is missing');
const precompiled = existsSync(join(dist, 'recipe-validator.js'));
// The baseline: a copy of dist without the generated validator, inside the package so imports resolve the same.
const tmp = join(pkg, '.bench-tmp');
const runtimeDist = join(tmp, 'dist-runtime');
rmSync(runtimeDist, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
cpSync(dist, runtimeDist, { recursive: true });
rmSync(join(runtimeDist, 'recipe-validator.js'), { force: true });

const variants = [
  ['runtime compile (baseline)', runtimeDist],
  ['precompiled (dist)', dist],
];
const samples = new Map(variants.map(([name]) => [name, []]));
const self = fileURLToPath(import.meta.url);
for (let i = 0; i < runs; i++) {
  // Round-robin so both variants see the same machine load.
  for (const [name, dir] of variants) {
    const w0 = performance.now();
    const out = execFileSync(process.execPath, [self, 'child', dir], { encoding: 'utf8' });
    samples.get(name).push({ ...JSON.parse(out), process: performance.now() - w0 });
  }
}
rmSync(runtimeDist, { recursive: true, force: true });

const best = (list, key) => Math.min(...list.map((s) => s[key]));
const median = (list, key) => {
  const v = list.map((s) => s[key]).sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const keys = ['import', 'first', 'total', 'second', 'process'];
console.log(
  `fixtures/recipes/demo.yaml; Node ${process.version}; ${runs} fresh processes per variant, best of (median)`,
);
if (!precompiled) console.log('NOTE: dist/ has no recipe-validator.js: both variants compile at run time');
console.log(
  '| variant | import ms | first loadRecipe ms | import + first load ms | second loadRecipe ms | whole process ms |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name] of variants) {
  const s = samples.get(name);
  console.log(`| ${name} | ${keys.map((k) => `${best(s, k).toFixed(1)} (${median(s, k).toFixed(1)})`).join(' | ')} |`);
}
const [base, fast] = variants.map(([name]) => samples.get(name));
console.log(
  `import + first load: ${(best(base, 'total') / best(fast, 'total')).toFixed(1)}x faster (best), ` +
    `${(median(base, 'total') / median(fast, 'total')).toFixed(1)}x (median); whole process ` +
    `${(best(base, 'process') / best(fast, 'process')).toFixed(1)}x (best)`,
);
