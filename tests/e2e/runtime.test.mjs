// The browser runtime (issue 7) in headless Chromium, on the CPU and on WebGPU (SwiftShader):
// the worker's forward and cache equal the native CLI's, training in the page lowers the
// loss on both backends with curves that agree, a lost GPU falls back to the CPU from the
// last checkpoint, a reload restores the run, and the backend override works. Every test
// checks for console errors and requests leaving the page's origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, DIST, assertCleanRun, browserFor, serveSite } from './site.mjs';

const TOL = 1e-4;
let site;

before(async () => {
  site = await serveSite(['pkg/toylens.js', 'pkg/toylens_bg.wasm', 'kit/index.html', 'models/index.json']);
});
after(() => site?.close());

const kitUrl = (query) => new URL(`kit/?${query}`, site.base).href;

async function openKit(page, query) {
  await page.goto(kitUrl(query));
  await waitKit(page);
}

async function waitKit(page) {
  await page.waitForFunction(() => document.querySelector('tl-train-panel')?.dataset.state === 'ready' && window.__toylensKit?.nb?.current, null, { timeout: 180_000 });
}

const panel = (page, ref) => page.locator(`tl-train-panel [data-ref="${ref}"]`);

/** Sets the run's knobs, presses Train, accepts a long-run estimate, and returns. */
async function startTraining(page, { steps, batch }) {
  await panel(page, 'steps').fill(String(steps));
  await panel(page, 'batch').fill(String(batch));
  await panel(page, 'start').click();
}

