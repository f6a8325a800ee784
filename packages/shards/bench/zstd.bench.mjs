// zstd decoding benchmark (issue 19.2, long windows): the 25 MB Gutenberg shard compressed with
// `zstd --long=30` (a 1 GiB window declared: compressed from a pipe, so no content size) and with
// the default window, decoded by
//  - fzstd 0.1.1's streaming `Decompress` alone (the old built-in path, no checks; baseline),
//  - our decoder (`dist/zstd-stream.js`) alone, and through `fileBytes` with CURATE_ZSTD=js (the built-in path
//    as used: frame walker + XXH64 checksum and content-size checks),
//  - the `zstd` program through `fileBytes` (the default when it is on PATH).
// Each arm runs in a fresh Node process (best of RUNS), reporting wall seconds, Node's peak RSS and,
// for the program, the zstd process's own peak RSS (GNU time). Ratios are against the same run's
// fzstd figure on the same file. Runs against dist/ (build first).
//
//   npm run bench:zstd -w @curate/shards      RUNS=2  SHARD=path/to/file.jsonl  SKIP_FZSTD_LONG=1
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const self = new URL(import.meta.url).pathname;

if (process.argv[2] === '--arm') {
  // child: one decode, one JSON line on stdout
  const [, , , arm, path] = process.argv;
  const t0 = performance.now();
  let n = 0;
  if (arm === 'fzstd') {
    const { Decompress } = createRequire(import.meta.url)('fzstd');
    const dec = new Decompress((b) => {
      n += b.length;
    });
    for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) dec.push(c, false);
    dec.push(new Uint8Array(0), true);
  } else if (arm === 'ours-alone') {
    const { ZstdStream } = await import('../dist/zstd-stream.js');
    const dec = new ZstdStream((b) => {
      n += b.length;
    });
    for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) dec.push(c, false);
    dec.push(new Uint8Array(0), true);
  } else {
    process.env.CURATE_ZSTD = arm === 'ours' ? 'js' : 'auto';
    const { fileBytes } = await import('../dist/text.js');
    for await (const c of fileBytes(path, 'zstd')) n += c.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, bytes: n, rssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const DATA = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
const SHARD = process.env.SHARD ?? join(DATA, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
const RUNS = Number(process.env.RUNS ?? 2);
if (!existsSync(SHARD)) {
  console.log(`no shard at ${SHARD}: set SHARD or CURATE_SHARED_DATA`);
  process.exit(0);
}
if (spawnSync('zstd', ['--version']).status !== 0) {
  console.log('the zstd program is needed to make the inputs (apt-get install zstd)');
  process.exit(0);
}
const hasTime = existsSync('/usr/bin/time');
const dir = await mkdtemp(join(tmpdir(), 'curate-zstd-bench-'));
try {
  const text = readFileSync(SHARD);
  const long = join(dir, 'long30.jsonl.zst');
  const normal = join(dir, 'default.jsonl.zst');
  // from a pipe: no content size in the header, so the frame declares its whole window
  await writeFile(long, execFileSync('zstd', ['-q', '-c', '-3', '--long=30'], { input: text, maxBuffer: 1 << 30 }));
  await writeFile(normal, execFileSync('zstd', ['-q', '-c', '-3'], { input: text, maxBuffer: 1 << 30 }));

  /** Best of RUNS fresh processes: seconds, Node peak RSS (MB), zstd program peak RSS (MB). */
  const arm = (name, path) => {
    let best;
    for (let r = 0; r < RUNS; r++) {
      const args = ['--arm', name, path];
      const res =
        name === 'program' && hasTime
          ? spawnSync('/usr/bin/time', ['-f', 'TIME_RSS_KB %M', process.execPath, self, ...args], { encoding: 'utf8' })
          : spawnSync(process.execPath, [self, ...args], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`${name} failed: ${res.stderr}`);
      const out = JSON.parse(res.stdout.trim().split('\n').pop());
      if (out.bytes !== text.length) throw new Error(`${name}: ${out.bytes} bytes decoded, want ${text.length}`);
      // GNU time reports the largest RSS among the process and its waited-for children: the larger
      // of Node and zstd; Node's own is known, so a larger figure is the program's
      const m = /TIME_RSS_KB (\d+)/.exec(res.stderr ?? '');
      if (m) out.zstdMB = Number(m[1]) / 1024 > out.rssMB + 1 ? Number(m[1]) / 1024 : undefined;
      if (!best || out.seconds < best.seconds) best = out;
    }
    return best;
  };

  const mb = (text.length / 1e6).toFixed(1);
  console.log(
    `zstd decoding of ${mb} MB of Gutenberg JSONL (${SHARD.split('/').pop()}), best of ${RUNS}, fresh process per run`,
  );
  for (const [label, path] of [
    ['--long=30 (1 GiB window declared)', long],
    ['default window (-3, from a pipe)', normal],
  ]) {
    const rows = [];
    const skipFzstd = path === long && process.env.SKIP_FZSTD_LONG === '1';
    const base = skipFzstd ? undefined : arm('fzstd', path);
    if (base) rows.push(['fzstd Decompress alone (old built-in path, no checks)', base]);
    rows.push(['our decoder alone (ZstdStream, no checks)', arm('ours-alone', path)]);
    rows.push(['our decoder + frame checks (CURATE_ZSTD=js)', arm('ours', path)]);
    rows.push(['zstd program (default on PATH)', arm('program', path)]);
    console.log(`\n${label}: ${(readFileSync(path).length / 1e6).toFixed(1)} MB compressed`);
    for (const [name, r] of rows) {
      const ratio = base
        ? `  ${(r.seconds / base.seconds).toFixed(3)}x time, ${(r.rssMB / base.rssMB).toFixed(2)}x RSS of fzstd`
        : '';
      const prog = r.zstdMB ? ` (+ zstd process ${r.zstdMB.toFixed(0)} MB)` : '';
      console.log(
        `  ${name.padEnd(54)} ${r.seconds.toFixed(2).padStart(7)} s  ${(text.length / 1e6 / r.seconds).toFixed(1).padStart(6)} MB/s  peak RSS ${r.rssMB.toFixed(0).padStart(5)} MB${prog}${ratio}`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
