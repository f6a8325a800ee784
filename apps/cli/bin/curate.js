#!/usr/bin/env node
// The `curate` command. A committed shim so npm links the bin at install time, before the build.
// It runs the bundle the build writes (dist/bundle: one file set instead of ~300 modules, CommonJS
// loaded from V8's code cache by dist/bundle/code-cache.js: a faster start for every process, rank
// and thread), or the unbundled build with CURATE_NO_BUNDLE=1 or when there is no bundle.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

const bundle = new URL('../dist/bundle/curate.js', import.meta.url);
const bundled = !process.env.CURATE_NO_BUNDLE && existsSync(bundle);
const require = createRequire(import.meta.url);
if (bundled) require('../dist/bundle/code-cache.js');

// `curate mix` and `curate tag` on more than one thread: their first worker thread starts now and
// loads its modules on the second core while this thread loads the CLI's (the pool adopts it:
// @curate/pipeline prestart.ts). Not for a Slurm submission or one rank of a staged run.
function prestarts(args) {
  if (!bundled || (args[0] !== 'mix' && args[0] !== 'tag') || availableParallelism() < 2) return false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--slurm' || a === '--stage' || a.startsWith('--stage=') || a === '--help' || a === '-h') return false;
    if (a === '--workers' && Number(args[i + 1]) <= 1) return false;
    if (a.startsWith('--workers=') && Number(a.slice(10)) <= 1) return false;
  }
  return true;
}
if (!process.env.CURATE_NO_PRESTART && prestarts(process.argv.slice(2))) {
  try {
    require('../dist/bundle/prestart.js').prestartScanThread();
  } catch {
    // only a head start: the pool starts its own threads
  }
}

try {
  if (bundled) require('../dist/bundle/curate.js');
  else await import('../dist/bin.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/bin.js')) {
    process.stderr.write('error: curate is not built yet: run `npm run build` in the repository first\n');
    process.exit(1);
  }
  throw e;
}
