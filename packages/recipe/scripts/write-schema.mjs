// Writes recipe.schema.json from the built package (run by "build" after tsc).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeSchema } from '../dist/index.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'recipe.schema.json');
writeFileSync(file, `${JSON.stringify(recipeSchema, null, 2)}\n`);
