// Regenerates the recipe reference in README.md from the built package (run by "build").
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withReference } from '../dist/reference.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const before = readFileSync(file, 'utf8');
const after = withReference(before);
if (after !== before) writeFileSync(file, after);
