#!/usr/bin/env node
import { run } from './main.js';
import { installSignalHandlers } from './signals.js';

installSignalHandlers();
// No top-level await: the bundle (scripts/bundle.mjs) is CommonJS, so it loads from V8's code cache.
void run(process.argv.slice(2)).then((code) => {
  // Exit explicitly (workers or native handles must not keep a finished run alive), after stdout drains.
  process.stdout.write('', () => process.exit(code));
});
