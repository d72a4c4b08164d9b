// Permalinks and export (issue 14), on the majority page (it has a checkpoint, an input and
// two picks): a page's state round-trips through its URL, a malformed link parameter is
// ignored with a message by its control while the page still draws; a figure saves as a
// valid PNG (2x its size), SVG, CSV (its data's numbers) and JSON, and copies an embed
// snippet of its state; the training panel's downloaded weights and config reload in the
// engine with identical logits, and a link to the reader's run restores it. Four page loads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launchBrowser } from './browser.mjs';
import { assertCleanRun, serveSite } from './site.mjs';
import { snapshot, waitReady } from './figures.mjs';
import PAGE from '../../www/notebooks/majority/page.js';
import { computed } from '../../www/notebooks/declare.js';

const TASK = PAGE.task;
const VIEWS = computed(PAGE).filter((f) => !f.by).map((f) => f.view);
const SETTLE_MS = 180_000;

let site;
let b;
before(async () => {
  site = await serveSite(['pkg/toylens_bg.wasm', `notebooks/${TASK}/index.html`, 'models/index.json']);
  b = await launchBrowser();
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.origin });
});
after(async () => {
  await b?.close();
  await site?.close();
});

/** Opens `query` on the page in a new tab; resolves once every figure has followed the model. */
async function open(query) {
  const page = await b.context.newPage();
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(new URL(`notebooks/${TASK}/${query}`, site.base).href);
  await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: SETTLE_MS });
  await waitReady(page, VIEWS, SETTLE_MS);
  return page;
}

/**
 * The figures once they have settled: two snapshots in a row, 300 ms apart, that agree (a
 * restored pick may recompute a figure just after the page first reports ready).
 */
