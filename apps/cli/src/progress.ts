import type { ProgressEvent, ProgressListener } from '@curate/core';
import { formatBytes, type Io } from './io.js';

/**
 * Draws one progress line on a terminal: phase, rows, MB/s and ETA when the
 * total is known. Silent when stderr is not a TTY, with --no-progress or --json.
 */
export interface ProgressBar {
  listener: ProgressListener;
  done(): void;
}

export function createProgressBar(io: Io, enabled: boolean, now: () => number = Date.now): ProgressBar {
  if (!enabled || !io.stderr.isTTY) return { listener: () => {}, done: () => {} };
  let start = now();
  let phase = '';
  let last = 0;
  let drawn = false;
  const draw = (e: ProgressEvent) => {
    const t = now();
    if (e.phase !== phase) {
      // Rates and ETAs are per phase: each phase restarts the clock.
      phase = e.phase;
      start = t;
      last = 0;
    }
    if (!e.done && t - last < 100) return;
    last = t;
    const secs = Math.max((t - start) / 1000, 1e-3);
    const rate = e.bytes / secs;
    let line = `${e.phase}: ${e.rows.toLocaleString('en-US')} rows, ${formatBytes(e.bytes)}, ${formatBytes(rate)}/s`;
    if (e.totalBytes && e.totalBytes > 0) {
      const frac = Math.min(1, e.bytes / e.totalBytes);
      const width = 20;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (e.totalBytes - e.bytes) / rate : 0;
      line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${line}, ETA ${formatEta(eta)}`;
    }
    const cols = io.stderr.columns ?? 100;
    io.stderr.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, 100))}`);
    drawn = true;
  };
  return {
    listener: draw,
    done() {
      if (drawn) io.stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