/** Polls until the panel reports `status` (accepting "train anyway" on the way). */
async function waitStatus(page, statuses, { timeout, until } = {}) {
  const t0 = Date.now();
  let shown = t0;
  for (;;) {
    const s = await page.evaluate(() => {
      const p = document.querySelector('tl-train-panel');
      const ask = p.querySelector('[data-choice="train"]');
      if (ask && !p.querySelector('[data-ref="notice"]').hidden) ask.click();
      return { status: p.dataset.status, step: Number(p.dataset.step), line: p.querySelector('[data-ref="status"]').textContent, error: p.querySelector('[data-ref="error"]').textContent };
    });
    assert.equal(s.error, '', `training panel error: ${s.error}`);
    if (Date.now() - shown > 30_000) {
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${s.line}`);
      shown = Date.now();
    }
    if (statuses.includes(s.status) && (!until || until(s))) return s;
    assert.ok(Date.now() - t0 < timeout, `still ${s.status} after ${timeout} ms: ${s.line}`);
    await page.waitForTimeout(500);
  }
}

const sessionOf = (page) =>
  page.evaluate(() => {
    const s = window.__toylensKit.nb.session;
    return { step: s.step, backend: s.backend, status: s.status, train: s.curves.train, eval: s.curves.eval, timeline: s.timeline.map((t) => t.step), fallbacks: s.fallbacks, stepsPerSec: s.stepsPerSec };
  });

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('engine worker', () => {
  // On the CPU: smoke.test.mjs already holds the WebGPU engine to TransformerLens on every
  // fixture (and the CLI is held to it natively), so a WebGPU pass here proved nothing more
  // for 12 s of shader compiles.
  test('forward and cache equal the native CLI on fixtures', { timeout: 600_000 }, async (t) => {
    const fixtures = ['cumsum', 'min', 'ln2_gelu'];
    for (const f of fixtures) {
      const dir = path.join(DIST, 'fixtures', f);
      execFileSync(CLI, ['cache', '--config', path.join(dir, 'config.json'), '--weights', path.join(dir, 'weights.safetensors'), '--tokens', path.join(dir, 'cache.safetensors'), '--out', path.join(site.extraDir, `${f}.safetensors`)], { stdio: 'pipe' });
    }
    const { page, log } = await browserFor(t);
    await page.goto(site.base);
    const out = await page.evaluate(
      async ({ fixtures, extra }) => {
        const { EngineClient } = await import(new URL('engine/client.js', document.baseURI).href);
        const c = new EngineClient();
        const get = async (u) => (await fetch(u)).arrayBuffer();
        const res = [];
        for (const f of fixtures) {
          const dir = new URL(`fixtures/${f}/`, document.baseURI);
          const config = new TextDecoder().decode(await get(new URL('config.json', dir)));
          const weights = await get(new URL('weights.safetensors', dir));
          const cli = await c.call('read_safetensors', { bytes: await get(new URL(`${f}.safetensors`, extra)) });
          const tokensFile = await c.call('read_safetensors', { bytes: await get(new URL('cache.safetensors', dir)) });
          const tokens = tokensFile.tokens;
          const backend = 'cpu';
          await c.call('load', { backend, config, weights });
          const fwd = await c.call('forward', { backend, tokens });
          const run = await c.call('cache', { backend, tokens });
          const expected = { ...cli };
          delete expected.tokens;
          const cmp = await c.call('compare', { actual: { logits: fwd, ...run.cache }, expected });
          const diffs = Object.values(cmp.diffs).map((d) => d.maxAbsDiff);
          res.push({ fixture: f, backend, worst: Math.max(...diffs), n: diffs.length, missing: cmp.missing });
        }
        c.terminate();
        return res;
      },
      { fixtures, extra: site.extraUrl },
    );
    for (const r of out) console.log(`worker vs CLI ${r.fixture} ${r.backend}: max |diff| ${r.worst.toExponential(2)} over ${r.n} tensors`);
    for (const r of out) {
      assert.ok(r.n > 5, `${r.fixture} ${r.backend}: only ${r.n} tensors compared`);
      assert.deepEqual(r.missing, [], `${r.fixture} ${r.backend}: missing`);
      assert.ok(r.worst <= TOL, `${r.fixture} ${r.backend}: differs from the CLI by ${r.worst}`);
    }
    assertCleanRun(log, site.origin);
  });
});

describe('kit page', () => {
  test('every widget draws engine data; an input edit redraws the dependent figures', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    const views = ['kit/input', 'kit/probs', 'kit/attention', 'kit/full-ov', 'kit/unembed-directions', 'kit/dla-by-label', 'kit/probability-by-position', 'timeline', 'train', 'backend'];
    await page.waitForFunction((vs) => vs.every((v) => document.querySelector(`[data-view="${v}"]`)?.dataset.state === 'ready'), views, { timeout: 120_000 });
    const snapshot = () =>
      page.evaluate(() => {
        const d = (v) => JSON.stringify(document.querySelector(`[data-view="${v}"]`).data, (k, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x));
        return { probs: d('kit/probs'), attention: d('kit/attention'), ov: d('kit/full-ov') };
      });
    const before = await snapshot();
    // An out-of-vocabulary token is refused with a message, and nothing recomputes.
    const field = page.locator('[data-view="kit/input"] input');
    const text = await field.inputValue();
    await field.fill(text.replace(/^\S+/, '+9'));
    await page.waitForFunction(() => document.querySelector('[data-view="kit/input"]').dataset.state === 'error');
    assert.match(await page.locator('[data-view="kit/input"]').textContent(), /not in the vocabulary/);
    // A valid edit: the first value flips sign.
    const first = text.split(/\s+/)[0];
    const flipped = first.startsWith('-') ? `+${first.slice(1)}` : `-${first.slice(1)}`;
    const redrawn = page.evaluate(() => new Promise((r) => document.querySelector('[data-view="kit/probs"]').addEventListener('toylens-render', r, { once: true })));
    await field.fill(text.replace(/^\S+/, flipped));
    await field.press('Enter');
    await redrawn;
    await page.waitForFunction(() => document.querySelector('[data-view="kit/attention"]').dataset.state === 'ready');
    const after = await snapshot();
    assert.notEqual(after.probs, before.probs, 'probabilities follow the input');
    assert.equal(after.ov, before.ov, 'a weights-only figure does not change with the input');
    assertCleanRun(log, site.origin);
  });
});

describe('training in the page', () => {
  const STEPS = 200;
  test(`${STEPS} steps on cpu lower the loss`, { timeout: 900_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    await startTraining(page, { steps: STEPS, batch: 32 });
    await waitStatus(page, ['done'], { timeout: 840_000 });
    const s = await sessionOf(page);
    const losses = s.train.map((p) => p.loss);
    console.log(`cpu: ${losses.length} steps, loss ${mean(losses.slice(0, 10)).toFixed(4)} -> ${mean(losses.slice(-10)).toFixed(4)}, ${s.stepsPerSec?.toFixed(2)} steps/s in the page`);
    assert.equal(s.backend, 'cpu');
    assert.equal(s.step, STEPS);
    assert.deepEqual(s.train.map((p) => p.step), Array.from({ length: STEPS }, (_, i) => i + 1), 'one curve point per step');
    // A fixed seed: 1.07 -> 0.53 here (first and last ten steps); it must at least fall by 30%.
    assert.ok(mean(losses.slice(-20)) < 0.7 * mean(losses.slice(0, 20)), `the loss fell too little: ${mean(losses.slice(0, 20))} -> ${mean(losses.slice(-20))}`);
    assert.ok(s.timeline.length >= 10 && s.timeline.at(-1) === STEPS, `timeline: ${s.timeline}`);
    assert.ok(s.eval.length >= 5, 'held-out evaluations at checkpoints');
    // The figures follow the run's newest checkpoint.
    await page.waitForFunction((n) => document.documentElement.dataset.model === `run:${n}`, STEPS);
    assertCleanRun(log, site.origin);
  });
});

describe('data-parallel training', () => {
  // min's full-batch steps (32 000 sequences) take ~200 ms on one wasm thread: the session
  // splits them across a worker per core (2 here), and the curve is the one-worker curve.
  test('long CPU steps train on several workers, with the one-worker curve; the replicas stay identical', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    const r = await page.evaluate(async () => {
      const at = (f) => new URL(`../engine/${f}`, document.baseURI).href;
      const { EngineClient } = await import(at('client.js'));
      const { TrainingSession } = await import(at('session.js'));
      const { Replicas } = await import(at('replicas.js'));
      // kill: stop a replica's worker after this many data-parallel steps.
      const train = async (workers, kill = Infinity) => {
        const client = new EngineClient();
        const made = [];
        const makeClient = () => made[made.push(new EngineClient()) - 1];
        const s = new TrainingSession({ client, task: 'min', key: `dp-${workers}-${kill}`, makeClient, workers });
        const seen = [];
        const notices = [];
        s.addEventListener('progress', (e) => {
          seen.push(e.detail.workers);
          if (seen.filter((w) => w > 1).length === kill) made[0].terminate();
        });
        s.addEventListener('notice', (e) => notices.push(e.detail.message));
        await s.init();
        await s.create({ steps: 10 });
        await s.start();
        client.terminate();
        return { losses: s.curves.train.map((p) => p.loss), steps: s.curves.train.map((p) => p.step), workers: [...new Set(seen)], status: s.status, notices, weights: await s.timeline.at(-1).weights };
      };
      const one = await train(1);
      // Two replicas asked for, whatever the cores: the data-parallel path runs on any machine.
      const two = await train(2);
      const auto = await train('auto');
      // A replica lost mid-run: the run goes on in one worker from its last saved state.
      const lost = await train(2, 2);
      // Two safetensors files of one config: the same layout, so their data sections compare.
      const floats = (buf) => new Float32Array(buf.slice(8 + Number(new DataView(buf).getBigUint64(0, true))));
      const near = (a, b) => {
        const [x, y] = [floats(a), floats(b)];
        return x.length === y.length ? x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0) : Infinity;
      };
      // The replicas themselves: the same weights, byte for byte, after steps together.
      const c = new EngineClient();
      const run = (await c.call('train_create', { backend: 'cpu', task: 'sorting', recipe: null })).run;
      const reps = new Replicas(() => new EngineClient(), 3);
      await reps.sync(run, 0, await c.call('train_state', { run }));
      for (let i = 0; i < 3; i++) await reps.step({ client: c, run });
      const mine = new Uint8Array(await c.call('train_weights', { run }));
      const theirs = await Promise.all(reps.others.map(async (o) => new Uint8Array(await o.client.call('train_weights', { run: o.run }))));
      const same = theirs.every((w) => w.length === mine.length && w.every((x, i) => x === mine[i]));
      reps.close();
      c.terminate();
      return { one, two: { ...two, weights: undefined }, auto: { ...auto, weights: undefined }, lost: { ...lost, weights: undefined }, weightDiff: near(one.weights, two.weights), autoDiff: near(one.weights, auto.weights), same, cores: navigator.hardwareConcurrency };
    });
    console.log(`data-parallel: ${r.cores} cores, workers seen ${r.two.workers} (two asked for), ${r.auto.workers} (auto), losses ${r.one.losses.at(-1)} (one worker) vs ${r.two.losses.at(-1)}, weights |diff| ${r.weightDiff.toExponential(2)}`);
    for (const run of [r.one, r.two, r.auto]) assert.equal(run.status, 'done');
    assert.deepEqual(r.one.workers, [1]);
    assert.ok(r.two.workers.includes(2), `two replicas trained steps: ${r.two.workers}`);
    // Auto splits only where there are cores to split over.
    assert.ok(r.cores < 2 ? !r.auto.workers.includes(2) : r.auto.workers.includes(2), `auto on ${r.cores} cores: ${r.auto.workers}`);
    for (const [name, run] of [['two', r.two], ['auto', r.auto]]) {
      assert.equal(run.losses.length, 10);
      const worst = Math.max(...r.one.losses.map((x, i) => Math.abs(x - run.losses[i])));
      assert.ok(worst < 1e-4, `${name}: loss curves differ by ${worst}`);
    }
    assert.ok(r.weightDiff < 1e-4 && r.autoDiff < 1e-4, `weights differ by ${r.weightDiff} (two), ${r.autoDiff} (auto)`);
    assert.ok(r.same, 'replicas hold the same weights after stepping together');
    console.log(`a replica lost: ${r.lost.notices.join(' | ')}`);
    assert.equal(r.lost.status, 'done');
    assert.deepEqual(r.lost.steps, Array.from({ length: 10 }, (_, i) => i + 1), 'every step once');
    assert.ok(r.lost.notices.some((m) => /goes on in one worker/.test(m)), `notices: ${r.lost.notices}`);
    const off = Math.max(...r.one.losses.map((x, i) => Math.abs(x - r.lost.losses[i])));
    assert.ok(off < 1e-4, `the run that lost a replica left the one-worker curve by ${off}`);
    assertCleanRun(log, site.origin);
  });
});

describe('training panel', () => {
  test('a long run is estimated first, and the reader can keep the pretrained model', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=min&backend=cpu');
    await panel(page, 'start').click(); // the notebook's 4000 full-batch steps
    const notice = panel(page, 'notice');
    await notice.locator('[data-choice="cancel"]').waitFor({ timeout: 180_000 });
    const text = await notice.textContent();
    console.log(`estimate: ${text}`);
    assert.match(text, /would take about .* on the CPU/);
    assert.match(text, /Train \d+ steps \(about a minute\)/);
    await notice.locator('[data-choice="cancel"]').click();
    await waitStatus(page, ['idle'], { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.model), 'pretrained:2000');
    assertCleanRun(log, site.origin);
  });

  test('weights import by file or drag and drop; a bad file is refused with a message', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    const ov = () => page.evaluate(() => JSON.stringify(Array.from(document.querySelector('[data-view="kit/full-ov"]').data.values.values)));
    await page.waitForFunction(() => document.querySelector('[data-view="kit/full-ov"]').dataset.state === 'ready');
    const before = await ov();
    await panel(page, 'import').setInputFiles(path.join(DIST, 'models/cumsum/checkpoints/step_96.safetensors'));
    await page.waitForFunction(() => document.documentElement.dataset.model === 'imported:0' && document.querySelector('[data-view="kit/full-ov"]').dataset.state === 'ready', null, { timeout: 60_000 });
    const imported = await ov();
    assert.notEqual(imported, before, 'the figures follow the imported weights');
    // Dropped: a file that is not safetensors.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(64).fill(7)], 'junk.safetensors'));
      document.querySelector('tl-train-panel').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.querySelector('tl-train-panel [data-ref="error"]').textContent !== '');
    assert.match(await page.locator('tl-train-panel > [data-ref="error"]').textContent(), /junk\.safetensors: .*safetensors/);
    assert.equal(await ov(), imported, 'a refused file leaves the model as it was');
    // Dropped: a good file.
    const bytes = fs.readFileSync(path.join(DIST, 'models/cumsum/model.safetensors')).toString('base64');
    await page.evaluate((b64) => {
      const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([raw], 'model.safetensors'));
      document.querySelector('tl-train-panel').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForFunction((b) => JSON.stringify(Array.from(document.querySelector('[data-view="kit/full-ov"]').data.values.values)) === b, before, { timeout: 60_000 });
    assertCleanRun(log, site.origin);
  });
});

describe('resilience', () => {
  // One run crosses both ways, so SwiftShader's shader warm-up (most of a WebGPU test's time)
  // is paid once: CPU steps, a move to WebGPU when the self-test passes late, WebGPU steps whose
  // losses follow the CPU run's from the same seed, then a lost GPU and the rest on the CPU.
  test('a run moves to WebGPU mid-run and follows the CPU curve there; a lost GPU then falls back to the CPU from the last checkpoint', { timeout: 900_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    const steps = 24;
    await startTraining(page, { steps, batch: 32 });
    await waitStatus(page, ['running', 'done'], { timeout: 300_000, until: (s) => s.step >= 4 });
    await page.evaluate(() => {
      const s = window.__toylensKit.nb.session;
      window.__progress = [];
      s.addEventListener('progress', (e) => window.__progress.push({ ...e.detail, logs: e.detail.logs.length }));
      return s.useBackend('webgpu');
    });
    const onGpu = () => page.evaluate(() => window.__progress.filter((p) => p.backend === 'webgpu').reduce((a, p) => a + p.logs, 0));
    const t0 = Date.now();
    while ((await onGpu()) < 8) {
      assert.ok(Date.now() - t0 < 600_000, `8 WebGPU steps within 10 minutes (${await onGpu()} so far)`);
      assert.notEqual((await sessionOf(page)).status, 'done', 'the run ended before training 8 steps on WebGPU');
      await page.waitForTimeout(500);
    }
    const moved = await sessionOf(page);
    assert.equal(moved.backend, 'webgpu');
    const destroyed = await page.evaluate(() => window.__toylensKit.nb.session.client.call('lose_device'));
    assert.ok(destroyed.destroyed >= 1, 'a GPU device to destroy');
    await waitStatus(page, ['done'], { timeout: 400_000 });
    const s = await sessionOf(page);
    const progress = await page.evaluate(() => window.__progress);
    console.log(`cpu -> webgpu at step ${progress.find((p) => p.backend === 'webgpu').step - progress.find((p) => p.backend === 'webgpu').logs}, fallback: ${JSON.stringify(s.fallbacks)}`);
    // The panel's rate after the move is WebGPU's own, not blended with the CPU's.
    const first = progress.find((p) => p.backend === 'webgpu');
    assert.ok(Math.abs(first.stepsPerSec - (first.logs * 1000) / first.ms) < 1e-9 * first.stepsPerSec, `steps/s after the move: ${first.stepsPerSec}, its call's own ${(first.logs * 1000) / first.ms}`);
    assert.equal(s.fallbacks.length, 1);
    assert.equal(s.fallbacks[0].from, 'webgpu');
    // Resumed from the last saved state: a WebGPU step's, before the loss of the device.
    assert.ok(s.fallbacks[0].resumedAt > first.step - first.logs && s.fallbacks[0].resumedAt <= moved.step, `resumed at step ${s.fallbacks[0].resumedAt}`);
    assert.equal(s.backend, 'cpu');
    assert.equal(s.step, steps);
    assert.deepEqual(s.train.map((p) => p.step), Array.from({ length: steps }, (_, i) => i + 1), 'every step once, none lost');
    assert.equal(await page.locator('tl-backend').getAttribute('data-backend'), 'cpu');
    // The WebGPU steps (and the CPU ones around them) follow a CPU-only run of the same recipe
    // (seed included), trained here by the engine for the comparison.
    const cpu = await page.evaluate(async (n) => {
      const s = window.__toylensKit.nb.session;
      const { run } = await s.client.call('train_create', { backend: 'cpu', task: s.task, recipe: s.recipe });
      const r = await s.client.call('train_steps', { run, n });
      await s.client.call('train_drop', { run });
      return r.logs.map((l) => l.loss);
    }, steps);
    assert.equal(cpu.length, steps);
    const worst = Math.max(...s.train.map((p, i) => Math.abs(p.loss - cpu[i])));
    console.log(`cpu -> webgpu -> cpu: max |diff| ${worst.toExponential(2)} from the CPU-only curve over ${steps} steps`);
    assert.ok(worst < 1e-3, `the run's curve left the CPU run's by ${worst}`);
    await page.waitForFunction((n) => document.documentElement.dataset.model === `run:${n}`, steps);
    assertCleanRun(log, site.origin);
  });

  test('a reload restores the training state', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    await openKit(page, 'task=cumsum&backend=cpu');
    await startTraining(page, { steps: 400, batch: 32 });
    await waitStatus(page, ['running'], { timeout: 120_000, until: (s) => s.step >= 40 });
    await panel(page, 'pause').click();
    await waitStatus(page, ['paused'], { timeout: 60_000 });
    const before = await sessionOf(page);
    await page.reload();
    await waitKit(page);
    const restored = await waitStatus(page, ['paused'], { timeout: 60_000 });
    const after = await sessionOf(page);
    assert.equal(restored.step, before.step);
    assert.equal(after.step, before.step);
    assert.deepEqual(after.train, before.train);
    assert.deepEqual(after.timeline, before.timeline);
    assert.equal(await panel(page, 'steps').inputValue(), '400', 'the run keeps its settings');
    // It trains on from there, with the optimizer state it had.
    await panel(page, 'step').click();
    await waitStatus(page, ['paused'], { timeout: 60_000, until: (s) => s.step === before.step + 1 });
    // Reset forgets the run; the figures go back to the pretrained model.
    await panel(page, 'reset').click();
    await waitStatus(page, ['idle'], { timeout: 60_000 });
    await page.waitForFunction(() => document.documentElement.dataset.model === 'pretrained:5860', null, { timeout: 60_000 });
    assert.deepEqual(await page.evaluate(() => document.querySelector('tl-timeline').sources.run), []);
    assertCleanRun(log, site.origin);
  });
});

