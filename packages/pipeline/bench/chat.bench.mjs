// Conversations vs the same text as plain documents, in the same run (issue 15: a mix of chat
// sources must run at >= 80% of the plain documents' throughput, MB of input per second).
// Inputs built here from shared data: Dolly (real) and alpaca-libre (synthetic) as OpenAI chats with
// one system prompt, and nanochat's multi-turn chats as they come (bare arrays of turns); the plain
// inputs hold each conversation's ChatML rendering as `text` (the same text and tokens).
// Run: node bench/chat.bench.mjs
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChat } from '@curate/shards';
import { runRecipeFile } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const shared = process.env.CURATE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
if (!existsSync(join(shared, 'MANIFEST.md'))) {
  console.log(`shared data not found at ${shared}: benchmark skipped`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'curate-chat-bench-'));
const lines = (p) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const SYSTEM = 'You are a helpful assistant. Answer carefully and say so when you do not know.';
const pair = (user, assistant) => [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: user },
  { role: 'assistant', content: assistant },
];
const sets = {
  dolly: lines(join(shared, 'instruct_pair', 'human_dolly15k.jsonl')).map((d) =>
    pair(d.context ? `${d.instruction}\n\n${d.context}` : d.instruction, d.response),
  ),
  libre: lines(join(shared, 'instruct_pair', 'synthetic_alpaca_libre_gpt35.jsonl')).map((d) =>
    pair(d.input ? `${d.instruction}\n\n${d.input}` : d.instruction, d.output),
  ),
  nanochat: lines(join(shared, 'chat', 'synthetic_nanochat_identity_conversations.jsonl')),
};
for (const [name, convs] of Object.entries(sets)) {
  writeFileSync(join(work, `${name}.chat.jsonl`), `${convs.map((c) => JSON.stringify({ messages: c })).join('\n')}\n`);
  writeFileSync(
    join(work, `${name}.plain.jsonl`),
    `${convs.map((c) => JSON.stringify({ text: renderChat(c, 'chatml') })).join('\n')}\n`,
  );
}

function recipe(mode) {
  const src = (name, kind) =>
    `  - { name: ${name}, kind: ${kind}, ${kind === 'synthetic' ? 'generator: gpt, ' : ''}paths: [${join(work, `${name}.${mode}.jsonl`)}], ${mode === 'chat' ? 'conversation: {}' : 'text: text'} }`;
  const p = join(work, `${mode}.yaml`);
  writeFileSync(
    p,
    `name: chat-bench-${mode}
seed: 1
tokenizer: cl100k_base
target: { ratio: { real: 0.6, synthetic: 0.4 } }
sources:
${src('dolly', 'real')}
${src('libre', 'synthetic')}
${src('nanochat', 'synthetic')}
quality:
  - gopher_repetition: {}
  - fineweb: {}
dedup:
  exact: {}
  near: { threshold: 0.8 }
  decontaminate:
    - { name: gsm8k, paths: [${join(shared, 'decontam', 'gsm8k_test.jsonl')}], text: question }
output: { dir: ${join(work, `out-${mode}`)}, format: parquet, compression: zstd }
report: false
`,
  );
  return p;
}

// Each first mix gets a fresh work dir (everything computed: the throughput the issue asks about);
// the re-mix reuses that work dir's attributes (nothing scanned again).
let runs = 0;
async function run(mode, workDir = join(work, `w-${mode}-${runs++}`)) {
  const bytes = Object.keys(sets).reduce((a, n) => a + statSync(join(work, `${n}.${mode}.jsonl`)).size, 0);
  const t0 = performance.now();
  const { manifest } = await runRecipeFile(recipe(mode), {
    out: join(work, `out-${mode}`),
    overwrite: true,
    workers: 2,
    work: workDir,
  });
  const s = (performance.now() - t0) / 1000;
  return { s, mbps: bytes / 1e6 / s, mb: bytes / 1e6, rows: manifest.totals.rows_read, workDir };
}

try {
  const best = { plain: null, chat: null };
  const remix = { plain: null, chat: null };
  const rounds = Number(process.env.ROUNDS ?? 3);
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['plain', 'chat']) {
      const r = await run(mode);
      if (!best[mode] || r.s < best[mode].s) best[mode] = r;
      const again = await run(mode, r.workDir);
      if (!remix[mode] || again.s < remix[mode].s) remix[mode] = again;
    }
  }
  for (const mode of ['plain', 'chat']) {
    const r = best[mode];
    console.log(
      `${mode.padEnd(5)}  ${r.mb.toFixed(1)} MB in ${r.s.toFixed(2)} s = ${r.mbps.toFixed(2)} MB/s (${r.rows} rows, ${(r.rows / r.s).toFixed(0)} rows/s)`,
    );
  }
  console.log(
    `chat/plain throughput, first mix (fresh work dir, best of ${rounds}): ${(best.chat.mbps / best.plain.mbps).toFixed(2)}x MB/s, ${(best.plain.s / best.chat.s).toFixed(2)}x rows/s (target >= 0.80)`,
  );
  console.log(
    `re-mix from the stored attributes: plain ${remix.plain.s.toFixed(2)} s, chat ${remix.chat.s.toFixed(2)} s = ${(remix.plain.s / remix.chat.s).toFixed(2)}x`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
