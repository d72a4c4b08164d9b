// "Your model" (www/notebooks/yours/) in headless Chromium: the three TL-made byo_ fixtures
// are opened from their .pt bytes as a reader would (the file input; byo_attn2_ln without its
// config, answering the inferred config's questions in the page), on the CPU and on WebGPU
// (SwiftShader), and every cached activation equals TransformerLens's (cache.safetensors,
// byo_old_ignore's -1e5 masked scores included) within 1e-4; the inferred configs recover the
// fixtures'; each bad weights file of tests/bad_inputs shows its message where it was dropped while the
// previous model stays loaded; every view is drawn and follows an input edit; a pick (the
// ablation kind) recomputes exactly the figures that list it; a hosted
// checkpoint opens by URL and its embed snippet carries it. Two page loads in all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, assertCleanRun, browserFor, serveSite } from './site.mjs';
import { snapshot, waitReady } from './figures.mjs';
import PAGE from '../../www/notebooks/yours/page.js';
import { computed, readingPicks, viewsFollowing } from '../../www/notebooks/declare.js';

const TOL = 1e-4;
const SETTLE_MS = 180_000;
const FIXTURES = path.join(ROOT, 'tests/fixtures');
const BAD = path.join(ROOT, 'tests/bad_inputs');
const VIEWS = PAGE.figures.map((f) => f.view);
const INDEX = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'index.json'), 'utf8'));
const fixtureConfig = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'config.json'), 'utf8'));
const notInferable = (name) => INDEX.fixtures.find((f) => f.name === name).not_inferable_from_weights;

let site;
before(async () => {
  site = await serveSite(['pkg/toylens.js', 'pkg/toylens_bg.wasm', 'notebooks/yours/index.html', 'fixtures/byo_old_ignore/weights.pt']);
});
after(() => site?.close());

const pageUrl = (query) => new URL(`notebooks/yours/${query}`, site.base).href;
const model = (page) => page.evaluate(() => document.documentElement.dataset.model ?? '');
const status = (page) => page.$eval('[data-ref="status"]', (e) => e.textContent);

/** Waits until a model other than `before` is loaded and every view is drawn. */
async function waitModel(page, before) {
  await page.waitForFunction((b) => (document.documentElement.dataset.model ?? '') !== b, before, { timeout: SETTLE_MS, polling: 100 });
  await waitReady(page, VIEWS, SETTLE_MS);
}

/**
 * Opens fixture `name`'s weights.pt through the file input, with its config.json or (none)
 * answering each question of the inferred config with the fixture's value. Returns the load ms.
 */
async function openFixture(page, name, { withConfig }) {
  const before = await model(page);
  const t0 = Date.now();
  const files = [path.join(FIXTURES, name, 'weights.pt'), ...(withConfig ? [path.join(FIXTURES, name, 'config.json')] : [])];
  await page.locator('[data-ref="file"]').setInputFiles(files);
  if (!withConfig) {
    await page.waitForSelector('[data-ref="inferred"]:not([hidden]) [data-field]', { timeout: SETTLE_MS });
    assert.equal(await model(page), before, 'nothing is loaded before the reader confirms the inferred config');
    const want = fixtureConfig(name);
    for (const c of await page.locator('[data-ref="assumed"] [data-field]').all()) {
      const field = await c.getAttribute('data-field');
      if (await c.evaluate((e) => e.localName === 'select' && !e.disabled)) await c.selectOption(JSON.stringify(want[field]));
      else if (await c.evaluate((e) => e.localName === 'input')) await c.fill(String(want[field]));
    }
    await page.locator('[data-ref="load"]').click();
  }
  await waitModel(page, before);
  const loadMs = await page.evaluate(() => Number(document.documentElement.dataset.loadMs));
  return { loadMs, drawnMs: Date.now() - t0 };
}

/** The page's cache of the fixture's tokens vs TransformerLens's: {worst, name, missing, extra, backend}. */
function compareCache(page, name) {
  return page.evaluate(async (fixture) => {
    const nb = window.__notebook;
    const bytes = await nb.client.call('fetch', { url: new URL(`../../fixtures/${fixture}/cache.safetensors`, location.href).href });
    const expected = await nb.client.call('read_safetensors', { bytes }, [bytes]);
    const tokens = expected.tokens;
    delete expected.tokens;
    const out = await nb.cache({ shape: tokens.shape, values: tokens.values });
    // The worker's ranking: a NaN or a shape error is the worst difference, whatever follows it.
    const cmp = await nb.client.call('compare', { actual: { ...out.cache, logits: out.logits }, expected });
    const worst = cmp.worst?.error ? Infinity : (cmp.worst?.maxAbsDiff ?? 0);
    return { worst, at: cmp.worst?.name ?? null, n: Object.keys(cmp.diffs).length, missing: cmp.missing, extra: cmp.extra, backend: nb.cacheBackend };
  }, name);
}

