// Embedding by view name (www/embed.js) as a blog post does it: the post on a second origin,
// the figures in frames of the toylens site sharing one engine (embed/engine.html), sized to
// their figures, following their attributes; and what the element says when it cannot work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { browserFor, serveSite } from './site.mjs';
import { startServer } from './static-server.mjs';

let site;
let post; // the blog: another origin (localhost vs the site's 127.0.0.1)
let postDir;
before(async () => {
  site = await serveSite(['embed.js', 'embed/engine.html', 'notebooks/min/index.html', 'pkg/toylens_cpu_bg.wasm', 'pkg/toylens_bg.wasm']);
  postDir = fs.mkdtempSync(path.join(os.tmpdir(), 'toylens-post-'));
  post = await startServer(postDir, 0, 'localhost');
});
after(async () => {
  await post?.close();
  await site?.close();
  fs.rmSync(postDir, { recursive: true, force: true });
});

/** Writes a post with `script` and `body` on the blog's origin; returns its URL. */
function writePost(name, script, body) {
  fs.writeFileSync(path.join(postDir, name), `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>a post</title>${script}\n<main style="max-width:40rem">${body}</main>`);
  return new URL(name, post.url).href;
}

const allReady = () => [...document.querySelectorAll('toylens-view')].every((e) => e.dataset.state === 'ready');
const count = (log, pred) => log.requests.filter(pred).length;

test('a post on another origin: three figures from two notebooks share one engine, follow their attributes and fit their frames', { timeout: 300_000 }, async (t) => {
  const { page, log, context } = await browserFor(t);
  // The module form needs the toylens host to send CORS for embed.js (the rest is framed).
  await context.route('**/embed.js', async (route) => {
    const r = await route.fetch();
    await route.fulfill({ response: r, headers: { ...r.headers(), 'access-control-allow-origin': '*' } });
  });
  const url = writePost(
    'three.html',
    `<script type="module" src="${new URL('embed.js', site.base).href}"></script>`,
    '<toylens-view id="a" view="min/full-ov"></toylens-view><p>text</p><toylens-view id="b" view="cumsum/probs"></toylens-view><toylens-view id="c" view="min/attention-mean"></toylens-view>',
  );
  await page.goto(url);
  await page.waitForFunction(allReady, null, { timeout: 240_000 });
  // Each element carries its figure's claim verdict: on the final checkpoint, every claim holds.
  const claims = () => page.evaluate(() => [...document.querySelectorAll('toylens-view')].map((e) => `${e.id}:${e.dataset.claim}`));
  await page.waitForFunction(() => [...document.querySelectorAll('toylens-view')].every((e) => e.dataset.claim), null, { timeout: 10_000 });
  assert.deepEqual(await claims(), ['a:holds', 'b:holds', 'c:holds']);

  // One engine: one worker, each wasm build at most once (the CPU-only one draws; the full one
  // only for the WebGPU self-test), each model file once, one engine frame for the page.
  assert.equal(count(log, (u) => u.endsWith('/engine/worker.js')), 1, 'engine workers started');
  assert.equal(count(log, (u) => u.endsWith('/toylens_cpu_bg.wasm')), 1, 'toylens_cpu_bg.wasm fetches');
  assert.ok(count(log, (u) => u.endsWith('/toylens_bg.wasm')) <= 1, 'toylens_bg.wasm fetches');
  const models = log.requests.filter((u) => u.includes('/models/'));
  assert.ok(models.some((u) => u.endsWith('min/model.safetensors')) && models.some((u) => u.endsWith('cumsum/model.safetensors')), models.join('\n'));
  for (const u of new Set(models)) assert.equal(count(log, (v) => v === u), 1, `${u} fetched more than once`);
  assert.equal(await page.locator('iframe[src$="embed/engine.html"]').count(), 1);

  // Each frame is as tall as what it shows: no empty band under the figure, nothing cut off.
  const fit = async (view) => {
    const frame = page.frames().find((f) => new URL(f.url()).searchParams.get('view') === view);
    assert.ok(frame, `the frame of ${view}`);
    return frame.evaluate((v) => {
      const fig = document.querySelector(`[data-view="${v}"]`);
      return { gap: innerHeight - fig.getBoundingClientRect().bottom, overflow: document.documentElement.scrollHeight - innerHeight, figure: fig.getBoundingClientRect().height };
    }, view);
  };
  for (const view of ['min/full-ov', 'cumsum/probs']) {
    const f = await fit(view);
    assert.ok(f.figure > 100, `${view}: figure ${f.figure} px`);
    assert.ok(f.gap >= 0 && f.gap <= 24, `${view}: ${f.gap} px between the figure and the frame's bottom`);
    assert.ok(f.overflow <= 1, `${view}: ${f.overflow} px cut off`);
  }

  // Live attributes: another view, and another checkpoint, re-render in place on the same engine.
  await page.evaluate(() => {
    document.getElementById('a').setAttribute('view', 'min/full-qk');
    document.getElementById('c').setAttribute('checkpoint', '81');
  });
  await page.waitForFunction(() => document.getElementById('a').dataset.view === 'min/full-qk', null, { timeout: 10_000 });
  await page.waitForFunction(allReady, null, { timeout: 120_000 });
  const c = page.frames().find((f) => new URL(f.url()).searchParams.get('view') === 'min/attention-mean');
  await c.waitForFunction(() => document.documentElement.dataset.model === 'pretrained:81', null, { timeout: 30_000 });
  const qk = await fit('min/full-qk');
  assert.ok(qk.gap >= 0 && qk.gap <= 24 && qk.overflow <= 1, JSON.stringify(qk));
  assert.equal(count(log, (u) => u.endsWith('/toylens_cpu_bg.wasm')), 1, 'a new view reuses the engine');
  assert.ok(count(log, (u) => u.endsWith('/toylens_bg.wasm')) <= 1, 'and the full engine, if loaded');
  assert.equal(count(log, (u) => u.endsWith('min/model.safetensors')), 1, 'and its model');

  assert.deepEqual(log.consoleErrors, [], 'console errors');
  assert.deepEqual(log.pageErrors, [], 'uncaught page or worker errors');
  const origins = new Set([site.origin, new URL(post.url).origin]);
  assert.deepEqual(log.requests.filter((u) => !origins.has(new URL(u).origin) && !u.startsWith('data:')), [], 'requests elsewhere');
});

