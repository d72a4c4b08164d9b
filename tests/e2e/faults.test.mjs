// Faults in the page (issue 16), on the kit page's cumsum notebook, CPU backend:
// - a wasm panic (the worker's test-only debug_panic op, ?debug=panic) is reported, the engine
//   restarts inside the worker, training resumes from its last saved state and the figures
//   recompute; a panic while paused costs nothing; a diverging run (lr 10) stops with a message
//   and is back at its last checkpoint; bad input (another task's weights, a text file, odd
//   tokens) is refused where the reader acted and the model stays;
// - two tabs of the page: the first to save owns the saved run, the second trains unsaved and
//   takes over when the first closes; a full quota is shown with the size the save needs; a
//   tab killed in the middle of a save reopens with the last complete record.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DIST, assertCleanRun, browserFor, serveSite } from './site.mjs';

let site;
before(async () => {
  site = await serveSite(['pkg/toylens.js', 'pkg/toylens_bg.wasm', 'kit/index.html']);
});
after(() => site?.close());

const kit = (extra = '') => new URL(`kit/?task=cumsum&backend=cpu${extra}`, site.base).href;

async function open(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('tl-train-panel')?.dataset.state === 'ready' && window.__toylensKit?.nb?.current, null, { timeout: 180_000 });
}

/** The panel's visible state, accepting a long-run estimate's "train anyway" on the way. */
const panelState = (page) =>
  page.evaluate(() => {
    const p = document.querySelector('tl-train-panel');
    const train = p.querySelector('[data-choice="train"]');
    if (train && !p.querySelector('[data-ref="notice"]').hidden) train.click();
    const text = (ref) => p.querySelector(`:scope > [data-ref="${ref}"]`).textContent;
    const s = window.__toylensKit.nb.session;
    return { status: p.dataset.status, step: Number(p.dataset.step), notice: text('notice'), error: text('error'), lastStateStep: s.lastStateStep, restarts: s.restarts, unsaved: s.unsaved };
  });

async function until(page, ok, what, timeout = 120_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await panelState(page);
    if (ok(s)) return s;
    assert.ok(Date.now() - t0 < timeout, `${what}: still ${JSON.stringify(s)}`);
    await page.waitForTimeout(300);
  }
}

async function train(page, { steps, batch = 32, lr = null }) {
  const ref = (r) => page.locator(`tl-train-panel [data-ref="${r}"]`);
  await ref('steps').fill(String(steps));
  await ref('batch').fill(String(batch));
  if (lr != null) await ref('lr').fill(String(lr));
  await ref('start').click();
}

const click = (page, ref) => page.locator(`tl-train-panel [data-ref="${ref}"]`).click();
const stepsOf = (page) => page.evaluate(() => window.__toylensKit.nb.session.curves.train.map((p) => p.step));
const range = (n) => Array.from({ length: n }, (_, i) => i + 1);
const figureData = (page, view) => page.evaluate((v) => JSON.stringify(document.querySelector(`[data-view="${v}"]`).data, (k, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x)), view);

/** The saved record of the cumsum page, read straight from IndexedDB (null: none). */
const savedRecord = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('toylens');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('runs').objectStore('runs').get('notebook:cumsum');
          get.onsuccess = () => {
            const r = get.result;
            resolve(r ? { step: r.step, steps: r.recipe.steps, train: r.curves.train.length, lastTrain: r.curves.train.at(-1)?.step ?? 0, timeline: r.timeline.map((t) => t.step) } : null);
            req.result.close();
          };
          get.onerror = () => reject(get.error);
        };
      }),
  );

// The panic hook's own console.error (and the panic's Rust location) is the expected one.
const withoutPanics = (log, text) => ({ ...log, consoleErrors: log.consoleErrors.filter((l) => !l.includes(text)) });

