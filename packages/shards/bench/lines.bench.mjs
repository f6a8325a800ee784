// Line reading benchmark (issue 19.9, 19.10): one long line in plain, gzip and zstd JSONL, and
// many one-line files. Runs against dist/ (build first). Every figure is compared with a baseline
// measured in the same run, so the ratios hold on a loaded machine:
//  - long lines: seconds per MB of a line of L MB, over the same for the smallest L (1.0 = linear
//    in the line length; the old line splitter was quadratic on compressed input), and over the
//    plain file of the same line;
//    (process CPU seconds too, steadier on a shared machine; the zstd program's own CPU is not in them);
//  - many files: milliseconds per file for N files, over the same for the smallest N (1.0 = linear).
//
//   npm run bench:lines -w @curate/shards     LINE_MB=8,16,32  FILES=1000,4000  (comma lists)
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const { rawLines } = await import('../dist/lines.js');
const { readShards } = await import('../dist/index.js');
const { zstdCompress } = await import('../dist/parquet/index.js');
const { fileBytes } = await import('../dist/text.js');
const here = new URL('.', import.meta.url).pathname;
const DATA = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
const ZSTD_MB = Number(process.env.ZSTD_MB ?? 48);

const LINE_MB = (process.env.LINE_MB ?? '8,16,32').split(',').map(Number);
const FILES = (process.env.FILES ?? '1000,4000').split(',').map(Number);
const dir = await mkdtemp(join(tmpdir(), 'curate-lines-bench-'));

function zstdCli(path, data) {
  try {
    execFileSync('zstd', ['-q', '-f', '-3', '-o', path], { input: data });
    return true;
  } catch {
    return false;
  }
}

/** Seconds to read every line of a file with rawLines (lines counted, bytes summed). */
async function timeLines(path, compression) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  let bytes = 0;
  for await (const c of rawLines(path, 0, Number.POSITIVE_INFINITY, true, compression)) {
    for (let i = 0; i < c.count; i++) bytes += c.ends[i] - c.starts[i];
  }
  const c = process.cpuUsage(c0);
  return { s: (performance.now() - t) / 1000, cpu: (c.user + c.system) / 1e6, bytes };
}