test('a host without CORS headers: the classic script works; an unknown view and an unreachable site say why in the element', { timeout: 240_000 }, async (t) => {
  const { page } = await browserFor(t);
  const r = await fetch(new URL('embed.js', site.base));
  assert.equal(r.headers.get('access-control-allow-origin'), null, 'the test server sends no CORS headers');
  const url = writePost(
    'no-cors.html',
    `<script src="${new URL('embed.js', site.base).href}" defer></script>`,
    `<toylens-view id="ok" view="min/full-ov"></toylens-view>
     <toylens-view id="unknown" view="min/no-such-figure">(shown if embed.js does not run)</toylens-view>
     <toylens-view id="gone" view="min/full-ov" site="${new URL('../nowhere/', site.base).href}"></toylens-view>`,
  );
  await page.goto(url);
  const state = (id) => page.evaluate((i) => ({ state: document.getElementById(i).dataset.state, text: document.getElementById(i).textContent }), id);
  await page.waitForFunction(() => ['ok', 'unknown', 'gone'].every((i) => document.getElementById(i).dataset.state !== 'loading'), null, { timeout: 200_000 });
  assert.equal((await state('ok')).state, 'ready');
  const unknown = await state('unknown');
  assert.equal(unknown.state, 'error');
  assert.match(unknown.text, /no view "min\/no-such-figure"/);
  assert.match(unknown.text, /min\/full-ov/, 'the fix lists the names');
  assert.doesNotMatch(unknown.text, /shown if/, 'the fallback text goes once the script runs');
  const gone = await state('gone');
  assert.equal(gone.state, 'error');
  assert.match(gone.text, /did not answer from .*nowhere\/embed\/engine\.html/);
  assert.match(gone.text, /Content-Security-Policy/);
});
