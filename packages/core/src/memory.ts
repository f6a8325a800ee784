/**
 * This process's peak resident set size.
 *
 * `process.resourceUsage().maxRSS` (getrusage) is not enough: Linux keeps the
 * high-water mark across exec, so a `curate` started by a large process (a
 * Python training pipeline, a benchmark holding DuckDB) reports its parent's
 * peak when that was higher. `/proc/self/status` VmHWM is the peak of this
 * process's own address space; elsewhere getrusage is the best there is.
 */
import { readFileSync } from 'node:fs';

/** Peak resident set size of this process (all threads), in bytes. */
export function peakRssBytes(): number {
  if (process.platform === 'linux') {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) return Number(m[1]) * 1024;
    } catch {
      // no procfs (a sandbox): fall through
    }
  }
  return process.resourceUsage().maxRSS * 1024;
}