async function settled(page) {
  let last = await snapshot(page, VIEWS);
  for (let i = 0; i < 50; i++) {
    await page.waitForTimeout(300);
    await waitReady(page, VIEWS, SETTLE_MS);
    const now = await snapshot(page, VIEWS);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

/** The controls' state: timeline, token editor, neuron box and value select. */
function controls(page) {
  return page.evaluate(() => ({
    source: document.querySelector('tl-timeline').dataset.source,
    step: document.querySelector('tl-timeline').dataset.step,
    tokens: document.querySelector('[data-view="majority/input"]').tokens.join(','),
    neurons: document.querySelector('[data-ref="neurons"]').value,
    value: document.querySelector('[data-ref="value"]').value,
  }));
}

/** Clicks save button `what` of figure `view` and returns the downloaded file's bytes. */
async function save(page, view, what) {
  const fig = page.locator(`[data-view="${view}"]`);
  await fig.hover();
  const [download] = await Promise.all([page.waitForEvent('download'), fig.locator(`[data-ref="save-${what}"]`).click()]);
  return fs.readFileSync(await download.path());
}

/** RFC 4180 CSV (quoted cells may hold commas, quotes and newlines). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') cell += text[++i];
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

describe('permalinks and export (majority page)', { timeout: 900_000 }, () => {
  let shared; // the page opened from the permalink

  test('a permalink restores the checkpoint, the input and the picks', async () => {
    const page = await open('?backend=cpu');
    const steps = await page.$eval('tl-timeline', (t) => t.sources.pretrained);
    const step = steps[Math.floor(steps.length / 2)];
    await page.$eval('tl-timeline [data-ref="range"]', (r, i) => {
      r.value = String(i);
      r.dispatchEvent(new Event('change'));
    }, steps.indexOf(step));
    await page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${step}`, { timeout: SETTLE_MS });
    await page.locator(`[data-view="${TASK}/input"] input.tl-token-text`).fill(PAGE.test.edit);
    await page.locator('[data-ref="neurons"]').fill('3, 7');
    await page.locator('[data-ref="neurons"]').dispatchEvent('change');
    await page.selectOption('[data-ref="value"]', '4');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('value') === '4');
    await waitReady(page, VIEWS, SETTLE_MS);
    const url = page.url();
    const params = new URL(url).searchParams;
    const edited = PAGE.test.edit.split(' ').join(',');
    assert.deepEqual([params.get('checkpoint'), params.get('tokens'), params.get('neurons'), params.get('value')], [String(step), edited, '3,7', '4']);
    const want = await settled(page);
    const wantControls = await controls(page);
    await page.close();

    shared = await open(new URL(url).search);
    assert.deepEqual(await controls(shared), wantControls);
    assert.deepEqual(wantControls, { source: 'pretrained', step: String(step), tokens: edited, neurons: '3, 7', value: '4' });
    const got = await settled(shared);
    const differ = VIEWS.filter((v) => got[v] !== want[v]);
    assert.deepEqual(differ, [], 'figures that differ after reloading the permalink');
    assert.equal(await shared.locator('.nb-param-note').count(), 0, 'no link parameter was refused');
  });

  test('a figure saves as PNG, SVG, CSV and JSON, and copies its embed snippet', async () => {
    const page = shared;
    const view = `${TASK}/neuron-acts`; // a heatmap: a canvas of cells, d3 axes, an HTML title
    const fig = page.locator(`[data-view="${view}"]`);
    const data = JSON.parse((await snapshot(page, [view]))[view]);
    // On screen, as when a reader opens its menu: off screen a figure is not laid out and its
    // box is the height it last had (style.js, content-visibility).
    await fig.scrollIntoViewIfNeeded();
    // A figure scrolled into view is laid out at the next rendering update: measured after two
    // frames (once, on a loaded machine, the box still had its off-screen height, half the PNG's).
    const box = await fig.evaluate(async (e) => {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return e.getBoundingClientRect().toJSON();
    });

    const png = await save(page, view, 'png');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [Math.ceil(box.width) * 2, Math.ceil(box.height) * 2], 'PNG size: the figure at 2x');
    assert.ok(png.length > 5000, `PNG of ${png.length} bytes`);

    const svg = (await save(page, view, 'svg')).toString('utf8');
    // Parsed in a blank tab: in the site's page, its Content-Security-Policy would refuse the
    // SVG's own <style> as the parser inserts it (the file itself is not under that policy).
    const blank = await b.context.newPage();
    const parsed = await blank.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      return { error: doc.querySelector('parsererror')?.textContent ?? '', root: doc.documentElement.localName, images: doc.querySelectorAll('image').length, ticks: doc.querySelectorAll('.tick, g text').length, styled: doc.querySelectorAll('[class]').length };
    }, svg);
    await blank.close();
    assert.deepEqual({ error: parsed.error, root: parsed.root }, { error: '', root: 'svg' });
    assert.ok(parsed.images >= 1 && parsed.ticks > 0 && parsed.styled > 0, `the cells as an image, the axes as SVG, styled by classes: ${JSON.stringify(parsed)}`);
    assert.match(svg, /^<svg[^>]*><style>\.s0\{/, 'the styles in the SVG\'s own stylesheet');
    assert.doesNotMatch(svg, / style="/, 'no style attributes');

    const csv = parseCsv((await save(page, view, 'csv')).toString('utf8'));
    const [rows, cols] = data.values.shape;
    assert.equal(csv.length, rows + 1, 'a header and a row per matrix row');
    const indices = (n) => Array.from({ length: n }, (_, i) => String(i)); // a heatmap's default labels
    assert.deepEqual(csv[0].slice(1), data.colLabels ?? indices(cols));
    assert.deepEqual(csv.slice(1).map((r) => r[0]), data.rowLabels ?? indices(rows));
    const numbers = csv.slice(1).flatMap((r) => r.slice(1).map(Number));
    assert.equal(numbers.length, rows * cols);
    assert.deepEqual(numbers, data.values.values, 'the CSV numbers are the figure data');

    const json = JSON.parse((await save(page, view, 'json')).toString('utf8'));
    assert.deepEqual(json, data);

    // Embed: the snippet's attributes are the state this figure reads (model, input, picks).
    const lines = shared.locator(`[data-view="${TASK}/neuron-lines"]`);
    await lines.hover();
    await lines.locator('[data-ref="save-embed"]').click();
    await shared.waitForFunction((v) => document.querySelector(`[data-view="${v}"] .tl-tools-out`)?.textContent.startsWith('copied'), `${TASK}/neuron-lines`);
    const snippet = await shared.evaluate(() => navigator.clipboard.readText());
    assert.match(snippet, /^<script src="[^"]+\/embed\.js" defer><\/script>\n<toylens-view [^>]*><\/toylens-view>$/);
    const attrs = Object.fromEntries([...snippet.split('\n')[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const params = new URL(shared.url()).searchParams;
    assert.deepEqual(attrs, { view: `${TASK}/neuron-lines`, checkpoint: params.get('checkpoint'), tokens: params.get('tokens'), neurons: '3,7', value: '4' });
    assert.equal(new URL(snippet.match(/src="([^"]+)"/)[1]).href, new URL('embed.js', site.base).href);
    await shared.close();
  });

  test('malformed link parameters are ignored with a message; the page still draws', async () => {
    // run=999: a run this browser does not have (none yet): the pretrained model, with a note.
    const page = await open('?backend=cpu&checkpoint=7777&run=999&tokens=1,2,x&neurons=300&value=twelve');
    const final = await page.$eval('tl-timeline', (t) => t.sources.pretrained.at(-1));
    assert.equal(await page.evaluate(() => document.documentElement.dataset.model), `pretrained:${final}`);
    const notes = await page.$$eval('.nb-param-note', (ns) => ns.map((n) => ({ key: n.dataset.param, text: n.textContent, shown: n.checkVisibility() })));
    assert.deepEqual(notes.map((n) => n.key).sort(), ['checkpoint', 'neurons', 'run', 'tokens', 'value']);
    for (const n of notes) assert.ok(n.shown && /was ignored|does not have/.test(n.text), JSON.stringify(n));
    assert.match(notes.find((n) => n.key === 'checkpoint').text, /7777 is not in the pretrained timeline/);
    assert.match(notes.find((n) => n.key === 'neurons').text, /300 is not a neuron/);
    // The note sits by its control: the neuron box's row, the timeline's bar.
    assert.equal(await page.$eval('[data-ref="neurons"]', (e) => e.closest('.nb-inputs').nextElementSibling.dataset.param), 'neurons');
    assert.deepEqual(await controls(page), { source: 'pretrained', step: String(final), tokens: PAGE.example.join(','), neurons: PAGE.picks.neurons.join(', '), value: 'auto' });
    // The page rewrote its URL to the state it shows.
    const params = new URL(page.url()).searchParams;
    assert.deepEqual([params.get('checkpoint'), params.get('neurons'), params.get('value')], [String(final), PAGE.picks.neurons.join(','), 'auto']);
    shared = page;
  });

  test('downloaded weights and config reload in the engine with identical logits', async () => {
    const page = shared;
    const panel = page.locator('tl-train-panel');
    await panel.locator('[data-ref="steps"]').fill('2');
    await panel.locator('[data-ref="batch"]').fill('8');
    await panel.locator('[data-ref="start"]').click();
    await page.waitForSelector('tl-train-panel[data-status="done"]', { timeout: 300_000 });
    const download = async (ref) => {
      const [d] = await Promise.all([page.waitForEvent('download'), panel.locator(`[data-ref="${ref}"]`).click()]);
      return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
    };
    const weights = await download('export');
    const config = await download('export-config');
    assert.deepEqual([weights.name, config.name], [`${TASK}-step2.safetensors`, `${TASK}-step2.config.json`]);
    const header = JSON.parse(weights.bytes.subarray(8, 8 + Number(weights.bytes.readBigUInt64LE(0))).toString('utf8'));
    assert.ok('blocks.0.attn.W_Q' in header && 'unembed.W_U' in header, `TransformerLens names: ${Object.keys(header).slice(0, 5)}`);
    const cfg = JSON.parse(config.bytes.toString('utf8'));
    assert.equal(cfg.n_layers, 1);
    const tokens = PAGE.example;
    const logits = await page.evaluate(async ({ weights, cfg, tokens }) => {
      const nb = window.__notebook;
      // The run the files came from, in the page's CPU engine; then the files themselves.
      await nb.select({ source: 'run', step: nb.session.step });
      const from = await nb.client.call('forward', { backend: 'cpu', tokens: [tokens] });
      await nb.client.call('load', { backend: 'cpu', config: cfg, weights: Uint8Array.from(weights).buffer });
      const back = await nb.client.call('forward', { backend: 'cpu', tokens: [tokens] });
      return { from: Array.from(from.values), back: Array.from(back.values), shape: back.shape };
    }, { weights: [...weights.bytes], cfg, tokens });
    assert.deepEqual(logits.shape, [1, tokens.length, cfg.d_vocab_out]);
    assert.deepEqual(logits.back, logits.from, 'logits of the reloaded files');

    // The run is in the URL, and a link to one of its checkpoints restores it in this browser
    // (the run is kept in IndexedDB); step 0, not the page's default (the run's last step).
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('run'), '2');
    await page.close();
    url.searchParams.set('run', '0');
    const again = await open(url.search);
    assert.equal(await again.evaluate(() => document.documentElement.dataset.model), 'run:0');
    assert.deepEqual(await again.$eval('tl-timeline', (t) => [t.dataset.source, t.dataset.step]), ['run', '0']);
    assert.equal(await again.locator('.nb-param-note').count(), 0);
    assertCleanRun(b.log, site.origin);
  });
});