test('a panic restarts the engine and training resumes; divergence and bad input keep the model', { timeout: 600_000 }, async (t) => {
  const { page, log } = await browserFor(t);
  await open(page, kit('&debug=panic'));
  await page.waitForFunction(() => document.querySelector('[data-view="kit/probs"]')?.dataset.state === 'ready', null, { timeout: 120_000 });

  // 1. A panic mid-run: the request that crashed says why, the engine restarts, the run resumes.
  const STEPS = 150;
  await train(page, { steps: STEPS });
  const before = await until(page, (s) => s.status === 'running' && s.lastStateStep >= 20, 'training to a saved state');
  const crash = await page.evaluate(async () => {
    const nb = window.__toylensKit.nb;
    const restarted = new Promise((r) => nb.client.addEventListener('restarted', (e) => r(e.detail), { once: true }));
    const t0 = performance.now();
    const err = await nb.client.call('debug_panic', { message: 'a test panic' }).then(() => null, (e) => ({ message: e.message, code: e.code }));
    const ev = await restarted;
    return { err, ms: ev.ms, wall: performance.now() - t0, runs: ev.runs };
  });
  console.log(`panic -> engine restarted in ${crash.ms.toFixed(0)} ms (${crash.wall.toFixed(0)} ms from the request to the event); lost runs ${crash.runs}`);
  console.log(log.console.find((l) => l.includes('engine restarted in')));
  assert.match(crash.err?.message ?? '', /^debug_panic: the engine panicked: .*a test panic/s);
  assert.equal(crash.err.code, 'panic');
  const resumed = await until(page, (s) => s.restarts.length === 1 && s.step > s.restarts[0].resumedAt, 'training resumed after the restart');
  assert.ok(resumed.restarts[0].resumedAt >= before.lastStateStep, `resumed from the last saved state (${resumed.restarts[0].resumedAt} >= ${before.lastStateStep})`);
  assert.match(resumed.notice, /The engine crashed \(.*a test panic.*\) and was restarted; training resumed from step \d+\./);
  assert.match(await page.locator('tl-backend [data-ref="status"]').textContent(), /The engine crashed \(.*a test panic.*\) and was restarted in [\d.]+ s; training resumed from step \d+\./);
  await until(page, (s) => s.status === 'done', 'the run finished after the restart', 300_000);
  assert.deepEqual(await stepsOf(page), range(STEPS), 'every step once: the steps after the saved state were trained again');
  // The figures recomputed on the restarted engine and follow the run.
  await page.waitForFunction((n) => document.documentElement.dataset.model === `run:${n}` && document.documentElement.dataset.engineRestarts === '1', STEPS, { timeout: 60_000 });
  assert.equal(await page.locator('[data-view="kit/probs"]').getAttribute('data-state'), 'ready');

  // 2. A panic while paused (a figure's request, say): the next step restores the run first.
  await click(page, 'reset');
  await until(page, (s) => s.status === 'idle', 'reset');
  await train(page, { steps: 400 });
  await until(page, (s) => s.status === 'running' && s.step >= 10, 'a second run');
  await click(page, 'pause');
  const paused = await until(page, (s) => s.status === 'paused', 'paused');
  assert.equal(paused.lastStateStep, paused.step, 'a pause saves the state');
  // The page follows the paused run's checkpoint by loading it into the engine: read the
  // weights once that load is done, or it could land between the two reads below.
  await page.waitForFunction(() => {
    const nb = window.__toylensKit.nb;
    return !nb.busy && !nb.pending;
  }, null, { timeout: 60_000 });
  // The worker puts back the model this page had loaded: a request queued behind the panic
  // reads the same weights from the new instance.
  const sameModel = await page.evaluate(async () => {
    const c = window.__toylensKit.nb.client;
    const before = new Uint8Array(await c.call('weights', { backend: 'cpu' }));
    const [, after] = await Promise.all([c.call('debug_panic', { message: 'panic while paused' }).catch(() => {}), c.call('weights', { backend: 'cpu' })]);
    const a = new Uint8Array(after);
    return before.length > 0 && a.length === before.length && a.every((b, i) => b === before[i]);
  });
  assert.ok(sameModel, 'the restarted engine has the model the page had loaded');
  await page.waitForFunction(() => document.documentElement.dataset.engineRestarts === '2', null, { timeout: 60_000 });
  await click(page, 'step');
  const stepped = await until(page, (s) => s.status === 'paused' && s.step === paused.step + 1, 'one step after the restart');
  assert.equal(stepped.error, '');

  // 3. A diverging run (lr 10): stopped with a message, back at its last checkpoint.
  await click(page, 'reset');
  await until(page, (s) => s.status === 'idle', 'reset');
  await train(page, { steps: 200, lr: 10 });
  const diverged = await until(page, (s) => s.error !== '', 'the diverging run stops');
  console.log(`lr 10: ${diverged.error}`);
  assert.match(diverged.error, /the run diverged: the loss reached .* at step \d+ .*The run is back at its last checkpoint, step 0/);
  const kept = await page.evaluate(async () => {
    const s = window.__toylensKit.nb.session;
    const w = new Uint8Array(await s.client.call('train_weights', { run: s.run }));
    const t0 = new Uint8Array(s.timeline[0].weights);
    return { step: s.step, status: s.status, timeline: s.timeline.map((e) => e.step), same: w.length === t0.length && w.every((b, i) => b === t0[i]) };
  });
  assert.deepEqual(kept, { step: 0, status: 'paused', timeline: [0], same: true }, 'the run is its last good checkpoint');

  // 4. Bad input where the reader acts: the model and the figures stay as they were.
  await page.waitForFunction(() => document.querySelector('[data-view="kit/full-ov"]').dataset.state === 'ready');
  const ov = await figureData(page, 'kit/full-ov');
  const model = await page.evaluate(() => document.documentElement.dataset.model);
  const drop = (name, b64) =>
    page.evaluate(
      ([n, data]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], n));
        const panel = document.querySelector('tl-train-panel');
        panel.querySelector(':scope > [data-ref="error"]').textContent = '';
        panel.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [name, b64],
    );
  const panelError = async () => {
    await page.waitForFunction(() => document.querySelector('tl-train-panel > [data-ref="error"]').textContent !== '', null, { timeout: 60_000 });
    return page.locator('tl-train-panel > [data-ref="error"]').textContent();
  };
  const fs = await import('node:fs');
  // Another task's weights (min's model on the cumsum page): the shapes say so.
  await drop('min.safetensors', fs.readFileSync(path.join(DIST, 'models/min/model.safetensors')).toString('base64'));
  assert.match(await panelError(), /^min\.safetensors: .*(shape|expected|missing)/i);
  await drop('notes.txt', Buffer.from('these are my notes, not weights\n').toString('base64'));
  assert.match(await panelError(), /^notes\.txt: .+/);
  const field = page.locator('[data-view="kit/input"] input');
  const text = await field.inputValue();
  const n = text.trim().split(/\s+/).length;
  for (const [typed, message] of [
    ['', /type tokens/],
    [`${text} ${text.split(/\s+/)[0]}`, new RegExp(`expected ${n} tokens, got ${n + 1}`)],
    [text.replace(/^\S+/, '1.5'), /"1\.5" is not in the vocabulary/],
  ]) {
    await field.fill(typed);
    await page.waitForFunction(() => document.querySelector('[data-view="kit/input"]').dataset.state === 'error');
    assert.match(await page.locator('[data-view="kit/input"]').textContent(), message);
  }
  assert.equal(await page.evaluate(() => document.documentElement.dataset.model), model, 'the model stays');
  assert.equal(await figureData(page, 'kit/full-ov'), ov, 'the figures stay');
  assertCleanRun(withoutPanics(log, 'panic'), site.origin);
});

