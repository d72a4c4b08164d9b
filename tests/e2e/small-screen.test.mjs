// Every page on a 390 px phone (a touch screen, as Chromium emulates one), in one browser:
// once its figures are drawn the page does not scroll sideways (wide tables, code and
// heatmaps scroll or shrink inside their own box), and every control (input, button, select)
// lies within the screen's width or inside such a box. On the cumsum page a tap on a heatmap
// cell shows that cell's tooltip (touch has no hover) and a tap elsewhere hides it again.
// Run: node --test tests/e2e/small-screen.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';
import { ROOT, assertCleanRun, serveSite } from './site.mjs';
import { waitReady } from './figures.mjs';
import PAGES from '../../www/notebooks/pages.js';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const READY_MS = 120_000;
const SITE_PAGES = [
  'index.html',
  ...PAGES.map((p) => `notebooks/${p.task}/`),
  ...fs.readdirSync(path.join(ROOT, 'www/docs')).filter((f) => f.endsWith('.html')).sort().map((f) => `docs/${f}`),
  'embed-demo.html',
  'kit/',
];

let site;
let browser;

before(async () => {
  site = await serveSite();
  browser = await launchBrowser({ contextOptions: PHONE });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

/** Opens a page on the CPU engine and waits for its figures (a lazy embed draws only when scrolled to). */
async function open(url) {
  const { page } = browser;
  await page.goto(new URL(`${url}?backend=cpu`, site.base).href);
  const views = await page.$$eval('[data-view]:not([loading="lazy"])', (els) => els.map((e) => e.dataset.view));
  await waitReady(page, views, READY_MS);
  return page;
}

/** The page's width, and what sticks out past the screen's right edge outside any scroll box. */
function overflow(page) {
  return page.evaluate(() => {
    const W = document.documentElement.clientWidth;
    const inScrollBox = (e) => {
      for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return true;
      return false;
    };
    const name = (e) => `<${e.localName}${e.dataset.view ? ` data-view=${e.dataset.view}` : ''}${e.className && typeof e.className === 'string' ? ` class=${e.className}` : ''}>`;
    const wide = [...document.body.querySelectorAll('*')]
      .filter((e) => e.getBoundingClientRect().right > W + 0.5 && !inScrollBox(e))
      .slice(0, 8)
      .map((e) => `${name(e)} to ${Math.round(e.getBoundingClientRect().right)} px`);
    const controls = [...document.querySelectorAll('input, button, select, textarea')]
      .map((e) => ({ e, b: e.getBoundingClientRect() }))
      // A control in a box that scrolls sideways (a wide grid) is reached by scrolling that box.
      .filter(({ e, b }) => b.width > 0 && (b.left < -0.5 || b.right > W + 0.5) && !inScrollBox(e))
      .map(({ e, b }) => `${name(e)} ${e.textContent.trim().slice(0, 30)} at ${Math.round(b.left)}…${Math.round(b.right)} px`);
    return { width: W, scrollWidth: document.documentElement.scrollWidth, wide, controls };
  });
}

for (const url of SITE_PAGES) {
  test(`${url} at 390 px: no sideways scroll, every control on screen`, async () => {
    const page = await open(url);
    const o = await overflow(page);
    assert.equal(o.width, 390);
    assert.ok(o.scrollWidth <= o.width, `${url} is ${o.scrollWidth} px wide at 390: ${o.wide.join(', ')}`);
    assert.deepEqual(o.controls, [], `${url}: controls past the screen's edge`);
  });
}

test('a tap on a heatmap cell shows its tooltip; a tap elsewhere hides it', async () => {
  const page = await open('notebooks/cumsum/');
  const fig = page.locator('[data-view="cumsum/probs"]');
  const tip = fig.locator('[data-ref="tooltip"]');
  const [header, first] = await fig.evaluate((el) => el.rows().slice(0, 2));
  await fig.locator('canvas.tl-raster').first().tap({ position: { x: 2, y: 2 } });
  await tip.waitFor({ state: 'visible', timeout: 5_000 });
  const text = await tip.innerText();
  const lines = text.split('\n').map((l) => l.trim());
  assert.ok(lines.some((l) => l.endsWith(`: ${first[0]}`)), `the tooltip names the first row (${first[0]}): ${text}`);
  assert.ok(lines.some((l) => l.endsWith(`: ${header[1]}`)), `the tooltip names the first column (${header[1]}): ${text}`);
  assert.ok((await overflow(page)).scrollWidth <= 390, 'the shown tooltip does not widen the page');
  await page.locator('#probs h2').tap();
  await tip.waitFor({ state: 'hidden', timeout: 5_000 });
});

test('no console error, page error or request off the origin on any page', () => {
  assertCleanRun(browser.log, site.origin);
});
