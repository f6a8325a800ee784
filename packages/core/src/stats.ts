/**
 * Counters merged by addition (per rank, per worker, then summed).
 *
 * Drop reasons are structured, not free strings, so a typo cannot create a new
 * counter silently: build them with `dropReason(stage, name, detail?)`, which
 * yields `filter:gopher_quality:word_count`, `dedup:exact`, `decontam:gsm8k:row=17`.
 */
export type DropStage = 'filter' | 'dedup' | 'decontam' | 'input';

export function dropReason(stage: DropStage, name: string, detail?: string): string {
  if (!/^[a-z0-9_.-]+$/i.test(name)) throw new RangeError(`dropReason: bad name "${name}"`);
  return detail === undefined || detail === '' ? `${stage}:${name}` : `${stage}:${name}:${detail}`;
}

/** The counting key of a reason: its stage, name and first detail field without per-row parts (`dedup:near:cluster=12` -> `dedup:near`). */
export function reasonKey(reason: string): string {
  const parts = reason.split(':');
  const keep: string[] = [];
  for (const p of parts) {
    if (p.includes('=')) break;
    keep.push(p);
  }
  return keep.join(':');
}

export interface SourceCounters {
  rows_read: number;
  rows_kept: number;
  dropped: Record<string, number>;
  /**
   * What steps changed in rows they did not drop, by key (`pii:rows`, `pii:email`); present only
   * when a step counted something.
   */
  changed?: Record<string, number>;
}

/** Per-source counters: rows read, kept, and dropped by reason key. */
export class Stats {
  readonly sources: Map<string, SourceCounters> = new Map();

  private get(source: string): SourceCounters {
    let s = this.sources.get(source);
    if (!s) {
      s = { rows_read: 0, rows_kept: 0, dropped: {} };
      this.sources.set(source, s);
    }
    return s;
  }

  read(source: string, n = 1): void {
    this.get(source).rows_read += n;
  }

  kept(source: string, n = 1): void {
    this.get(source).rows_kept += n;
  }

  drop(source: string, reason: string, n = 1): void {
    const key = reasonKey(reason);
    const d = this.get(source).dropped;
    d[key] = (d[key] ?? 0) + n;
  }

  /** Count `n` under `key` (`pii:email`) of what a step changed in rows of `source`. */
  change(source: string, key: string, n = 1): void {
    const s = this.get(source);
    const c = (s.changed ??= {});
    c[key] = (c[key] ?? 0) + n;
  }

  totalDropped(source: string): number {
    const s = this.sources.get(source);
    if (!s) return 0;
    let t = 0;
    for (const v of Object.values(s.dropped)) t += v;
    return t;
  }

  merge(other: Stats | Record<string, SourceCounters>): this {
    const entries = other instanceof Stats ? other.sources.entries() : Object.entries(other);
    for (const [name, c] of entries) {
      const s = this.get(name);
      s.rows_read += c.rows_read;
      s.rows_kept += c.rows_kept;
      for (const [k, v] of Object.entries(c.dropped)) s.dropped[k] = (s.dropped[k] ?? 0) + v;
      if (c.changed) {
        const ch = (s.changed ??= {});
        for (const [k, v] of Object.entries(c.changed)) ch[k] = (ch[k] ?? 0) + v;
      }
    }
    return this;
  }

  /** Plain object with sources and reasons sorted by name (stable output). */
  toJSON(): Record<string, SourceCounters> {
    const out: Record<string, SourceCounters> = {};
    for (const name of [...this.sources.keys()].sort()) {
      const s = this.sources.get(name) as SourceCounters;
      const dropped: Record<string, number> = {};
      for (const k of Object.keys(s.dropped).sort()) dropped[k] = s.dropped[k];
      out[name] = { rows_read: s.rows_read, rows_kept: s.rows_kept, dropped };
      if (s.changed) {
        const changed: Record<string, number> = {};
        for (const k of Object.keys(s.changed).sort()) changed[k] = s.changed[k];
        out[name].changed = changed;
      }
    }
    return out;
  }
}
