/**
 * Load a shard compressor before the first shard needs it. The native zstd binding's loader asks
 * `process.report.getReport()` whether libc is glibc or musl, then dlopens its binary: ~60 ms of
 * one thread (measured in a re-mix's CPU profile), paid by whoever writes the first zstd shard. A
 * writer with idle time before its first shard (the mix's main thread while pass 2 runs on the
 * worker threads) pays it there instead. Never throws: a compressor that cannot load fails where
 * it is used, with that writer's error.
 */
import type { WriteCompression } from './types.js';

export async function warmCompressor(compression: WriteCompression): Promise<void> {
  try {
    const codecs = await import('./parquet/codecs.js');
    if (compression === 'zstd') await codecs.zstdCompress();
    else if (compression === 'snappy') codecs.snappyCompress();
  } catch {
    // reported by the writer that needs it
  }
}
