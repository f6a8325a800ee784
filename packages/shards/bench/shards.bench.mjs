// Shards benchmark: write and read ~97 MB of real book text (Project Gutenberg,
// split into ~2 KB paragraph chunks like training shards) as Parquet (ours:
// hyparquet + hyparquet-writer), Arrow IPC and JSONL, beside DuckDB doing the
// same from/into JS in the same run, DuckDB's native COPY/scan, and
// parquetjs-lite. Runs against dist/ (build first). MB = UTF-8 bytes of text.
//
//   npm run bench -w @curate/shards            BENCH_REPS=2 (best of), BENCH_MB=97 (cap)
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBDataChunk, DuckDBInstance, VARCHAR } from '@duckdb/node-api';

const require = createRequire(import.meta.url);
const here = new URL('.', import.meta.url).pathname;
const DATA = process.env.CURATE_SHARED_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
const GUTENBERG = join(DATA, 'real_text', 'gutenberg');
const REPS = Number(process.env.BENCH_REPS ?? 2);
const CAP_MB = Number(process.env.BENCH_MB ?? 1000);
const BATCH = 2048;
const CHUNK_CHARS = 2000;

// The package entry once shards-core exports readers/writers there, else the Parquet driver alone.
const pq = await import('../dist/parquet/index.js');
let core = {};
try {
  core = await import('../dist/index.js');
} catch {}
const hasCore = typeof core.createFileWriter === 'function' && typeof core.readShard === 'function';

