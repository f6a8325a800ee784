// Recipe loading and validation cost, against YAML parsing of the same text as the baseline.
// Run: npm run bench (uses dist/; build first).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const t0 = performance.now();
const YAML = await import('yaml');
const tYaml = performance.now() - t0;
const t1 = performance.now();
const { loadRecipe, validateRecipe } = await import('../dist/index.js');
const tRecipe = performance.now() - t1;
const t2 = performance.now();
await validateRecipe({}, { checkPaths: false });
const tCompile = performance.now() - t2;

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, '..', '..', '..', 'examples', 'architecture-sketch.yaml');
const text = readFileSync(example, 'utf8');
const bytes = Buffer.byteLength(text);
const obj = YAML.parse(text);
const dir = mkdtempSync(join(tmpdir(), 'curate-recipe-bench-'));
const file = join(dir, 'instruct-mix.yaml');
writeFileSync(file, text.replaceAll('../../../../shared', join(here, '..', '..', '..', '..', 'shared')));

async function measure(fn, minMs = 1500) {
  for (let i = 0; i < 50; i++) await fn(); // warm up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

const cases = [
  ['YAML.parse (baseline)', () => YAML.parse(text)],
  ['validateRecipe, no path checks', () => validateRecipe(obj, { checkPaths: false })],
  ['loadRecipe, no path checks', () => loadRecipe(file, { checkPaths: false })],
  ['loadRecipe, path checks (3 files)', () => loadRecipe(file)],
];
// Round-robin, best of 3: the machine is shared, so take each case's quietest round.
const best = new Map();
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of cases) best.set(name, Math.min(best.get(name) ?? Infinity, await measure(fn, 700)));
}
const rows = [...best];
const base = best.get(cases[0][0]);
rmSync(dir, { recursive: true, force: true });

console.log(`recipe: examples/architecture-sketch.yaml (repository root), ${bytes} bytes; Node ${process.version}`);
console.log('| case | ms/op | ops/s | MB/s | ratio vs baseline |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, ms] of rows) {
  console.log(
    `| ${name} | ${ms.toFixed(3)} | ${(1000 / ms).toFixed(0)} | ${(bytes / 1e6 / (ms / 1000)).toFixed(2)} | ${(ms / base).toFixed(1)}x |`,
  );
}
console.log(
  `first import: yaml ${tYaml.toFixed(0)} ms; @curate/recipe ${tRecipe.toFixed(0)} ms more; schema compile on first validation ${tCompile.toFixed(0)} ms`,
);