/** From now on, window.__wentLoading collects the views whose data-state is set to 'loading'. */
function watchLoading(page) {
  return page.evaluate(() => {
    window.__wentLoading = new Set();
    // The state a record leaves is 'loading' when the figure was computing (a redraw of a figure
    // at rest, e.g. on a resize, leaves 'ready').
    const obs = new MutationObserver((ms) => {
      for (const m of ms) if (m.oldValue === 'loading' || m.target.dataset.state === 'loading') window.__wentLoading.add(m.target.dataset.view);
    });
    for (const e of document.querySelectorAll('[data-view]')) obs.observe(e, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
  });
}

async function checkFixture(page, name, backend, opts) {
  const ms = await openFixture(page, name, opts);
  const r = await compareCache(page, name);
  const how = opts.withConfig ? 'with its config' : 'config inferred, answers clicked';
  console.log(`# ${name} (${how}), ${backend}: engine load ${ms.loadMs.toFixed(0)} ms, every view drawn ${ms.drawnMs} ms after the file was given; ${r.n} tensors, max |diff| ${r.worst.toExponential(2)} (${r.at})`);
  assert.equal(r.backend, backend, 'the cache was computed on the asked backend');
  assert.deepEqual([r.missing, r.extra], [[], []], 'the same hooks as TransformerLens (the config answers decide which exist)');
  assert.ok(r.worst <= TOL, `${name} on ${backend}: ${r.at} differs by ${r.worst}`);
}

test('CPU: the three fixtures from .pt bytes match TL, configs are inferred, bad files are refused, every view follows the input', { timeout: 900_000 }, async (t) => {
  const { page, log } = await browserFor(t);
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(pageUrl('?backend=cpu'));
  await waitModel(page, '');
  assert.match(await status(page), /built-in example/);

  // byo_attn2_ln without its config: the page asks, the fixture's answers give TL's hooks.
  await checkFixture(page, 'byo_attn2_ln', 'cpu', { withConfig: false });
  const inferred = await page.evaluate(() => window.__notebook.current.inferred);
  const askedFor = inferred.assumed.map((a) => a.field);
  // Also the other two, straight from the engine the page uses.
  const others = await page.evaluate(async (names) => {
    const nb = window.__notebook;
    const out = {};
    for (const n of names) {
      const bytes = await nb.client.call('fetch', { url: new URL(`../../fixtures/${n}/weights.pt`, location.href).href });
      out[n] = await nb.client.call('infer_config', { bytes }, [bytes]);
    }
    return out;
  }, ['byo_vocab_out', 'byo_old_ignore']);
  for (const [name, got] of [['byo_attn2_ln', inferred], ...Object.entries(others)]) {
    const want = fixtureConfig(name);
    const unknowable = Object.keys(notInferable(name));
    // The training seed is no property of the weights either (index.json does not list it).
    const compared = Object.keys(want).filter((k) => !unknowable.includes(k) && k !== 'seed');
    for (const k of compared) assert.deepEqual(got.config[k], want[k], `${name}: inferred ${k}`);
    const flagged = got.assumed.map((a) => a.field);
    for (const k of unknowable) if (k in got.config && got.config[k] !== want[k]) assert.ok(flagged.includes(k), `${name}: ${k} is wrong and not asked`);
  }
  assert.ok(['use_attn_result', 'use_split_qkv_input', 'use_hook_tokens'].every((f) => askedFor.includes(f)), `asked: ${askedFor}`);

  await checkFixture(page, 'byo_vocab_out', 'cpu', { withConfig: true });
  await checkFixture(page, 'byo_old_ignore', 'cpu', { withConfig: true });

  // The views follow the input: an edit redraws those of the input, not those of the weights.
  const input = viewsFollowing(PAGE, 'input');
  const weights = viewsFollowing(PAGE, 'timeline').filter((v) => v !== 'yours/config');
  const before = await snapshot(page, VIEWS);
  await page.locator('[data-view="yours/input"] input').fill('3 1 4 1 5');
  await page.waitForFunction((vs) => vs.every((v) => document.querySelector(`[data-view="${v}"]`).dataset.state === 'loading'), input, { timeout: 10_000, polling: 20 }).catch(() => {});
  await waitReady(page, VIEWS, SETTLE_MS);
  const edited = await snapshot(page, VIEWS);
  for (const v of input) assert.notEqual(edited[v], before[v], `${v} follows the input`);
  for (const v of weights) assert.equal(edited[v], before[v], `${v} reads the weights only`);
  assert.match(page.url(), /tokens=3,1,4,1,5/, 'the input is in the link');

  // Picks: a neuron mean-ablated (byo_old_ignore has an MLP), the masked scores in the cache browser.
  await page.locator('[data-ref="layer"]').selectOption('1');
  await page.locator('[data-ref="neurons"]').fill('0,5');
  await page.locator('[data-ref="neurons"]').dispatchEvent('change');
  // A pick recomputes exactly the figures that list it (page.js); the others keep what they drew.
  await waitReady(page, VIEWS, SETTLE_MS);
  const drawn = await snapshot(page, VIEWS);
  await watchLoading(page);
  await page.locator('[data-ref="ablation"]').selectOption('mean');
  await waitReady(page, VIEWS, SETTLE_MS);
  const recomputed = await page.evaluate(() => [...window.__wentLoading].sort());
  const reading = readingPicks(PAGE, ['ablation']).map((f) => f.view).sort();
  assert.ok(reading.length && reading.length < computed(PAGE).length, `the ablation kind is read by some figures, not all: ${reading}`);
  assert.deepEqual(recomputed, reading, 'the figures an ablation-kind change recomputes');
  const ablated = await snapshot(page, VIEWS);
  for (const v of VIEWS) if (!reading.includes(v)) assert.equal(ablated[v], drawn[v], `${v} does not read the ablation kind`);
  await page.locator('[data-ref="hook"]').selectOption('blocks.1.attn.hook_attn_scores');
  await waitReady(page, VIEWS, SETTLE_MS);
  const shown = await page.evaluate(() => ({
    ablation: document.querySelector('[data-view="yours/ablation"]').data.title,
    cache: document.querySelector('[data-view="yours/cache"]').data,
  }));
  assert.match(shown.ablation, /^L1 neurons 0, 5 mean-ablated/);
  assert.match(shown.cache.title, /^blocks\.1\.attn\.hook_attn_scores \[1, 2, 5, 5\] at batch 0, head 0$/);
  assert.equal(shown.cache.values.values[1], -1e5, 'query 0, key 1: the older checkpoint’s IGNORE value, as TL shows it');
  assert.match(page.url(), /layer=1.*neurons=0,5.*ablation=mean.*hook=blocks\.1\.attn\.hook_attn_scores/);

  // Bad files: their message where they were dropped; the model and its figures stay.
  const loaded = await model(page);
  // Every bad weights file read alone (the rows checked against a fixture's config need one).
  const manifest = JSON.parse(fs.readFileSync(path.join(BAD, 'manifest.json'), 'utf8')).filter((e) => ['pt', 'safetensors'].includes(e.kind) && !e.good && !e.against);
  const unsaid = [];
  for (const e of manifest) {
    await page.locator('[data-ref="file"]').setInputFiles(path.join(BAD, e.file));
    const expect = e.expect.toLowerCase();
    // Reading a file is quick; the status says "reading" until the engine answers.
    await page.waitForFunction(() => !/^reading /.test(document.querySelector('[data-ref="status"]').textContent), null, { timeout: 30_000, polling: 50 });
    const said = await status(page);
    const right = said.toLowerCase().includes(expect);
    // The CLI's words (crate/tests/checkpoints.rs checks the same fragments), in the status.
    if (!right) unsaid.push(`${e.file}: expected "${e.expect}", the page says: ${said}`);
    assert.equal(await model(page), loaded, `${e.file}: the previous model stays loaded`);
  }
  assert.deepEqual(unsaid, [], 'each bad file’s message in the page');
  await waitReady(page, VIEWS, 10_000);
  assert.match(await page.evaluate(() => window.__notebook.current.label), /weights\.pt/);
  console.log(`# ${manifest.length} bad .pt and .safetensors files refused in the CLI's words; the model stayed`);
  assertCleanRun(log, site.origin);
});

test('WebGPU: a hosted checkpoint by URL, the others from their .pt bytes, match TL; its embed carries the URLs', { timeout: 900_000 }, async (t) => {
  const { page, log } = await browserFor(t);
  await page.setViewportSize({ width: 1200, height: 900 });
  const weights = '../../fixtures/byo_old_ignore/weights.pt';
  const config = '../../fixtures/byo_old_ignore/config.json';
  await page.goto(pageUrl(`?backend=webgpu&weights=${weights}&config=${config}`));
  await waitModel(page, '');
  const r = await compareCache(page, 'byo_old_ignore');
  console.log(`# byo_old_ignore by URL, webgpu: max |diff| ${r.worst.toExponential(2)} (${r.at})`);
  assert.equal(r.backend, 'webgpu');
  assert.deepEqual([r.missing, r.extra], [[], []]);
  assert.ok(r.worst <= TOL, `${r.at} differs by ${r.worst}`);
  const embed = await page.$eval('[data-view="yours/attention"]', (e) => e.embedSnippet());
  assert.match(embed.text, /<toylens-view view="yours\/attention" weights="\.\.\/\.\.\/fixtures\/byo_old_ignore\/weights\.pt" config="\.\.\/\.\.\/fixtures\/byo_old_ignore\/config\.json" tokens="[\d,]+">/);
  assert.match(page.url(), /weights=.*config=/, 'the link keeps the hosted checkpoint');

  await checkFixture(page, 'byo_attn2_ln', 'webgpu', { withConfig: false });
  await checkFixture(page, 'byo_vocab_out', 'webgpu', { withConfig: true });
  // A dropped file cannot be linked: the link and the embed no longer name the hosted one.
  assert.doesNotMatch(page.url(), /weights=/);
  assert.match((await page.$eval('[data-view="yours/attention"]', (e) => e.embedSnippet())).note, /file from your computer/);
  assertCleanRun(log, site.origin);
});
