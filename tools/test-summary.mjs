#!/usr/bin/env node
// Sums the vitest "Tests  N passed | M failed | K skipped (T)" lines of a `turbo run test` log and
// prints one closing line, "tests: N passed, M failed, K skipped", for CI.
import { readFileSync } from 'node:fs';

const log = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const totals = { passed: 0, failed: 0, skipped: 0 };
let suites = 0;
for (const line of log.split('\n')) {
  const m = /\bTests\s+(.*)\((\d+)\)\s*$/.exec(line);
  if (!m) continue;
  suites++;
  for (const part of m[1].split('|')) {
    const p = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part);
    if (p) totals[p[2] === 'todo' ? 'skipped' : p[2]] += Number(p[1]);
  }
}
console.log(`${suites} test runs`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (suites === 0 || totals.passed === 0) process.exitCode = 1;
