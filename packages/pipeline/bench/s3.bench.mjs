// curate mix with inputs and output on a local S3 server (s3rver on 127.0.0.1) vs the same mix on
// local disk, in the same run; the bar: within 1.5x. Inputs: one Gutenberg shard (real, 25 MB
// JSONL) + AlpacaEval outputs (synthetic, 9 MB JSONL), the pipeline bench's filters and dedup.
// Run: npm run bench:s3 -w @curate/pipeline
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetS3Client, storageFor } from '@curate/shards';
import S3rver from 's3rver';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const shared = process.env.CURATE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
if (!existsSync(join(shared, 'MANIFEST.md'))) {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
const bin = join(root, 'apps', 'cli', 'bin', 'curate.js');
const work = mkdtempSync(join(tmpdir(), 'curate-s3-bench-'));
const guten = join(shared, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
const alpaca = join(shared, 'instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: join(work, 's3'),
  configureBuckets: [{ name: 'bench', configs: [] }],
});
const { port } = await server.run();
const env = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
};
Object.assign(process.env, env);
resetS3Client();
await storageFor('s3://bench/').upload('s3://bench/in/gutenberg.jsonl', guten);
await storageFor('s3://bench/').upload('s3://bench/in/alpaca.jsonl', alpaca);

function recipe(name, real, synth, out) {
  const p = join(work, `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}
seed: 1
tokenizer: cl100k_base
target: { ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: gutenberg, kind: real, paths: [${real}], text: text }
  - { name: alpaca-eval, kind: synthetic, generator: AlpacaEval models, paths: [${synth}], text: "{instruction}\\n\\n{output}", max_epochs: 4 }
quality:
  - gopher_quality: {}
  - gopher_repetition: {}
  - c4: { mode: clean }
  - fineweb: {}
dedup:
  exact: {}
  near: { threshold: 0.8 }
output: { dir: ${out}, format: parquet, compression: zstd }
report: false
`,
  );
  return p;
}

// the child runs while this process serves S3: spawn, not spawnSync
// each run its own fresh work dir (an s3:// output's default, .curate-work in the working
// directory, would be left behind and make a rerun reuse the attributes of the last one)
function runMix(path, workDir) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [bin, 'mix', path, '--json', '--overwrite', '--workers', '2', '--work', workDir],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`mix failed (${code}): ${err}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, summary: JSON.parse(out) });
    });
  });
}

try {
  const local = await runMix(recipe('local', guten, alpaca, join(work, 'out-local')), join(work, 'work-local'));
  const remote = await runMix(
    recipe('s3', 's3://bench/in/gutenberg.jsonl', 's3://bench/in/alpaca.jsonl', 's3://bench/out'),
    join(work, 'work-s3'),
  );
  const shardsOf = (dir) => readFileSync(join(dir, 'manifest.json'), 'utf8');
  const localRows = JSON.parse(shardsOf(join(work, 'out-local'))).output.shards.reduce((a, s) => a + s.rows, 0);
  console.log(`mix, local disk -> local disk: ${local.seconds.toFixed(1)} s (${localRows} rows)`);
  console.log(`mix, s3rver -> s3rver:         ${remote.seconds.toFixed(1)} s`);
  console.log(`ratio s3/local: ${(remote.seconds / local.seconds).toFixed(2)}x (bar: 1.5x)`);
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
