// Bundles the built CLI (dist/bin.js) with its workspace packages and pure-JS dependencies into
// dist/bundle/, which bin/curate.js runs when it is there. Every `curate` process, each Slurm rank
// and each worker thread otherwise loads ~300 ES modules one by one (resolve, read, compile, link):
// ~0.45 s of a re-mix's start on the 2-core VM, and of every rank's. Measured in
// bench/startup.bench.mjs. Native and wasm packages stay external (they load files next to themselves).
//
// Entries beside the CLI: the threads' scripts and the recipe validator, which the code finds next
// to itself (`new URL('./scan-worker.js', import.meta.url)`, dedup's `worker.js`, recipe's
// `recipe-validator.js`); the chunks share the one directory so those URLs still resolve. Each
// `new URL('../…', import.meta.url)` (a file outside the module's own directory) is rewritten for
// the bundle's directory, and a package.json read that way is inlined (TOOL_VERSION stays the
// pipeline's version, not the CLI's).
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..');
const out = join(cli, 'dist', 'bundle');
const root = join(cli, '..', '..');
const pkg = (p) => join(root, 'packages', p, 'dist');

const URL_RE = /new URL\((['"])(\.\.\/[^'"]+)\1,\s*import\.meta\.url\)/g;
const PKG_READ_RE = /readFileSync\(new URL\((['"])\.\.\/package\.json\1,\s*import\.meta\.url\),\s*(['"])utf8\2\)/g;

const relocate = {
  name: 'curate-relocate',
  transform(code, id) {
    if (!code.includes('import.meta.url') || id.includes('node_modules')) return null;
    const dir = dirname(id);
    let s = code.replace(PKG_READ_RE, () => JSON.stringify(readFileSync(resolve(dir, '../package.json'), 'utf8')));
    s = s.replace(URL_RE, (_m, q, rel) => {
      let to = relative(out, resolve(dir, rel)).split('\\').join('/');
      if (!to.startsWith('.')) to = `./${to}`;
      return `new URL(${q}${to}${q}, import.meta.url)`;
    });
    return s === code ? null : { code: s, map: null };
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  input: {
    curate: join(cli, 'dist', 'bin.js'),
    'scan-worker': join(pkg('pipeline'), 'scan-worker.js'),
    // imported by bin/curate.js before the CLI, to start the first scan thread early
    prestart: join(pkg('pipeline'), 'prestart.js'),
    worker: join(pkg('dedup'), 'worker.js'),
    'recipe-validator': join(pkg('recipe'), 'recipe-validator.js'),
  },
  platform: 'node',
  external: [/^node:/, /^@toondepauw\/node-zstd/, /^@bokuweb\/zstd-wasm/, /^@duckdb\//, /\.node$/],
  plugins: [relocate],
  logLevel: 'warn',
  output: {
    dir: out,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: false,
  },
});
