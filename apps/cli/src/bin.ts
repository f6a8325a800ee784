#!/usr/bin/env node
import { run } from './main.js';
import { installSignalHandlers } from './signals.js';

installSignalHandlers();
const code = await run(process.argv.slice(2));
// Exit explicitly (workers or native handles must not keep a finished run alive), after stdout drains.
process.stdout.write('', () => process.exit(code));
