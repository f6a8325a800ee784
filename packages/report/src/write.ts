/** writeReport: manifest.json in, report.html out (beside it by default), written atomically. */
import { open, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '@curate/core';
import { isReportManifest } from './manifest.js';
import { renderReport } from './render.js';

export interface WriteReportOptions {
  /** Replace an existing file at `outPath` that is not a curate report (never the manifest or a file it lists). */
  overwrite?: boolean;
}

/** True when `path` is an HTML report curate rendered (its head carries `<meta name="generator" content="curate">`). */
async function isCurateReport(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8').includes('<meta name="generator" content="curate">');
  } finally {
    await fh.close();
  }
}

const real = (p: string) => realpath(p).catch(() => resolve(p));

/**
 * Where the report may not go: the manifest itself, and every file the manifest names
 * (output and rejected shards beside it, input files).
 */
async function checkReportTarget(manifestPath: string, json: Record<string, unknown>, out: string, overwrite: boolean) {
  const target = await real(out);
  const refuse = (why: string, code = 'E_REPORT_OUT_PROTECTED') => {
    throw new InputError(`refusing to write the report here: ${why}`, { code, file: out });
  };
  if (target === (await real(manifestPath))) refuse('it is the manifest the report is made from');
  const base = dirname(manifestPath);
  const output = (json.output ?? {}) as { shards?: { path?: unknown }[]; rejected?: { path?: unknown }[] };
  const listed: string[] = [];
  for (const s of [...(output.shards ?? []), ...(output.rejected ?? [])]) {
    if (typeof s?.path === 'string') listed.push(resolve(base, s.path));
  }
  for (const src of (Array.isArray(json.sources) ? json.sources : []) as { files?: unknown }[]) {
    const files = Array.isArray(src?.files) ? (src.files as { path?: unknown }[]) : [];
    for (const f of files) if (typeof f?.path === 'string') listed.push(resolve(base, f.path));
  }
  for (const p of listed) if (target === (await real(p))) refuse(`it is a file of the run (${p})`);
  const st = await stat(out).catch(() => undefined);
  if (!st) return;
  if (!st.isFile()) refuse('it exists and is not a file', 'E_REPORT_OUT_NOT_FILE');
  if (!overwrite && !(await isCurateReport(out))) {
    refuse('the file exists and is not a curate report (use --overwrite to replace it)', 'E_REPORT_OUT_EXISTS');
  }
}

/**
 * Read a run manifest and write its HTML report; returns the report's path.
 * Unreadable file, bad JSON or not a curate manifest: `InputError` naming the file.
 * An existing `outPath` is replaced only when it is a curate report or with `overwrite`,
 * and never when it is the manifest or a file the manifest lists.
 */
export async function writeReport(
  manifestPath: string,
  outPath?: string,
  options: WriteReportOptions = {},
): Promise<string> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new InputError(`cannot read the manifest: ${reason}`, {
      code: 'E_REPORT_READ',
      file: manifestPath,
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`the manifest is not valid JSON: ${(err as Error).message}`, {
      code: 'E_REPORT_JSON',
      file: manifestPath,
      cause: err,
    });
  }
  if (!isReportManifest(json)) {
    throw new InputError(
      'not a curate run manifest (expected manifest_version and sources, as written by curate mix)',
      {
        code: 'E_REPORT_NOT_MANIFEST',
        file: manifestPath,
      },
    );
  }
  const out = outPath ?? join(dirname(manifestPath), 'report.html');
  await checkReportTarget(manifestPath, json as unknown as Record<string, unknown>, out, Boolean(options.overwrite));
  const html = renderReport(json);
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, html, 'utf8');
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return out;
}
