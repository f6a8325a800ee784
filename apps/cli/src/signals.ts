/**
 * SIGINT, SIGTERM and SIGHUP during a command: remove the temporary output of
 * every output directory still open, print one line, exit 130 / 143 / 129
 * (128 + the signal's number, as shells report). An output in the middle of its
 * commit (two renames) finishes it first, so the old or the new output is in place.
 */
import { writeSync } from 'node:fs';
import { abortOpenOutputs, outputCommitting } from '@curate/shards/outdir';

const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function installSignalHandlers(): void {
  let stopping = false;
  for (const [signal, code] of Object.entries(EXIT)) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      const finish = () => {
        if (outputCommitting()) {
          setTimeout(finish, 5);
          return;
        }
        // Synchronous from here to exit: no more JavaScript of the interrupted command runs (its
        // writes into the removed folder would fail and print a second error line).
        const removed = abortOpenOutputs();
        const what = removed.length ? `; removed temporary output ${removed.join(', ')}` : '';
        writeSync(2, `curate: interrupted by ${signal}${what}\n`);
        // A file-system call already in flight in libuv's pool (a shard writer's recursive mkdir, a
        // hard link of a finished unit) may have recreated a folder meanwhile: let those finish (the
        // pool runs beside this blocked thread), then remove again.
        abortOpenOutputs(removed);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        abortOpenOutputs(removed);
        process.exit(code);
      };
      finish();
    });
  }
}
