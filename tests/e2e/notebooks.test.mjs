// Browser tests of the two notebook pages (www/notebooks/cumsum, www/notebooks/min) on the
// built site ($TOYLENS_DIST or dist/), served under a sub-path: every figure reaches `ready`
// with no console error and no request off the origin; editing the input redraws the figures
// that read it and only those; a short training run in the page draws curves and adds
// timeline entries; scrubbing the timeline redraws the figures; the numbers the page prints
// equal what the native CLI prints for the same checkpoint. Prints the time to the first
// figure on a cold load.
// Run: node --test tests/e2e/notebooks.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';
import { CLI, DIST, assertCleanRun as assertClean, serveSite } from './site.mjs';
import { snapshot, waitReady as waitFor } from './figures.mjs';
import { TASK_PAGES as DECLARED } from '../../www/notebooks/pages.js'; // "Your model" has its own test (yours.test.mjs)
import { viewsFollowing } from '../../www/notebooks/declare.js';
import { checked } from '../../www/notebooks/claims.js';

const TOL = 1e-5;
const SETTLE_MS = 240_000; // every figure of a page recomputed (min's 201×200 maps are the slow part)

// Each page's views, from its declaration (www/notebooks/<task>/page.js): `input` follow the
// editor (and the timeline), `weights` follow the timeline only; with the page's test data
// (an edit for the editor, a printed number and how the CLI computes it).
const PAGES = Object.fromEntries(DECLARED.map((p) => [p.task, {
  input: viewsFollowing(p, 'input'),
  weights: viewsFollowing(p, 'timeline'),
  static: viewsFollowing(p, undefined),
  checked: checked(p).map((f) => ({ view: f.view, follows: f.follows })),
  notebook: p.figures.filter((f) => f.notebook).map((f) => [f.view, f.notebook]),
  // Figures of the timeline that read only the training curves (no engine).
  curves: p.figures.filter((f) => f.follows === 'timeline' && f.reads && Object.values(f.reads).every((r) => r.op === 'curves')).map((f) => f.view),
  ...p.test,
}]));

let site;
let base;
let origin;
let models;

