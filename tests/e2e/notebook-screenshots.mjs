// Full-page screenshots of the notebook pages once every figure is drawn (CPU, pretrained
// model): docs/<task>.png for every declared page (docs/cumsum.png, docs/min.png).
//   node tests/e2e/notebook-screenshots.mjs [DIST] [OUT_DIR]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';
import { launchBrowser } from './browser.mjs';
import { TASK_PAGES as PAGES } from '../../www/notebooks/pages.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [dist = path.join(ROOT, 'dist'), outDir = path.join(ROOT, 'docs')] = process.argv.slice(2);

const server = await startServer(dist);
const b = await launchBrowser();
try {
  await b.page.setViewportSize({ width: 1200, height: 900 });
  for (const { task } of PAGES) {
    const t0 = Date.now();
    await b.page.goto(new URL(`notebooks/${task}/?backend=cpu`, server.url).href);
    await b.page.waitForFunction(() => {
      const views = [...document.querySelectorAll('[data-view]')];
      return document.documentElement.dataset.model && views.length && views.every((e) => e.dataset.state === 'ready');
    }, null, { timeout: 600_000, polling: 200 });
    // Off screen a figure is not painted (content-visibility: auto, widgets/style.js): a full-page
    // screenshot would show their boxes blank. Each is made visible through its own style
    // (CSSOM, which the pages' Content-Security-Policy allows), then two frames lay them out.
    await b.page.evaluate(async () => {
      for (const e of document.querySelectorAll('[data-view]')) e.style.contentVisibility = 'visible';
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    });
    const out = path.join(outDir, `${task}.png`);
    await b.page.screenshot({ path: out, fullPage: true });
    console.log(`${task}: every figure ready after ${Date.now() - t0} ms; wrote ${out}`);
  }
} finally {
  await b.close();
  await server.close();
}