/** Books -> ~2 KB chunks cut at paragraph breaks. */
async function loadRows() {
  const files = (await readdir(GUTENBERG)).filter((f) => f.endsWith('.jsonl')).sort();
  const ids = [];
  const texts = [];
  let bytes = 0;
  outer: for (const f of files) {
    const lines = createInterface({ input: createReadStream(join(GUTENBERG, f)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      const book = JSON.parse(line);
      let buf = '';
      let k = 0;
      const flush = () => {
        ids.push(`${book.id}#${k++}`);
        texts.push(buf);
        bytes += Buffer.byteLength(buf);
        buf = '';
      };
      for (const para of book.text.split(/\n\s*\n/)) {
        buf = buf ? `${buf}\n\n${para}` : para;
        if (buf.length >= CHUNK_CHARS) flush();
        if (bytes > CAP_MB * 1e6) break outer;
      }
      if (buf) flush();
    }
  }
  return { ids, texts, bytes };
}

const { ids, texts, bytes: TEXT_BYTES } = await loadRows();
const N = texts.length;
const MB = TEXT_BYTES / 1e6;
const CHARS = texts.reduce((s, t) => s + t.length, 0);
const batches = [];
for (let i = 0; i < N; i += BATCH) {
  batches.push({
    length: Math.min(BATCH, N - i),
    columns: { id: ids.slice(i, i + BATCH), text: texts.slice(i, i + BATCH) },
  });
}
const COLUMNS = [
  { name: 'id', type: 'string' },
  { name: 'text', type: 'string' },
];
console.log(`gutenberg: ${N} rows of ~2 KB, ${MB.toFixed(1)} MB of text, batches of ${BATCH}; best of ${REPS}`);
console.log(
  `drivers: ${hasCore ? '../dist/index.js (all formats)' : '../dist/parquet/index.js (Parquet only)'}; zstd: ${(await pq.zstdCompress()).name}`,
);

const dir = await mkdtemp(join(tmpdir(), 'curate-shards-bench-'));
const duck = await DuckDBInstance.create(':memory:');
const con = await duck.connect();
const [{ threads }] = (await con.runAndReadAll(`SELECT current_setting('threads') AS threads`)).getRowObjectsJS();

const results = [];
const memory = [];
/**
 * Run the entries of one comparison in rounds (A B C, A B C, ...) so that noise
 * from other processes hits them alike; keep each one's best wall time and the
 * process CPU time of that run (all threads, DuckDB's included).
 */
async function compare(op, entries) {
  const best = entries.map(() => ({ s: Infinity, cpu: 0, info: '' }));
  for (let r = 0; r < REPS; r++) {
    for (const [i, e] of entries.entries()) {
      if (r > 0 && e.once) continue;
      global.gc?.();
      const c0 = process.cpuUsage();
      const t = performance.now();
      const info = await e.fn();
      const s = (performance.now() - t) / 1000;
      const c = process.cpuUsage(c0);
      if (s < best[i].s) best[i] = { s, cpu: (c.user + c.system) / 1e6, info: info ?? '' };
    }
  }
  for (const [i, e] of entries.entries()) {
    results.push({ op, lib: e.lib, base: !!e.base, ...best[i] });
    console.log(
      `  ${op.padEnd(22)} ${e.lib.padEnd(34)} ${best[i].s.toFixed(2)} s (cpu ${best[i].cpu.toFixed(2)} s) ${best[i].info}`,
    );
  }
}
const size = async (p) => `${((await stat(p)).size / 1e6).toFixed(1)} MB file`;

/** Check a read got every row and every character. */
function check(rows, chars, what) {
  if (rows !== N || chars !== CHARS)
    throw new Error(`${what}: read ${rows} rows / ${chars} chars, expected ${N} / ${CHARS}`);
}

async function ourWrite(path, compression, rowGroupRows) {
  const w = await pq.createParquetFileWriter(path, { columns: COLUMNS, compression, rowGroupRows });
  for (const b of batches) await w.write(b);
  await w.close();
  return size(path);
}
async function ourRead(path, readerOptions) {
  let rows = 0;
  let chars = 0;
  const reader = readerOptions ? pq.createParquetReader(readerOptions) : pq.parquetReader;
  for await (const b of reader.read({ path, format: 'parquet', size: 0 }, { batchSize: BATCH })) {
    rows += b.length;
    for (const t of b.columns.text) chars += t.length;
  }
  check(rows, chars, path);
}
async function coreWrite(format, path, compression) {
  const w = await core.createFileWriter(format, path, { columns: COLUMNS, compression });
  for (const b of batches) await w.write(b);
  await w.close();
  return size(path);
}
async function coreRead(path) {
  let rows = 0;
  let chars = 0;
  for await (const b of core.readShard(path, { batchSize: BATCH })) {
    rows += b.length;
    for (const t of b.columns.text) chars += t.length;
  }
  check(rows, chars, path);
}

/** DuckDB fed from JS: data chunks into an appender, then COPY to Parquet. */
async function duckWriteFromJs(path, codec) {
  await con.run('CREATE OR REPLACE TABLE t (id VARCHAR, text VARCHAR)');
  const appender = await con.createAppender('t');
  for (const b of batches) {
    const chunk = DuckDBDataChunk.create([VARCHAR, VARCHAR]);
    chunk.setColumns([b.columns.id, b.columns.text]);
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  await con.run(`COPY t TO '${path}' (FORMAT parquet, COMPRESSION ${codec})`);
  return size(path);
}
/** DuckDB reading Parquet into JS values, chunk by chunk (streaming). */
async function duckReadToJs(path) {
  const result = await con.stream(`SELECT id, text FROM read_parquet('${path}')`);
  let rows = 0;
  let chars = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    chunk.getColumnValues(0);
    const text = chunk.getColumnValues(1);
    rows += text.length;
    for (const t of text) chars += t.length;
  }
  check(rows, chars, `duckdb ${path}`);
}

const parquetjs = (() => {
  try {
    return require('parquetjs-lite');
  } catch {
    return undefined;
  }
})();
async function pjsWrite(path) {
  const schema = new parquetjs.ParquetSchema({
    id: { type: 'UTF8', compression: 'SNAPPY' },
    text: { type: 'UTF8', compression: 'SNAPPY' },
  });
  const w = await parquetjs.ParquetWriter.openFile(schema, path);
  w.setRowGroupSize(16384);
  for (let i = 0; i < N; i++) await w.appendRow({ id: ids[i], text: texts[i] });
  await w.close();
  return size(path);
}
async function pjsRead(path) {
  const r = await parquetjs.ParquetReader.openFile(path);
  const cursor = r.getCursor();
  let rows = 0;
  let chars = 0;
  for (let rec = await cursor.next(); rec; rec = await cursor.next()) {
    rows++;
    chars += rec.text.length;
  }
  await r.close();
  check(rows, chars, path);
}

const f = (name) => join(dir, name);
const pjs = (e) => (parquetjs ? [e] : []);
try {
  console.log('write');
  await compare('write parquet zstd', [
    { lib: 'DuckDB from JS (appender + COPY)', base: true, fn: () => duckWriteFromJs(f('duck-zstd.parquet'), 'zstd') },
    { lib: 'curate (hyparquet-writer)', fn: () => ourWrite(f('ours-zstd.parquet'), 'zstd') },
    {
      lib: 'DuckDB native COPY (reference)',
      fn: async () => {
        await con.run(`COPY t TO '${f('duck-native.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
        return size(f('duck-native.parquet'));
      },
    },
  ]);
  await compare('write parquet snappy', [
    {
      lib: 'DuckDB from JS (appender + COPY)',
      base: true,
      fn: () => duckWriteFromJs(f('duck-snappy.parquet'), 'snappy'),
    },
    { lib: 'curate (hyparquet-writer)', fn: () => ourWrite(f('ours-snappy.parquet'), 'snappy') },
    ...pjs({ lib: 'parquetjs-lite', once: true, fn: () => pjsWrite(f('pjs.parquet')) }),
  ]);
  if (hasCore) {
    await compare('write (other formats)', [
      { lib: 'DuckDB from JS, zstd Parquet', base: true, fn: () => duckWriteFromJs(f('duck-zstd.parquet'), 'zstd') },
      { lib: 'curate arrow ipc (apache-arrow)', fn: () => coreWrite('arrow', f('out.arrow'), 'none') },
      { lib: 'curate jsonl', fn: () => coreWrite('jsonl', f('out.jsonl'), 'none') },
    ]);
  }

  console.log('read (every value into JS)');
  // DuckDB puts all 38k rows in one 96 MB row group; the same data in 16k-row groups shows what group size costs us
  await con.run(`COPY t TO '${f('duck-16k.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)`);
  // all rows in one row group of 1 MiB pages, as pyarrow, Spark or HF datasets write big files
  await ourWrite(f('ours-1rg.parquet'), 'zstd', N);
  for (const codec of ['zstd', 'snappy']) {
    await compare(`read parquet ${codec}`, [
      { lib: 'DuckDB into JS (stream chunks)', base: true, fn: () => duckReadToJs(f(`duck-${codec}.parquet`)) },
      { lib: 'curate (hyparquet), DuckDB file', fn: () => ourRead(f(`duck-${codec}.parquet`)) },
      { lib: 'curate (hyparquet), own file', fn: () => ourRead(f(`ours-${codec}.parquet`)) },
      ...(codec === 'zstd'
        ? [
            { lib: 'curate (hyparquet), DuckDB 16k-row groups', fn: () => ourRead(f('duck-16k.parquet')) },
            { lib: 'curate, own file, 1 row group', fn: () => ourRead(f('ours-1rg.parquet')) },
            {
              lib: 'curate, own file, 1 row group, whole-group decode (before)',
              fn: () => ourRead(f('ours-1rg.parquet'), { pages: false }),
            },
            {
              lib: 'DuckDB native scan (reference)',
              fn: async () => {
                const r = await con.runAndReadAll(
                  `SELECT count(*) AS n, sum(length(text)) AS c FROM read_parquet('${f('duck-zstd.parquet')}')`,
                );
                if (Number(r.getRowObjectsJS()[0].n) !== N) throw new Error('duckdb scan count');
              },
            },
          ]
        : pjs({ lib: 'parquetjs-lite, own file', once: true, fn: () => pjsRead(f('pjs.parquet')) })),
    ]);
  }
  if (hasCore) {
    await compare('read (other formats)', [
      { lib: 'DuckDB into JS, zstd Parquet', base: true, fn: () => duckReadToJs(f('duck-zstd.parquet')) },
      { lib: 'curate arrow ipc (apache-arrow)', fn: () => coreRead(f('out.arrow')) },
      { lib: 'curate jsonl', fn: () => coreRead(f('out.jsonl')) },
    ]);
  }
  // Peak RSS of a fresh process reading one file (all columns into JS, batches of 2048): a row group
  // decoded whole (hyparquet) against page after page (default since the page reader)
  console.log('peak RSS of a read in a fresh process');
  const child = `const pq = await import(${JSON.stringify(new URL('../dist/parquet/index.js', import.meta.url).href)});
    const [path, mode] = process.argv.slice(1);
    let n = 0;
    for await (const b of pq.createParquetReader({ pages: mode === 'pages' }).read({ path, format: 'parquet', size: 0 }, { batchSize: ${BATCH} })) n += b.length;
    if (n !== ${N}) throw new Error('rows ' + n);
    // VmHWM: this process's own peak (getrusage's maxRSS keeps the parent's peak across exec)
    const hwm = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+)/);
    console.log(JSON.stringify({ rss: Number(hwm[1]) / 1024 }));`;
  for (const [file, what] of [
    ['ours-1rg.parquet', 'own file, 1 row group (1 MiB pages)'],
    ['duck-zstd.parquet', 'DuckDB file, 1 row group (DuckDB pages)'],
  ]) {
    const peak = {};
    for (const mode of ['group', 'pages']) {
      let best = Infinity;
      for (let r = 0; r < REPS; r++) {
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', child, f(file), mode], {
          encoding: 'utf8',
        });
        best = Math.min(best, JSON.parse(out).rss);
      }
      peak[mode] = best;
    }
    memory.push({ file: what, 'whole group MiB': peak.group.toFixed(0), 'pages MiB': peak.pages.toFixed(0) });
    console.log(`  ${what}: whole group ${peak.group.toFixed(0)} MiB, pages ${peak.pages.toFixed(0)} MiB`);
  }
} finally {
  con.closeSync();
  duck.closeSync();
  await rm(dir, { recursive: true, force: true });
}

console.log(
  `\n${MB.toFixed(1)} MB of text, ${N} rows; DuckDB threads=${threads}; best of ${REPS} interleaved runs;` +
    ' ratio = MB/s over the MB/s of DuckDB via JS in the same comparison (>1: faster);' +
    ' cpu = process CPU seconds of that run, all threads (steadier than wall time on a shared machine)\n',
);
const head = ['operation', 'library', 'seconds', 'MB/s', 'ratio vs DuckDB', 'cpu s', 'cpu ratio', 'note'];
let base;
const rows = results.map((r) => {
  if (r.base) base = r;
  return [
    r.op,
    r.lib,
    r.s.toFixed(2),
    (MB / r.s).toFixed(1),
    (base.s / r.s).toFixed(2),
    r.cpu.toFixed(2),
    (base.cpu / r.cpu).toFixed(2),
    r.info,
  ];
});
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('\npeak RSS of a fresh process reading the file (best of the runs):');
console.table(memory);
