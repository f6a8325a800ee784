import { createShardWriter, expandInputs, prepareOutputDir, readShard } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../io.js';
import { writerOptions } from './options.js';
import { warnOutputReadBack } from './readback.js';

export async function convertCommand(
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  const started = Date.now();
  const files = await expandInputs(args, { cwd: ctx.io.cwd });
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  // Options are checked before the output directory is touched: a refused command leaves nothing behind.
  const write = writerOptions(opts, String(opts.out));
  await warnOutputReadBack(ctx, args, { ...opts, format: opts.format ?? 'parquet' });
  const out = await prepareOutputDir(String(opts.out), {
    overwrite: Boolean(opts.overwrite),
    protect: files.map((f) => f.path),
    command: 'convert',
    cwd: ctx.io.cwd,
  });
  const writer = createShardWriter({ ...write, dir: out.tmpDir, widen: true });
  let rows = 0;
  let doneBytes = 0;
  try {
    for (const f of files) {
      let fileRows = 0;
      for await (const batch of readShard(f)) {
        await writer.write(batch);
        rows += batch.length;
        fileRows += batch.length;
        ctx.progress.listener({ phase: 'convert', rows, bytes: doneBytes, totalBytes });
      }
      doneBytes += f.size;
      ctx.progress.listener({ phase: 'convert', rows, bytes: doneBytes, totalBytes });
      if (fileRows === 0) ctx.warn(`${f.path}: no rows`);
    }
    const shards = (await writer.close()).map((s) => ({ ...s, path: out.finalPath(s.path) }));
    await out.commit();
    const summary = {
      command: 'convert',
      inputs: files.map((f) => ({ path: f.path, format: f.format, bytes: f.size })),
      rows,
      out: String(opts.out),
      shards,
      seconds: (Date.now() - started) / 1000,
    };
    ctx.emit(summary);
    ctx.say(
      `converted ${rows.toLocaleString('en-US')} rows from ${files.length} file(s) into ${shards.length} shard(s) in ${opts.out} (${formatBytes(
        shards.reduce((s, x) => s + x.bytes, 0),
      )})`,
    );
  } catch (err) {
    await writer.abort().catch(() => {});
    await out.abort().catch(() => {});
    throw err;
  }
}