const table = [];
try {
  console.log(
    `long lines (rawLines over one line of L MB, plus a short line; MB = 1e6 bytes): L = ${LINE_MB.join(', ')}`,
  );
  const perMb = {};
  // the first size is read twice, the first time unrecorded (JIT warm-up would inflate its s/MB)
  for (const [k, mb] of [LINE_MB[0], ...LINE_MB].entries()) {
    const warm = k === 0;
    const text = 'lorem ipsum dolor sit amet '.repeat(Math.ceil((mb * 1e6) / 27)).slice(0, mb * 1e6);
    const data = Buffer.from(`{"id":"a","text":"x"}\n{"id":"b","text":"${text}"}\n`);
    const plain = join(dir, `line-${mb}.jsonl`);
    await writeFile(plain, data);
    const gz = `${plain}.gz`;
    await writeFile(gz, gzipSync(data, { level: 1 }));
    const zst = `${plain}.zst`;
    // a zstd stream as the zstd program writes it (one frame), else one frame from our codec
    if (!zstdCli(zst, data)) await writeFile(zst, (await zstdCompress()).compress(data));
    const nul = join(dir, `nul-${mb}.jsonl.gz`);
    await writeFile(nul, gzipSync(Buffer.alloc(mb * 1e6), { level: 1 }));
    for (const [kind, path, compression] of [
      ['plain', plain, undefined],
      ['gzip', gz, 'gzip'],
      ['zstd', zst, 'zstd'],
      ['gzip NUL bytes', nul, 'gzip'],
    ]) {
      const { s, cpu } = await timeLines(path, compression);
      if (warm) continue;
      perMb[kind] ??= s / mb;
      perMb[`${kind} cpu`] ??= cpu / mb;
      table.push({
        input: kind,
        'line MB': mb,
        seconds: s.toFixed(2),
        's/MB': (s / mb).toFixed(3),
        [`s/MB over L=${LINE_MB[0]}`]: (s / mb / perMb[kind]).toFixed(2),
        'cpu s': cpu.toFixed(2),
        [`cpu/MB over L=${LINE_MB[0]}`]: (cpu / mb / perMb[`${kind} cpu`]).toFixed(2),
        'over plain':
          kind === 'plain'
            ? '1.00'
            : (s / table.find((r) => r.input === 'plain' && r['line MB'] === mb).seconds).toFixed(2),
      });
      console.log(`  ${kind} ${mb} MB: ${s.toFixed(2)} s`);
    }
  }
  console.table(table);

  console.log(`many one-line files (readShards over a directory): N = ${FILES.join(', ')}`);
  const files = [];
  let base;
  for (const n of FILES) {
    const d = join(dir, `files-${n}`);
    execFileSync('mkdir', ['-p', d]);
    for (let i = 0; i < n; i++) {
      await writeFile(join(d, `f${String(i).padStart(6, '0')}.jsonl`), `{"id":"${i}","text":"hello number ${i}"}\n`);
    }
    const t = performance.now();
    let rows = 0;
    for await (const b of readShards([d])) rows += b.length;
    const s = (performance.now() - t) / 1000;
    if (rows !== n) throw new Error(`rows ${rows} != ${n}`);
    const ms = (s * 1000) / n;
    base ??= ms;
    files.push({
      files: n,
      seconds: s.toFixed(2),
      'ms/file': ms.toFixed(3),
      [`ms/file over N=${FILES[0]}`]: (ms / base).toFixed(2),
    });
    console.log(`  ${n} files: ${s.toFixed(2)} s`);
  }
  console.table(files);

  // zstd decoders (19.2): fzstd alone (the old built-in path, no checksums) is the baseline
  const gut = join(DATA, 'real_text', 'gutenberg');
  if (existsSync(gut) && zstdCli(join(dir, 'probe.zst'), Buffer.from('x'))) {
    const text = Buffer.concat(
      readdirSync(gut)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => readFileSync(join(gut, f))),
    ).subarray(0, ZSTD_MB * 1e6);
    const zst = join(dir, 'gut.jsonl.zst');
    zstdCli(zst, text);
    const long = join(dir, 'gut-long.jsonl.zst');
    // from a pipe with --long=30: no content size, a 1 GiB window
    await writeFile(long, execFileSync('zstd', ['-q', '-c', '--long=30'], { input: text, maxBuffer: 1 << 30 }));
    const require = createRequire(import.meta.url);
    const { Decompress } = require('fzstd');
    const rawFzstd = async (path) => {
      let n = 0;
      const dec = new Decompress((d) => {
        n += d.length;
      });
      for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) dec.push(c);
      dec.push(new Uint8Array(0), true);
      return n;
    };
    const ours = async (path) => {
      let n = 0;
      for await (const c of fileBytes(path, 'zstd')) n += c.length;
      return n;
    };
    const cases = [
      ['fzstd alone, no checks (old built-in path; baseline)', zst, rawFzstd, undefined],
      ['built-in: our decoder (zstd-stream) + frame walker + XXH64 checks (CURATE_ZSTD=js)', zst, ours, 'js'],
      ['zstd program (default when on PATH)', zst, ours, undefined],
      ['zstd program, --long=30 file (1 GiB window)', long, ours, undefined],
    ];
    cases.push(['built-in, --long=30 file (1 GiB window)', long, ours, 'js']);
    const rows = [];
    let base;
    for (const [what, path, fn, mode] of cases) {
      if (mode) process.env.CURATE_ZSTD = mode;
      else delete process.env.CURATE_ZSTD;
      let s = Infinity;
      let n = 0;
      for (let r = 0; r < 2; r++) {
        const t = performance.now();
        n = await fn(path);
        s = Math.min(s, (performance.now() - t) / 1000);
      }
      if (n !== text.length) throw new Error(`${what}: ${n} bytes, want ${text.length}`);
      base ??= s;
      rows.push({
        decoder: what,
        seconds: s.toFixed(2),
        'MB/s': (text.length / 1e6 / s).toFixed(0),
        'time over baseline': (s / base).toFixed(2),
      });
      console.log(`  ${what}: ${s.toFixed(2)} s`);
    }
    delete process.env.CURATE_ZSTD;
    console.log(`zstd decoders over ${(text.length / 1e6).toFixed(0)} MB of Gutenberg JSONL, best of 2`);
    console.table(rows);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
