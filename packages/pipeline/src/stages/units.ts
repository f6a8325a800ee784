/**
 * Units of work with completion markers (issue 12's resume): a unit writes its files, then a JSON
 * marker naming each file with its size and sha256, last. `load` returns a marker only when every
 * file it names is there with those bytes (a missing, truncated or changed file fails closed: the
 * unit is redone). The write stage keeps its units under `WORK/write/<key>/` (key: the recipe and
 * the inputs' checksums), so a rerun of the same command skips the units a killed run finished.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { diskError, mkdirChecked, WORK_FORMAT } from './workdir.js';

export interface UnitFile {
  /** Path relative to the store's directory. */
  name: string;
  bytes: number;
  sha256: string;
}

export interface UnitMarker<T = unknown> {
  format: 'curate-unit';
  version: number;
  stage: string;
  unit: string;
  files: UnitFile[];
  data: T;
}

export class UnitStore {
  /** Units reused from a marker and units computed, per stage. */
  readonly reused: Record<string, number> = {};
  readonly computed: Record<string, number> = {};

  private constructor(
    /** The store's directory (`WORK/write/<key>`, or a temporary one inside the output). */
    readonly dir: string,
    /** Kept across runs (a work dir), or removed once the stage is done. */
    readonly persistent: boolean,
  ) {}

  static async open(dir: string, persistent: boolean): Promise<UnitStore> {
    await mkdirChecked(dir);
    return new UnitStore(dir, persistent);
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private markerPath(stage: string, unit: string): string {
    return this.path(stage, `${unit}.json`);
  }

  /** Is the unit's marker there (its files not verified: a cheap check while waiting for a unit)? */
  async has(stage: string, unit: string): Promise<boolean> {
    if (!this.persistent) return false;
    return stat(this.markerPath(stage, unit)).then(
      () => true,
      () => false,
    );
  }

  /**
   * The unit's marker when every file it names verifies; otherwise null (the unit is redone).
   * `count: false`: a unit another rank computed, not counted as reused by this one.
   */
  async load<T>(stage: string, unit: string, opts: { count?: boolean } = {}): Promise<UnitMarker<T> | null> {
    if (!this.persistent) return null;
    let m: UnitMarker<T>;
    try {
      m = JSON.parse(await readFile(this.markerPath(stage, unit), 'utf8')) as UnitMarker<T>;
    } catch {
      return null;
    }
    if (m.format !== 'curate-unit' || m.version !== WORK_FORMAT || m.stage !== stage || m.unit !== unit) return null;
    for (const f of m.files) {
      const p = this.path(f.name);
      try {
        if ((await stat(p)).size !== f.bytes || (await sha256Of(p)) !== f.sha256) return null;
      } catch {
        return null;
      }
    }
    if (opts.count !== false) this.reused[stage] = (this.reused[stage] ?? 0) + 1;
    return m;
  }

  /** Write the unit's marker (its files are written): sizes and checksums of `files` (absolute paths). */
  async commit<T>(stage: string, unit: string, files: { path: string; sha256?: string }[], data: T): Promise<void> {
    const list: UnitFile[] = [];
    for (const f of files) {
      list.push({
        name: relativeTo(this.dir, f.path),
        bytes: (await stat(f.path)).size,
        sha256: f.sha256 ?? (await sha256Of(f.path)),
      });
    }
    this.writeMarker(stage, unit, list, data);
  }

  /** `commit` for a unit whose one file was just written with its size and sha256 (`writePartsChecked`). */
  commitFileSync<T>(
    stage: string,
    unit: string,
    file: string,
    written: { bytes: number; sha256: string },
    data: T,
  ): void {
    this.writeMarker(stage, unit, [{ name: relativeTo(this.dir, file), ...written }], data);
  }

  private writeMarker<T>(stage: string, unit: string, files: UnitFile[], data: T): void {
    const marker: UnitMarker<T> = { format: 'curate-unit', version: WORK_FORMAT, stage, unit, files, data };
    writeAtomicSync(this.markerPath(stage, unit), `${JSON.stringify(marker)}\n`);
    this.computed[stage] = (this.computed[stage] ?? 0) + 1;
  }

  /** Remove a unit's leftovers (a killed run's partial files) before it is redone. */
  async clear(stage: string, unit: string, files: string[] = []): Promise<void> {
    await rm(this.markerPath(stage, unit), { force: true });
    for (const f of files) await rm(f, { recursive: true, force: true });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function relativeTo(dir: string, path: string): string {
  if (!path.startsWith(`${dir}/`)) throw new Error(`internal: unit file ${path} is outside ${dir}`);
  return path.slice(dir.length + 1);
}

export function writeAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${hostname()}-${process.pid}`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw diskError(e, path);
  }
}

export async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
