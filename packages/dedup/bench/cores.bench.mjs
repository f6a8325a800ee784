// Whole-process `curate dedup` (dedupFiles in a fresh node) on ~37 MB of 2 KB JSONL documents against
// Python datasketch (word 5-grams, MinHash.bulk with 128 permutations, MinHashLSH.insert at 0.8:
// ../shared/baselines/datasketch-minhash.py) and the npm `minhash` kernel, measured in the same run.
// Throughput is input text MB / wall seconds (the question is whether both cores are used); runs are
// interleaved and the best of 3 is kept, since the machine is shared. Run `npm run build` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Minhash } = require('minhash');
const here = dirname(fileURLToPath(import.meta.url));
const sharedDir = process.env.CURATE_SHARED ?? join(here, '..', '..', '..', '..', 'shared');
const data = join(sharedDir, 'data');
const baselines = join(sharedDir, 'baselines');
const book = (i) => join(data, 'real_text', 'gutenberg', `gutenberg-0000${i}-of-00004.jsonl`);
const TARGET = Number(process.env.DEDUP_BENCH_BYTES ?? 37e6);

// ~2 KB documents (350 words) from the middle of every book, until ~37 MB of JSONL
const docs = [];
const lines = [];
let jsonlBytes = 0;
for (let s = 0; s < 4 && jsonlBytes < TARGET; s++) {
  for (const line of readFileSync(book(s), 'utf8').split('\n')) {
    if (!line) continue;
    const w = JSON.parse(line).text.split(/\s+/).filter(Boolean);
    for (let i = Math.floor(w.length * 0.1); i + 350 < w.length * 0.9 && jsonlBytes < TARGET; i += 350) {
      const t = w.slice(i, i + 350).join(' ');
      const l = JSON.stringify({ id: `d${docs.length}`, text: t });
      docs.push(t);
      lines.push(l);
      jsonlBytes += Buffer.byteLength(l) + 1;
    }
  }
}
const textMB = docs.reduce((a, d) => a + Buffer.byteLength(d), 0) / 1e6;

// npm minhash kernel (CPU seconds of this thread, 150 documents)
const small = docs.slice(0, 150);
const c0 = process.cpuUsage();
for (const d of small) {
  const m = new Minhash();
  const w = d.split(' ');
  for (let i = 0; i + 5 <= w.length; i++) m.update(w.slice(i, i + 5).join(' '));
}
const cu = process.cpuUsage(c0);
const npmMBs = small.reduce((a, d) => a + Buffer.byteLength(d), 0) / 1e6 / ((cu.user + cu.system) / 1e6);

const dir = mkdtempSync(join(tmpdir(), 'dedup-cores-'));
const rows = [];
try {
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, `${lines.join('\n')}\n`);
  // datasketch: python3 + numpy + scipy (Debian python3-numpy python3-scipy) and the vendored source
  const script = join(baselines, 'datasketch-minhash.py');
  // Debian's python3 (python3-numpy, python3-scipy) as the baselines README says, else python3 on the PATH
  const pyProbe = (py) => spawnSync(py, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
  let python = '/usr/bin/python3';
  let probe = pyProbe(python);
  if (probe.status !== 0) {
    python = 'python3';
    probe = pyProbe(python);
  }
  const haveDatasketch = probe.status === 0 && existsSync(script) && existsSync(join(baselines, 'datasketch'));
  if (!haveDatasketch) {
    console.log(
      `SKIP datasketch baseline: ${probe.error ? 'python3 not found' : probe.status !== 0 ? 'python3 cannot import numpy/scipy (apt-get install -y python3-numpy python3-scipy)' : `${script} or its datasketch/ not found`}`,
    );
  }
  const dsDocs = Number(process.env.DEDUP_BENCH_DATASKETCH_DOCS ?? 4000); // ~8 MB: its MB/s does not depend on N
  // its timed section measured twice: wall (perf_counter, as the script does) and CPU seconds of the
  // process (perf_counter replaced by process_time), which the machine's load does not inflate
  const datasketch = (clock) =>
    JSON.parse(
      execFileSync(
        python,
        [
          '-c',
          `import sys, time, runpy\nif sys.argv[1] == 'cpu': time.perf_counter = time.process_time\nsys.argv = sys.argv[2:]\nrunpy.run_path(sys.argv[0], run_name='__main__')`,
          clock,
          script,
          input,
          String(dsDocs),
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: join(baselines, 'datasketch'), OMP_NUM_THREADS: '1' },
        },
      ),
    );
  const curate = (workers) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [join(here, 'run-dedup.mjs'), input, join(dir, `out-${workers}`), workers, 'fast'],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        },
      ),
    );
  const best = {};
  const keep = (name, r, score) => {
    if (!best[name] || score(r) > score(best[name])) best[name] = r;
  };
  for (let rep = 0; rep < 3; rep++) {
    if (haveDatasketch) {
      keep('datasketch', datasketch('wall'), (r) => r.MB_per_s);
      keep('datasketchCpu', datasketch('cpu'), (r) => r.MB_per_s);
    }
    for (const w of ['default', '1', '2']) {
      keep(w, curate(w), (r) => -r.wallSecs);
      keep(`${w}:main`, curate(w), (r) => -(r.mainCpuSecs ?? r.wallSecs));
    }
  }
  const ds = best.datasketch?.MB_per_s;
  const dsCpu = best.datasketchCpu?.MB_per_s;
  for (const w of ['default', '1', '2']) {
    const r = best[w];
    const wallMBs = textMB / r.wallSecs;
    const t = r.summary.timings_s;
    rows.push({
      run: `curate dedup, workers=${w === 'default' ? `default (${r.summary.workers})` : w}`,
      'wall MB/s': wallMBs.toFixed(1),
      'vs datasketch': ds ? `${(wallMBs / ds).toFixed(1)}x` : 'n/a',
      'vs npm minhash': `${(wallMBs / npmMBs).toFixed(0)}x`,
      // idle-machine estimate: the process lasts about its main thread's CPU time (the worker signs beside it)
      'main-thread CPU s': best[`${w}:main`].mainCpuSecs?.toFixed(2) ?? 'n/a',
      'MB / main-thread CPU s, vs datasketch MB per CPU s':
        best[`${w}:main`].mainCpuSecs && dsCpu
          ? `${(textMB / best[`${w}:main`].mainCpuSecs).toFixed(1)} (${(textMB / best[`${w}:main`].mainCpuSecs / dsCpu).toFixed(1)}x)`
          : 'n/a',
      'CPU s (all threads)': r.cpuSecs.toFixed(2),
      'MB/s per CPU s': (textMB / r.cpuSecs).toFixed(1),
      'wall s: start-up+imports / pass 1 / resolve / pass 2': `${r.startSecs.toFixed(2)} / ${t.signatures.toFixed(2)} / ${t.resolve.toFixed(2)} / ${t.write.toFixed(2)}`,
      'peak RSS MiB': r.maxRssMiB.toFixed(0),
    });
  }
  console.log(
    `input: ${docs.length} documents, ${textMB.toFixed(1)} MB of text, ${(jsonlBytes / 1e6).toFixed(1)} MB of JSONL; best of 3 interleaved runs`,
  );
  console.log(
    `baselines (same run, ${python}): datasketch ${ds ? `${ds.toFixed(2)} MB/s wall, ${dsCpu.toFixed(2)} MB per CPU s (first ${dsDocs} documents, reading not timed)` : 'skipped'}; npm minhash kernel ${npmMBs.toFixed(2)} MB/s per CPU s`,
  );
  console.table(rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
