#!/usr/bin/env node
// The `curate` command. A committed shim so npm links the bin at install time, before the build.
// It runs the bundle the build writes (dist/bundle: one file set instead of ~300 modules, a faster
// start for every process, rank and thread), or the unbundled build with CURATE_NO_BUNDLE=1 or
// when there is no bundle.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/curate.js', import.meta.url);
const entry = !process.env.CURATE_NO_BUNDLE && existsSync(bundle) ? bundle.href : '../dist/bin.js';
try {
  await import(entry);
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/bin.js')) {
    process.stderr.write('error: curate is not built yet: run `npm run build` in the repository first\n');
    process.exit(1);
  }
  throw e;
}
