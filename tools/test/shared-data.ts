/**
 * Where the real data of `../shared/data` lives for tests and benchmarks.
 * Override with CURATE_SHARED_DATA. Tests skip (with a clear message) only when
 * it is absent on a user's fresh clone; in CI (CI=true) a missing folder fails.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = process.env.CURATE_SHARED_DATA ?? join(REPO_ROOT, '..', 'shared', 'data');
export const HAS_SHARED = existsSync(join(SHARED_DATA, 'MANIFEST.md'));

if (!HAS_SHARED) {
  if (process.env.CI) {
    throw new Error(`shared data not found at ${SHARED_DATA}: CI must run with ../shared beside the checkout`);
  }
  console.warn(`[curate tests] ${SHARED_DATA} not found: tests on real data are skipped on this machine`);
}

/** Absolute path of a file under shared/data. */
export function shared(...parts: string[]): string {
  return join(SHARED_DATA, ...parts);
}
