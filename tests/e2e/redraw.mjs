// Redraw times of the widget kit on widgets/test.html: for each case the page lists
// (window.__widgets.bench), ROUNDS redraws with changed data, recording each figure's own
// lastRenderMs (the synchronous draw) and the wall time from setting the data to the next
// animation frame. Measures only; it asserts nothing about timings.
//   node tests/e2e/redraw.mjs DIST   (prints JSON)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';
import { launchBrowser } from './browser.mjs';

export const ROUNDS = 30;

/** Runs every bench case on `page` (already on widgets/test.html); returns one row a case. */
export async function measureRedraws(page, rounds = ROUNDS) {
  await page.waitForFunction(() => window.__widgets?.mounted, null, { timeout: 30_000 });
  return page.evaluate(async (rounds) => {
    const nextFrame = () => new Promise((r) => requestAnimationFrame(r));
    const stats = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      const mid = s.length >> 1;
      const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
      return { median: round(median), max: round(s[s.length - 1]) };
    };
    const round = (v) => Math.round(v * 1000) / 1000;
    const rows = [];
    for (const c of window.__widgets.bench) {
      const el = document.getElementById(c.id);
      el.scrollIntoView({ block: 'center' });
      c.apply(el, c.make(0)); // warm-up: first-use costs (shapes, canvases) stay out
      await nextFrame();
      const render = [];
      const wall = [];
      for (let i = 1; i <= rounds; i++) {
        const data = c.make(i);
        const t0 = performance.now();
        c.apply(el, data);
        await nextFrame();
        wall.push(performance.now() - t0);
        render.push(el.lastRenderMs);
      }
      rows.push({ name: c.name, rounds, state: el.dataset.state, renderMs: stats(render), toNextFrameMs: stats(wall) });
    }
    return rows;
  }, rounds);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = process.argv[2];
  if (!dist) {
    console.error('usage: node tests/e2e/redraw.mjs DIST');
    process.exit(2);
  }
  const server = await startServer(dist);
  const b = await launchBrowser();
  try {
    await b.page.setViewportSize({ width: 1200, height: 900 });
    await b.page.goto(new URL('widgets/test.html', server.url).href);
    const rows = await measureRedraws(b.page);
    console.log(JSON.stringify({ viewport: '1200x900', rounds: ROUNDS, widgets: rows }, null, 2));
  } finally {
    await b.close();
    await server.close();
  }
}