test('a full quota, two tabs and a tab killed mid-save', { timeout: 600_000 }, async (t) => {
  const { context, page: first, log } = await browserFor(t);
  // 1. A full quota (set before the page opens its database: Chromium reads it then): the
  // saves fail with the size they need, and training goes on; once there is room, it saves.
  const cdp = await context.newCDPSession(first);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: site.origin, quotaSize: 1 });
  await open(first, kit());
  // A normal page has no way to panic its engine.
  const refused = await first.evaluate(() => window.__toylensKit.nb.client.call('debug_panic', {}).then(() => 'accepted', (e) => e.message));
  assert.match(refused, /debug_panic is a test op/);
  const STEPS = 200;
  await train(first, { steps: STEPS });
  const full = await until(first, (s) => s.error !== '', 'the save fails');
  console.log(`quota: ${full.error}`);
  // The record holds the state and the timeline: more than one copy of the weights.
  const need = await first.evaluate(() => window.__toylensKit.nb.session.timeline[0].weights.byteLength);
  const m = full.error.match(/could not save the run in this browser: it needs ([\d.]+) (KB|MB) and the browser's storage for this site is full/);
  assert.ok(m, full.error);
  assert.ok(Number(m[1]) * (m[2] === 'MB' ? 1024 : 1) >= need / 1024 - 1, `the size shown (${m[1]} ${m[2]}) covers the weights (${need} bytes)`);
  assert.equal(await savedRecord(first), null, 'nothing saved');
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: site.origin });
  await until(first, (s) => s.status === 'done' && s.step === STEPS, 'training went on', 300_000);
  assert.equal((await savedRecord(first))?.step, STEPS, 'saved once there was room');

  // 2. A second tab of the page opens the saved run, and trains a run of its own: not saved
  // over the first tab's.
  const saved = await savedRecord(first);
  const second = await context.newPage();
  await open(second, kit());
  assert.equal((await panelState(second)).step, STEPS, 'the second tab opens the saved run');
  await train(second, { steps: 25 });
  const unsaved = await until(second, (s) => s.status === 'done' && s.step === 25, 'the second tab trains');
  assert.match(unsaved.notice, /open in another tab.*not saved/);
  assert.equal(unsaved.unsaved, true);
  assert.deepEqual(await savedRecord(second), saved, "the first tab's run is intact");

  // 3. The first tab closes: the second takes over and saves its run.
  await first.close();
  await until(second, (s) => /now saves its run/.test(s.notice) && !s.unsaved, 'the second tab takes over');
  assert.equal((await savedRecord(second))?.step, 25);

  // 5. The tab dies in the middle of a save (the put issued, its transaction not committed):
  // the page reopens with the last complete record.
  await click(second, 'reset');
  await until(second, (s) => s.status === 'idle', 'reset');
  await train(second, { steps: 20 });
  await until(second, (s) => s.status === 'done' && s.error === '', 'a run saved whole');
  const committed = await savedRecord(second);
  assert.equal(committed.step, 20);
  const killer = await context.newCDPSession(second); // attached now: the busy page could not attach it
  await second.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (value, key) {
      put.call(this, value, key);
      console.log(`toylens-test: put of step ${value.step} issued`);
      for (;;); // never back to the event loop: the transaction cannot commit
    };
  });
  const putIssued = second.waitForEvent('console', { predicate: (m) => m.text().startsWith('toylens-test: put'), timeout: 60_000 });
  await train(second, { steps: 20 }); // a fresh run: its first save would replace the record
  await putIssued;
  const crashed = second.waitForEvent('crash', { timeout: 30_000 });
  killer.send('Page.crash').catch(() => {}); // the renderer dies: it never replies
  await crashed;
  const third = await context.newPage();
  await open(third, kit());
  assert.deepEqual(await savedRecord(third), committed, 'the record is the last complete one');
  const restored = await third.evaluate(() => {
    const s = window.__toylensKit.nb.session;
    return { step: s.step, train: s.curves.train.length, timeline: s.timeline.at(-1).step };
  });
  assert.deepEqual(restored, { step: 20, train: 20, timeline: 20 }, 'the run reopens whole, where the record says');
  assertCleanRun(log, site.origin);
});
