/** writeReport: manifest.json in, report.html out (beside it by default), written atomically. */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '@curate/core';
import { isReportManifest } from './manifest.js';
import { renderReport } from './render.js';

/**
 * Read a run manifest and write its HTML report; returns the report's path.
 * Unreadable file, bad JSON or not a curate manifest: `InputError` naming the file.
 */
export async function writeReport(manifestPath: string, outPath?: string): Promise<string> {
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
  const html = renderReport(json);
  const out = outPath ?? join(dirname(manifestPath), 'report.html');
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
