// Embedding by view name (www/embed.js): a host page with two <toylens-view> elements gets
// each live figure in a frame of its notebook page, sized to the figure, with its state.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanRun, browserFor, serveSite } from './site.mjs';

let site;
before(async () => {
  site = await serveSite(['embed.js', 'embed-demo.html', 'notebooks/min/index.html']);
});
after(() => site?.close());

test('two embedded views draw, sized to their figures, showing nothing else', { timeout: 240_000 }, async (t) => {
  const { page, log } = await browserFor(t);
  await page.goto(new URL('embed-demo.html?', site.base).href);
  await page.waitForFunction(() => [...document.querySelectorAll('toylens-view')].every((e) => e.dataset.state === 'ready'), null, { timeout: 200_000 });
  const views = await page.evaluate(() => [...document.querySelectorAll('toylens-view')].map((e) => ({ view: e.dataset.view, height: e.querySelector('iframe').getBoundingClientRect().height })));
  assert.deepEqual(views.map((v) => v.view), ['min/full-ov', 'cumsum/probs']);
  for (const v of views) assert.ok(v.height > 150, `${v.view}: frame ${v.height} px`);
  // Inside a frame: the figure is shown, the rest of the notebook is not.
  const frame = page.frames().find((f) => f.url().includes('view=min%2Ffull-ov') || f.url().includes('view=min/full-ov'));
  assert.ok(frame, 'the min frame');
  assert.equal(await frame.locator('[data-view="min/full-ov"]').isVisible(), true);
  assert.equal(await frame.locator('tl-train-panel').isVisible(), false);
  assert.equal(await frame.locator('[data-view="min/full-qk"]').isVisible(), false);
  assertCleanRun(log, site.origin);
});
