#!/usr/bin/env node
// The `curate` command. A committed shim so npm links the bin at install time, before the build.
try {
  await import('../dist/bin.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/bin.js')) {
    process.stderr.write('error: curate is not built yet: run `npm run build` in the repository first\n');
    process.exit(1);
  }
  throw e;
}