before(async () => {
  for (const f of [...DECLARED.map((p) => `notebooks/${p.task}/index.html`), 'notebooks/notebook.js', 'models/index.json', 'pkg/toylens_cpu_bg.wasm', 'pkg/toylens_bg.wasm']) {
    assert.ok(fs.existsSync(path.join(DIST, f)), `${path.join(DIST, f)} is missing: build the site first (./build.sh build)`);
  }
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: build the CLI first (cargo build --release)`);
  models = JSON.parse(fs.readFileSync(path.join(DIST, 'models/index.json'), 'utf8'));
  site = await serveSite();
  base = site.base;
  origin = site.origin;
});

after(() => site?.close());

const assertCleanRun = (log) => assertClean(log, origin);

/** What the native CLI prints for `task` on a pretrained checkpoint (a step) or a weights file. */
function cliNumber(task, stepOrFile, spec) {
  const m = models[task];
  let file = stepOrFile;
  if (typeof stepOrFile === 'number') {
    file = path.join(DIST, 'models', stepOrFile === m.checkpoints.at(-1) ? m.weights : `${task}/checkpoints/step_${stepOrFile}.safetensors`);
  }
  const out = execFileSync(CLI, ['analyze', task, '--weights', file, ...spec.args], { encoding: 'utf8' });
  return spec.value(JSON.parse(out));
}

/** Each listed view's data-claim. */
function claimStates(page, views) {
  return page.evaluate((vs) => Object.fromEntries(vs.map((v) => [v, document.querySelector(`[data-view="${v}"]`)?.dataset.claim ?? null])), views);
}

/** The site build's verdicts on `task`'s timeline (dist/models/<task>/claims.json). */
function claimsFile(task) {
  return JSON.parse(fs.readFileSync(path.join(DIST, 'models', task, 'claims.json'), 'utf8'));
}

/** The site build's verdicts on `task`'s checkpoint `step`. */
function builtClaims(task, step) {
  const c = claimsFile(task);
  const i = c.steps.indexOf(step);
  return Object.fromEntries(Object.entries(c.claims).map(([view, v]) => [view, v.states[i]]));
}

/** The points of each of `spec.series` in `spec.view` (a page's per-step curves). */
function perStepPoints(page, spec) {
  return page.$eval(`[data-view="${spec.view}"]`, (e, names) => names.map((n) => e.pointCount(n)), spec.series);
}

/** Waits until every listed view is ready (SETTLE_MS unless told). */
const waitReady = (page, views, timeout = SETTLE_MS) => waitFor(page, views, timeout);

function changed(before, after) {
  return Object.keys(before).filter((v) => before[v] !== after[v]);
}

/** The number the page prints under data-value=key (full precision). */
function printed(page, key) {
  return page.$eval(`[data-value="${key}"]`, (e) => Number(e.dataset.number));
}

/** Opens a page cold and returns the ms until the first computed figure is ready. */
async function openCold(page, task, query = '?backend=cpu') {
  const t0 = Date.now();
  await page.goto(new URL(`notebooks/${task}/${query}`, base).href);
  const analysed = [...PAGES[task].input, ...PAGES[task].weights];
  await page.waitForFunction((vs) => vs.some((v) => document.querySelector(`[data-view="${v}"]`)?.dataset.state === 'ready'), analysed, { timeout: SETTLE_MS, polling: 20 });
  return Date.now() - t0;
}

for (const [task, spec] of Object.entries(PAGES)) {
  describe(`notebook ${task}`, () => {
    let b;
    before(async () => {
      b = await launchBrowser();
      await b.page.setViewportSize({ width: 1200, height: 900 });
    });
    after(async () => b?.close());

    test('cold load: every figure ready, no console error, nothing off the origin', async () => {
      const ms = await openCold(b.page, task);
      console.log(`# ${task}: first figure ready ${ms} ms after navigation (cold, CPU)`);
      const t0 = Date.now();
      // html[data-model] is what scripts wait on: it is set only once every figure has followed.
      await b.page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: SETTLE_MS, polling: 20 });
      const behind = await b.page.evaluate((vs) => vs.filter((v) => document.querySelector(`[data-view="${v}"]`).dataset.state !== 'ready'), [...spec.input, ...spec.weights]);
      assert.deepEqual(behind, [], 'figures still computing when html[data-model] was set');
      await waitReady(b.page, [...spec.static, ...spec.input, ...spec.weights]);
      console.log(`# ${task}: every figure ready after ${ms + Date.now() - t0} ms`);
      const states = await b.page.$$eval('[data-view]', (els) => els.filter((e) => e.dataset.state !== 'ready').map((e) => `${e.dataset.view}: ${e.dataset.state}`));
      assert.deepEqual(states, [], 'views not ready');
      if (spec.perStep) assert.deepEqual(await perStepPoints(b.page, spec.perStep), spec.perStep.series.map(() => models[task].checkpoints.at(-1)), 'a point per step of the pretrained run');
      // Every claim is judged on the final checkpoint, holds, and agrees with the site build's
      // verdict (tools/claims.mjs: the same predicates on the native engine's numbers).
      const claims = await claimStates(b.page, spec.checked.map((c) => c.view));
      const built = builtClaims(task, models[task].checkpoints.at(-1));
      assert.deepEqual(claims, built, 'data-claim on the final checkpoint vs the site build’s verdicts');
      assert.deepEqual(Object.entries(claims).filter(([, s]) => s !== 'holds'), [], 'claims that do not hold on the final checkpoint');
      // The emergence view: a row per claim, each pretrained column as the build judged it.
      await b.page.waitForSelector('tl-claims[data-state="ready"]', { timeout: 30_000 });
      const grid = await b.page.$$eval('tl-claims button[data-claim][data-source="pretrained"]', (bs) => bs.map((x) => [Number(x.dataset.r), Number(x.dataset.step), x.dataset.claim]));
      const file = claimsFile(task);
      const want = Object.values(file.claims).flatMap((c, r) => c.states.map((st, j) => [r + 1, file.steps[j], st]));
      assert.deepEqual(grid.sort(), want.sort(), 'the emergence view’s pretrained cells');
      // The notebook's own numbers stand under the figures that measure them on ours.
      const shown = await b.page.evaluate((ns) => ns.filter(([v, text]) => !document.querySelector(`[data-view="${v}"] > .tl-notebook`)?.textContent.includes(text)).map(([v]) => v), spec.notebook);
      assert.deepEqual(shown, [], 'figures missing the notebook’s numbers');
      // No number the prose quotes is left unfilled.
      const unfilled = await b.page.$$eval('[data-live]', (els) => els.filter((e) => e.textContent.trim() === '…').map((e) => e.dataset.live));
      assert.deepEqual(unfilled, [], 'live numbers never filled');
      assertCleanRun(b.log);
    });

    test(`the printed ${spec.number.key} equals the CLI's for the final checkpoint`, async () => {
      const step = models[task].checkpoints.at(-1);
      assert.equal(await b.page.evaluate(() => document.documentElement.dataset.model), `pretrained:${step}`);
      const want = cliNumber(task, step, spec.number);
      const got = await printed(b.page, spec.number.key);
      assert.ok(Math.abs(got - want) <= TOL, `page ${got}, CLI ${want}`);
    });

    test('editing the input redraws the figures that read it, and only those', async () => {
      const before = await snapshot(b.page, [...spec.input, ...spec.weights]);
      const box = b.page.locator(`[data-view="${task}/input"] input.tl-token-text`);
      await box.fill(spec.edit);
      await b.page.waitForFunction((vs) => vs.some((v) => document.querySelector(`[data-view="${v}"]`).dataset.state === 'loading'), spec.input, { timeout: 10_000, polling: 10 }).catch(() => {});
      await waitReady(b.page, [...spec.input, ...spec.weights]);
      const after = await snapshot(b.page, [...spec.input, ...spec.weights]);
      assert.deepEqual(changed(before, after).sort(), [...spec.input].sort(), 'views whose content changed');
      assertCleanRun(b.log);
    });

    // The checkpoints the scrub test passes, ending on the middle one.
    const scrubPath = (steps) => {
      const mid = Math.floor(steps.length / 2);
      return [1, steps.length - 2, 2, mid + 1, mid];
    };

    test('scrubbing the timeline redraws the figures; the printed number follows the checkpoint', async () => {
      const steps = models[task].checkpoints;
      const step = steps[scrubPath(steps).at(-1)];
      const before = await snapshot(b.page, spec.weights);
      // A drag: the slider passes other checkpoints (each followed until the next comes, then
      // dropped) before it is let go; what the page ends on must be that checkpoint's alone.
      await b.page.$eval('tl-timeline [data-ref="range"]', async (r, path) => {
        // As a pointer drags it: the page's model catching up must not move the thumb back.
        r.dispatchEvent(new Event('pointerdown'));
        for (const i of path) {
          r.value = String(i);
          r.dispatchEvent(new Event('input'));
          await new Promise((done) => setTimeout(done, 120));
        }
        r.dispatchEvent(new Event('pointerup'));
        r.dispatchEvent(new Event('change'));
      }, scrubPath(steps));
      // Each checkpoint passed may finish the engine call it started (a 200-sum forward of
      // addition's model takes seconds on a busy 2-core machine): a generous wait, and on a
      // timeout the page's state, so a slow page and a stuck one can be told apart.
      await b.page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${step}`, { timeout: 180_000 }).catch(async (e) => {
        const state = await b.page.evaluate(() => ({ model: document.documentElement.dataset.model, timeline: document.querySelector('tl-timeline')?.dataset.step, figures: Object.fromEntries([...document.querySelectorAll('[data-view]')].map((f) => [f.dataset.view, f.dataset.state])) }));
        throw new Error(`${e.message}\npage state: ${JSON.stringify(state)}`);
      });
      await waitReady(b.page, [...spec.input, ...spec.weights]);
      const after = await snapshot(b.page, spec.weights);
      // The figures of the weights judge their claims on the new checkpoint as the build did.
      const weightClaims = spec.checked.filter((c) => c.follows === 'timeline').map((c) => c.view);
      const built = builtClaims(task, step);
      assert.deepEqual(await claimStates(b.page, weightClaims), Object.fromEntries(weightClaims.map((v) => [v, built[v]])), `step ${step}: data-claim vs the site build’s verdicts`);
      const same = spec.weights.filter((v) => before[v] === after[v]);
      assert.ok(same.length < spec.weights.length / 2, `most figures should change with the checkpoint; unchanged: ${same.join(', ')}`);
      const want = cliNumber(task, step, spec.number);
      const got = await printed(b.page, spec.number.key);
      assert.ok(Math.abs(got - want) <= TOL, `step ${step}: page ${got}, CLI ${want}`);
      // Back to the final checkpoint (its reads kept by the page): exactly what it showed.
      await b.page.$eval('tl-timeline [data-ref="range"]', (r, i) => {
        r.value = String(i);
        r.dispatchEvent(new Event('input'));
        r.dispatchEvent(new Event('change'));
      }, steps.length - 1);
      await b.page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${steps.at(-1)}`, { timeout: 60_000 });
      await waitReady(b.page, [...spec.input, ...spec.weights]);
      assert.deepEqual(await snapshot(b.page, spec.weights), before, 'the final checkpoint’s figures after a scrub away and back');
      assertCleanRun(b.log);
    });

    if (task === 'addition') {
      test('the training curves follow a move at once, before the new weights are loaded', async (t) => {
        const steps = models[task].checkpoints;
        const { curves } = spec;
        assert.ok(curves.length >= 3, `curve figures: ${curves}`);
        // A page that has not fetched the checkpoint yet: an open page fetches its whole
        // timeline once its figures are drawn (notebook.js, #prefetchAround). Its download is
        // held until the curves are seen, whoever asked for it first (the prefetch, which starts
        // from the final checkpoint's neighbours, or the move): "before the weights are loaded"
        // is then true however fast the file comes.
        const i = 1;
        const file = `**/checkpoints/step_${steps[i]}.safetensors`;
        let release;
        const held = new Promise((r) => { release = r; });
        let downloads = 0;
        let served;
        await b.context.route(file, (route) => {
          downloads++;
          served = held.then(() => route.continue());
          return served;
        });
        const page = await b.context.newPage();
        const errors = [];
        page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
        page.on('pageerror', (e) => errors.push(e.message));
        t.after(async () => {
          release();
          await b.context.unroute(file);
          await page.close();
        });
        await page.setViewportSize({ width: 1200, height: 900 });
        await page.goto(new URL(`notebooks/${task}/?backend=cpu`, base).href);
        await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: SETTLE_MS });
        const seen = await page.evaluate(({ curves, i }) => new Promise((resolve) => {
          const model = document.documentElement.dataset.model;
          const t0 = performance.now();
          const els = curves.map((v) => document.querySelector(`[data-view="${v}"]`));
          const heldOut = document.querySelector('[data-view="addition/held-out"]');
          const check = () => {
            if (!els.every((e) => e.dataset.state === 'ready' && e.drawnAt > t0)) return requestAnimationFrame(check);
            resolve({ modelThen: document.documentElement.dataset.model, was: model, heldOutThen: heldOut.dataset.state });
          };
          const r = document.querySelector('tl-timeline [data-ref="range"]');
          r.value = String(i);
          r.dispatchEvent(new Event('input'));
          r.dispatchEvent(new Event('change'));
          check();
        }), { curves, i });
        release();
        await served;
        // One download: a move to a checkpoint being prefetched waits for that download.
        assert.equal(downloads, 1, `step ${steps[i]}'s weights were downloaded ${downloads} times`);
        // Drawn while the engine's figures of the move still wait for the weights.
        assert.equal(seen.modelThen, seen.was, 'the curves were drawn only after the whole move');
        assert.equal(seen.heldOutThen, 'loading', 'the held-out figure had already followed');
        await page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${steps[i]}`, { timeout: 180_000 });
        assert.deepEqual(errors, [], 'console errors');
      });
    }

    if (task === 'min') {
      test('a click on a cell of the emergence view moves the timeline there', async () => {
        const step = models[task].checkpoints[3];
        await b.page.click(`tl-claims button[data-claim][data-source="pretrained"][data-step="${step}"]`);
        await b.page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${step}`, { timeout: 60_000 });
        assert.equal(await b.page.$eval('tl-timeline', (t) => t.dataset.step), String(step));
        const current = await b.page.$$eval('tl-claims [aria-current="true"]', (els) => els.map((e) => e.dataset.step));
        assert.deepEqual(current, [String(step)], 'the grid marks the checkpoint on screen');
        assertCleanRun(b.log);
      });
    }

    test('a short training run draws its curves and adds timeline entries', async () => {
      // The page's own short run (spec.train) where its model is slow to train.
      const { steps = 20, batch = 64 } = spec.train ?? {};
      const panel = b.page.locator('tl-train-panel');
      await panel.locator('[data-ref="steps"]').fill(String(steps));
      await panel.locator('[data-ref="batch"]').fill(String(batch));
      await panel.locator('[data-ref="start"]').click();
      await b.page.waitForSelector('tl-train-panel[data-status="done"]', { timeout: 120_000 });
      const points = await b.page.$$eval(`[data-view="${task}/training-loss"], [data-view="${task}/training-accuracy"]`,
        (els) => els.map((e) => e.pointCount(e.dataset.view.endsWith('loss') ? 'training loss' : 'training accuracy')));
      assert.ok(points.every((n) => n > 0), `curve points: ${points}`);
      const run = await b.page.$eval('tl-timeline', (t) => t.sources.run);
      assert.ok(run.length > 0 && run.at(-1) === steps, `timeline entries of the run: ${run}`);
      // The reader picks the run on the timeline (it was scrubbed back, so it does not follow
      // by itself): every figure shows the run's last checkpoint, and the printed number is
      // the CLI's for those weights.
      await b.page.selectOption('tl-timeline [data-ref="source"]', 'run');
      await b.page.waitForFunction((m) => document.documentElement.dataset.model === m, `run:${steps}`, { timeout: SETTLE_MS });
      await waitReady(b.page, [...spec.input, ...spec.weights]);
      if (spec.perStep) assert.deepEqual(await perStepPoints(b.page, spec.perStep), spec.perStep.series.map(() => steps), 'a point per step of your run');
      // The emergence view has the run's checkpoint as a column, judged here in the page.
      const runCells = await b.page.$$eval(`tl-claims button[data-claim][data-source="run"][data-step="${steps}"]`, (bs) => bs.map((x) => x.dataset.claim ?? 'none'));
      assert.equal(runCells.length, spec.checked.length, 'a cell per claim for the run’s checkpoint');
      assert.deepEqual(runCells.filter((c) => c !== 'holds' && c !== 'fails'), [], 'every claim judged on the run’s checkpoint');
      // As base64: addition's 13 MB of weights as an array of numbers took 50 s through the
      // DevTools protocol.
      const b64 = await b.page.evaluate(async (n) => {
        const url = await new Promise((resolve, reject) => {
          const r = new FileReader();
          r.onload = () => resolve(r.result);
          r.onerror = () => reject(r.error);
          r.readAsDataURL(new Blob([window.__notebook.session.weightsAt(n)]));
        });
        return url.slice(url.indexOf(',') + 1);
      }, steps);
      const file = path.join(site.extraDir, `${task}-run-${steps}.safetensors`);
      fs.writeFileSync(file, Buffer.from(b64, 'base64'));
      const want = cliNumber(task, file, spec.number);
      const got = await printed(b.page, spec.number.key);
      assert.ok(Math.abs(got - want) <= TOL, `your run, step ${steps}: page ${got}, CLI ${want}`);
      assertCleanRun(b.log);
    });
  });
}