describe('backend choice', () => {
  test('auto draws on the CPU first, then runs the WebGPU self-test and says why it chose; ?backend= and the control override it', { timeout: 300_000 }, async (t) => {
    const { page, log } = await browserFor(t);
    // The order of the two events: the first model's figures, the backend decided.
    await page.addInitScript(() => {
      window.__order = [];
      new MutationObserver(() => {
        const seen = (what) => window.__order.includes(what);
        if (document.documentElement.dataset.model && !seen('figures')) window.__order.push('figures');
        if (document.querySelector('tl-backend')?.dataset.state === 'ready' && !seen('backend')) window.__order.push('backend');
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-model', 'data-state'] });
    });
    await openKit(page, 'task=cumsum');
    const status = page.locator('tl-backend');
    await page.waitForFunction(() => document.querySelector('tl-backend')?.dataset.state === 'ready', null, { timeout: 120_000 });
    assert.deepEqual(await page.evaluate(() => window.__order), ['figures', 'backend'], 'the self-test waits for the first figures');
    const choice = await page.evaluate(() => window.__toylensKit.nb.choice);
    const text = await status.locator('[data-ref="status"]').textContent();
    console.log(`auto: ${choice.backend}: ${text}`);
    assert.ok(choice.selftest?.ok, 'the self-test ran and matched the CPU');
    assert.match(text, /self-test matched the CPU/);
    // SwiftShader is a software adapter: it is chosen only when it beats the CPU.
    const slower = choice.selftest.software && choice.selftest.forwardMs.webgpu > choice.selftest.forwardMs.cpu;
    assert.equal(await status.getAttribute('data-backend'), slower ? 'cpu' : 'webgpu');
    if (slower) assert.match(text, /software adapter, slower than the CPU/);
    await openKit(page, 'task=cumsum&backend=cpu');
    assert.equal(await status.getAttribute('data-backend'), 'cpu');
    assert.match(await status.locator('[data-ref="status"]').textContent(), /URL/);
    // The control: choosing the CPU reloads the page with it.
    await page.goto(kitUrl('task=cumsum'));
    await page.waitForFunction(() => document.querySelector('tl-backend')?.dataset.state === 'ready', null, { timeout: 120_000 });
    await Promise.all([page.waitForURL(/backend=cpu/), status.locator('[data-ref="override"]').selectOption('cpu')]);
    await page.waitForFunction(() => document.querySelector('tl-backend')?.dataset.backend === 'cpu', null, { timeout: 120_000 });
    assertCleanRun(log, site.origin);
  });
});
