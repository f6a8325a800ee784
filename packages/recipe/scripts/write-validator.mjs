// Writes dist/recipe-validator.js, the recipe validator precompiled by ajv (run by "build" after tsc), so that
// loading a recipe does not compile the schema at run time.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeValidatorModule } from '../dist/compile.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'recipe-validator.js');
writeFileSync(file, recipeValidatorModule());