describe('notebooks on the automatic backend (WebGPU when the self-test passes)', () => {
  for (const task of Object.keys(PAGES)) {
    test(`${task} loads and draws its first figures`, async (t) => {
      const b = await launchBrowser();
      t.after(() => b.close());
      const ms = await openCold(b.page, task, '');
      const backend = await b.page.$eval('tl-backend', (e) => `${e.dataset.backend}: ${e.querySelector('[data-ref="status"]')?.textContent.trim()}`);
      console.log(`# ${task}: first figure ${ms} ms (automatic backend: ${backend})`);
      await waitReady(b.page, PAGES[task].input);
      assertCleanRun(b.log);
    });
  }
});

// Training on WebGPU, generated for every page like the rest: SwiftShader here (about a step a
// second at small batches, after a shader warm-up), so the run is two steps of a small batch.
// The analyses stay on the CPU engine; the run's weights must reach the timeline and the curves.
describe('a short in-page run on WebGPU', () => {
  for (const task of Object.keys(PAGES)) {
    test(`${task}: two WebGPU steps draw the curves and join the timeline`, { timeout: 900_000 }, async (t) => {
      const b = await launchBrowser();
      t.after(() => b.close());
      await b.page.goto(new URL(`notebooks/${task}/?backend=webgpu`, base).href);
      await b.page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: SETTLE_MS, polling: 100 });
      const panel = b.page.locator('tl-train-panel');
      // A page with a smaller model trains that one here (the reader's choice in the panel):
      // SwiftShader took 156 s for two steps of the full addition model; the path is the same.
      const smaller = DECLARED.find((p) => p.task === task).smaller;
      if (smaller) await panel.locator('[data-ref="model"]').selectOption('smaller');
      await panel.locator('[data-ref="steps"]').fill('2');
      await panel.locator('[data-ref="batch"]').fill('8');
      const t0 = Date.now();
      await panel.locator('[data-ref="start"]').click();
      await b.page.waitForSelector('tl-train-panel[data-status="done"]', { timeout: 840_000 });
      // The last checkpoint is read back from the GPU after the run ends.
      await b.page.waitForFunction(() => window.__notebook.session.timeline.at(-1)?.step === 2, null, { timeout: 120_000 }).catch(() => {});
      const s = await b.page.evaluate(() => {
        const x = window.__notebook.session;
        return { backend: x.backend, step: x.step, run: x.timeline.map((e) => e.step) };
      });
      console.log(`# ${task}: 2 WebGPU steps (batch 8) done ${Date.now() - t0} ms after start, warm-up included`);
      assert.equal(s.backend, 'webgpu', 'the run trained on WebGPU (no fallback)');
      if (smaller) assert.equal(await panel.getAttribute('data-variant'), smaller.label, 'the smaller model trained');
      assert.equal(s.step, 2);
      assert.ok(s.run.at(-1) === 2, `timeline entries of the run: ${JSON.stringify(s)}`);
      const points = await b.page.$eval(`[data-view="${task}/training-loss"]`, (e) => e.pointCount('training loss'));
      assert.equal(points, 2, 'one loss point per step');
      const spec = PAGES[task].perStep;
      if (spec) {
        // The figures follow the run once it is selected: its steps' figures came from the GPU too.
        await b.page.selectOption('tl-timeline [data-ref="source"]', 'run');
        await b.page.waitForFunction(() => document.documentElement.dataset.model === 'run:2', null, { timeout: SETTLE_MS });
        await waitReady(b.page, [spec.view]);
        assert.deepEqual(await perStepPoints(b.page, spec), spec.series.map(() => 2), 'a point per WebGPU step');
      }
      assertCleanRun(b.log);
    });
  }
});
