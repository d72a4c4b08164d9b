// Screenshot a page of dist/ once its figures are drawn (every figure not lazily embedded is
// ready, or SELECTOR is on the page when one is given):
//   node tests/e2e/screenshot.mjs DIST PAGE OUT.png [SELECTOR]
// (Not a test: a reader's-eye check, and the README's picture.)
import { startServer } from './static-server.mjs';
import { launchBrowser } from './browser.mjs';

const [dist, pagePath, out, selector] = process.argv.slice(2);
if (!dist || !pagePath || !out) {
  console.error('usage: node tests/e2e/screenshot.mjs DIST PAGE OUT.png [SELECTOR]');
  process.exit(2);
}
const server = await startServer(dist);
const b = await launchBrowser();
try {
  const t0 = Date.now();
  await b.page.setViewportSize({ width: 1200, height: 900 });
  await b.page.goto(new URL(pagePath, server.url).href);
  if (selector) await b.page.waitForSelector(selector, { timeout: 600_000 });
  else {
    await b.page.waitForFunction(() => {
      const figures = [...document.querySelectorAll('[data-view]:not([loading="lazy"])')];
      return figures.length > 0 && figures.every((e) => e.dataset.state === 'ready');
    }, null, { timeout: 600_000, polling: 200 });
  }
  console.log(`ready after ${Date.now() - t0} ms`);
  await b.page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await b.close();
  await server.close();
}
