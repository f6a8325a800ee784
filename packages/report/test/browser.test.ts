/**
 * The rendered fixture report in a real browser (Debian's chromium through
 * playwright-core): no console errors, no request beyond the file itself, every
 * chart laid out with a non-empty box (on screen and in print), and a
 * screenshot in test-artifacts/report.png to look at.
 * CI installs chromium and must run this; elsewhere it skips with a message when
 * chromium is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../src/index.js';
import { fixtureManifest } from './fixture.js';

const CHROMIUM = process.env.CURATE_CHROMIUM ?? '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  if (process.env.CI) throw new Error(`${CHROMIUM} not found: CI must install chromium (apt-get install -y chromium)`);
  console.warn(`[report tests] ${CHROMIUM} not found: the browser test is skipped (apt-get install -y chromium)`);
}

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

describe.skipIf(!HAS_CHROMIUM)('the report in chromium', () => {
  let browser: Browser;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'curate-report-browser-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(fixtureManifest()));
    url = pathToFileURL(file).href;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console error and no request but the file, lays out every chart, and runs its print script', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') errors.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(url, { waitUntil: 'load' });

    const charts = page.locator('svg[role="img"]');
    // 9 charts and 11 small multiples of the quality signals
    expect(await charts.count()).toBe(20);
    for (let i = 0; i < 20; i++) {
      const box = await charts.nth(i).boundingBox();
      expect(box, `chart ${i}`).not.toBeNull();
      expect(box?.width).toBeGreaterThan(280);
      expect(box?.height).toBeGreaterThan(100);
      // Accessible name and description come from <title> and <desc>.
      const label = await charts.nth(i).evaluate((el) => {
        const ids = (el.getAttribute('aria-labelledby') ?? '').split(' ');
        return ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' | ');
      });
      expect(label.length).toBeGreaterThan(40);
    }
    // Data tables are collapsed on screen; the print script opens them (proves the CSP lets it run).
    expect(await page.locator('details[open]').count()).toBe(0);
    await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
    expect(await page.locator('details[open]').count()).toBe(20);

    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'report.html'), renderReport(fixtureManifest()));
    await page.evaluate(() => {
      for (const d of document.querySelectorAll('details')) d.open = false;
    });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report-top.png') });

    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  });

  it('fits every chart on an A4 page in print', async () => {
    const page = await browser.newPage({ viewport: { width: 720, height: 1000 } });
    await page.emulateMedia({ media: 'print' });
    await page.goto(url, { waitUntil: 'load' });
    const boxes = await page.locator('svg[role="img"]').evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return { left: r.left, right: r.right, width: r.width, height: r.height };
      }),
    );
    expect(boxes).toHaveLength(20);
    const pageWidth = await page.evaluate(() => document.documentElement.clientWidth);
    for (const b of boxes) {
      expect(b.width).toBeGreaterThan(200);
      expect(b.height).toBeGreaterThan(50);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.right).toBeLessThanOrEqual(pageWidth);
    }
    expect(await page.locator('nav').isVisible()).toBe(false);
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
