// Child process of the benchmarks: one whole `dedupFiles` run, printing its summary, CPU time and peak RSS.
// CPU time counts every thread of the process, including Node's start-up and module loading (measured apart).
// workers: a number, or `default` (dedupFiles chooses).
import { readFileSync } from 'node:fs';
import { peakRssBytes } from '@curate/core';
import { dedupFiles } from '../dist/index.js';

const loaded = process.cpuUsage(); // start-up + module loading (all threads)
const startSecs = performance.now() / 1000; // wall time since the process started
const [input, out, workers, fast] = process.argv.slice(2);
const t0 = performance.now();
const s = await dedupFiles({
  inputs: [input],
  out,
  workers: workers === 'default' ? undefined : Number(workers),
  overwrite: true,
  fastJsonl: fast !== 'generic',
});
const secs = (performance.now() - t0) / 1000;
// CPU seconds of the main thread alone (Linux): on an idle machine the process takes about this long,
// since worker threads only sign beside it; null elsewhere
let mainCpuSecs = null;
try {
  const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
  mainCpuSecs = (Number(f[11]) + Number(f[12])) / 100;
} catch {}
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    secs,
    startSecs,
    wallSecs: performance.now() / 1000, // the whole process so far (exit follows)
    cpuSecs: (cpu.user + cpu.system) / 1e6,
    mainCpuSecs,
    loadCpuSecs: (loaded.user + loaded.system) / 1e6,
    maxRssMiB: peakRssBytes() / 2 ** 20, // this process's own peak (getrusage's carries the parent's over exec)
    summary: { ...s, outputs: undefined },
  }),
);
