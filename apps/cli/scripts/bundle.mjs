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
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// CommonJS cannot await at its top level. xxhash-wasm's factory is async only because it compiles
// its 2 KB of wasm with WebAssembly.instantiate; in the bundle it compiles synchronously, and the
// two modules that await it at their top level (dedup's exact.js, shards' arrow-codecs.js) call it.
// Each rewrite must match exactly as often as expected, or the build fails: a new xxhash-wasm
// release that changes its code stops here, not at run time.
function rewrite(code, re, to, want, id) {
  const n = code.match(new RegExp(re.source, `${re.flags.replace('g', '')}g`))?.length ?? 0;
  if (n !== want) throw new Error(`bundle: ${re} matched ${n} times in ${id}, expected ${want}`);
  return code.replace(re, to);
}
const syncXxhash = {
  name: 'curate-sync-xxhash',
  transform(code, id) {
    if (/node_modules[\\/]xxhash-wasm[\\/]esm[\\/]xxhash-wasm\.js$/.test(id)) {
      let s = rewrite(code, /async function (\w+)\(\)\{return function\(/, 'function $1(){return function(', 1, id);
      s = rewrite(
        s,
        /\(await WebAssembly\.instantiate\((\w+)\)\)\.instance/,
        'new WebAssembly.Instance(new WebAssembly.Module($1))',
        1,
        id,
      );
      return { code: s, map: null };
    }
    if (id.includes('node_modules') || !code.includes("from 'xxhash-wasm'")) return null;
    return { code: rewrite(code, /^(const [^=\n]+ = )await xxhash\(\);$/m, '$1xxhash();', 1, id), map: null };
  },
};
// The recipe validator: a static import, so the bundle requires its chunk (validate.js imports it by
// a computed URL when the file exists, which a CommonJS bundle would load as an ES module).
const staticValidator = {
  name: 'curate-static-validator',
  transform(code, id) {
    if (!/packages[\\/]recipe[\\/]dist[\\/]validate\.js$/.test(id)) return null;
    return { code: rewrite(code, /import\(PRECOMPILED\.href\)/, "import('./recipe-validator.js')", 1, id), map: null };
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  input: {
    curate: join(cli, 'dist', 'bin.js'),
    // the threads' scripts: scan-worker.js and worker.js (written below) load the code cache first
    'scan-worker-main': join(pkg('pipeline'), 'scan-worker.js'),
    // imported by bin/curate.js before the CLI, to start the first scan thread early
    prestart: join(pkg('pipeline'), 'prestart.js'),
    'worker-main': join(pkg('dedup'), 'worker.js'),
    'recipe-validator': join(pkg('recipe'), 'recipe-validator.js'),
  },
  platform: 'node',
  external: [/^node:/, /^@toondepauw\/node-zstd/, /^@bokuweb\/zstd-wasm/, /^@duckdb\//, /\.node$/],
  plugins: [relocate, syncXxhash, staticValidator],
  logLevel: 'warn',
  output: {
    dir: out,
    // CommonJS, so that code-cache.cjs can load each file from V8's code cache (vm.Script cachedData)
    format: 'cjs',
    exports: 'named',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: false,
  },
});

// The bundle's .js files are CommonJS; the loader and the threads' entries load the code cache first.
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
copyFileSync(join(here, 'code-cache.cjs'), join(out, 'code-cache.js'));
for (const name of ['scan-worker', 'worker']) {
  writeFileSync(join(out, `${name}.js`), `'use strict';\nrequire('./code-cache.js');\nrequire('./${name}-main.js');\n`);
}

// The code cache: a warm-up run of the demo recipe (a first mix that stores attributes, then a
// re-mix from them), every thread writing the cache of what it compiled (code-cache.cjs).
if (!process.env.CURATE_NO_CODE_CACHE_BUILD) {
  const tmp = mkdtempSync(join(tmpdir(), 'curate-code-cache-'));
  try {
    // the demo recipe with absolute paths, every quality filter the default pipeline bench runs, and
    // the re-mix's other seed and ratio
    const fx = join(root, 'fixtures').split('\\').join('/');
    // (each edit must apply: a changed demo recipe fails the build here, not a thinner cache)
    const file = join(root, 'fixtures', 'recipes', 'demo.yaml');
    let demo = readFileSync(file, 'utf8');
    demo = rewrite(demo, /\.\.\/shards\//g, `${fx}/shards/`, 3, file);
    demo = rewrite(demo, /\.\.\/evals\//g, `${fx}/evals/`, 1, file);
    demo = rewrite(demo, /^ {2}- c4: \{\}$/m, '  - c4: { mode: clean }\n  - fineweb: {}', 1, file);
    let remix = rewrite(demo, /^seed: 42$/m, 'seed: 7', 1, file);
    remix = rewrite(remix, /real: 0\.7, synthetic: 0\.3/, 'real: 0.6, synthetic: 0.4', 1, file);
    const env = { ...process.env, CURATE_CODE_CACHE: 'write' };
    for (const [i, text] of [demo, remix].entries()) {
      const recipe = join(tmp, `warm-up-${i}.yaml`);
      writeFileSync(recipe, text);
      const r = spawnSync(
        process.execPath,
        [
          join(cli, 'bin', 'curate.js'),
          'mix',
          recipe,
          '--out',
          join(tmp, 'out'),
          '--work',
          join(tmp, 'work'),
          '--overwrite',
          '--workers',
          '2',
          '--no-progress',
        ],
        { env, encoding: 'utf8', cwd: root },
      );
      if (r.status !== 0) throw new Error(`bundle: the code-cache warm-up run failed: ${r.stderr}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(join(out, 'code-cache')) || !readdirSync(join(out, 'code-cache')).length) {
    throw new Error('bundle: the warm-up run wrote no code cache');
  }
}
