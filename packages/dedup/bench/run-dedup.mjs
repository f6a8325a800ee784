// Child process of the benchmark: one whole `dedupFiles` run, printing its summary and peak RSS.
import { dedupFiles } from '../dist/index.js';

const [input, out, workers] = process.argv.slice(2);
const t0 = performance.now();
const s = await dedupFiles({ inputs: [input], out, workers: Number(workers), overwrite: true });
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
const cpuSecs = (cpu.user + cpu.system) / 1e6; // all threads of the process
process.stdout.write(
  JSON.stringify({
    secs,
    cpuSecs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    summary: { ...s, outputs: undefined },
  }),
);
