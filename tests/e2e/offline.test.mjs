// Serving and offline use (issue 14), on the built site ($TOYLENS_DIST or dist/):
// - the static server answers like a static host with precompressed files: the .br or .gz
//   the request accepts (br first), Content-Encoding, Vary, the right Content-Type, an ETag
//   that revalidates to 304;
// - in one browser: the front page at 390 px draws its five live figures with no sideways
//   scroll and saves the site for offline use ("ready offline"); with the network off, a
//   notebook page never visited draws its figures, follows its timeline to an earlier
//   checkpoint and trains two steps on the CPU; back
//   online, a rebuilt site (one changed file, so a new sw.js) installs next to the old one,
//   the old page keeps its own version's files until the reader applies the update, then
//   the new version's cache is the only one. Prints the precache size and time to ready.
// Run: node --test tests/e2e/offline.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { launchBrowser } from './browser.mjs';
import { DIST, ROOT, assertCleanRun, serveSite } from './site.mjs';
import { startServer } from './static-server.mjs';
import { writeServiceWorker } from '../../tools/precache.mjs';

/** One GET with raw (undecoded) bytes: {status, headers, body}. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the server sends the precompressed file the request accepts, with a static host\'s headers', async (t) => {
  const site = await serveSite();
  t.after(() => site.close());
  const wasm = fs.readFileSync(path.join(DIST, 'pkg/toylens_bg.wasm'));
  const url = new URL('pkg/toylens_bg.wasm', site.base).href;
  const cases = [
    { accept: 'gzip, deflate, br, zstd', encoding: 'br', decode: zlib.brotliDecompressSync },
    { accept: 'gzip, deflate', encoding: 'gzip', decode: zlib.gunzipSync },
    { accept: 'identity', encoding: undefined, decode: (b) => b },
  ];
  for (const { accept, encoding, decode } of cases) {
    const r = await get(url, { 'accept-encoding': accept });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/wasm', accept);
    assert.equal(r.headers['content-encoding'], encoding, accept);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.ok(decode(r.body).equals(wasm), `${accept}: the decoded body is the wasm`);
    if (encoding) assert.ok(r.body.length < wasm.length / 3, `${encoding}: ${r.body.length} bytes for ${wasm.length}`);
    console.log(`# wasm as ${encoding ?? 'identity'}: ${(r.body.length / 1e6).toFixed(2)} MB`);
    const again = await get(url, { 'accept-encoding': accept, 'if-none-match': r.headers.etag });
    assert.equal(again.status, 304, `${accept}: revalidation`);
    assert.equal(again.body.length, 0);
  }
  const page = await get(new URL('notebooks/cumsum/', site.base).href, { 'accept-encoding': 'br' });
  assert.equal(page.headers['content-type'], 'text/html;charset=utf-8');
  assert.match(zlib.brotliDecompressSync(page.body).toString(), /<tl-train-panel/);
  const metrics = await get(new URL('models/cumsum/metrics.jsonl', site.base).href, { 'accept-encoding': 'gzip' });
  assert.equal(metrics.headers['content-type'], 'application/jsonl; charset=utf-8');
  assert.equal(metrics.headers['content-encoding'], 'gzip');
});

/**
 * A copy of the built site that a test can "rebuild": links to DIST's entries, but its own
 * style.css and sw.js (their precompressed variants left out, so the server sends the copies).
 */
function rebuildableSite() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toylens-offline-'));
  const site = path.join(dir, 'sub/toylens');
  fs.mkdirSync(site, { recursive: true });
  const own = /^(sw\.js|style\.css)(\.br|\.gz)?$/;
  for (const name of fs.readdirSync(DIST)) {
    if (!own.test(name) && !name.startsWith('.')) fs.symlinkSync(path.join(DIST, name), path.join(site, name));
  }
  fs.copyFileSync(path.join(DIST, 'style.css'), path.join(site, 'style.css'));
  /** Writes sw.js for the site as it is now (as the build does); returns the manifest. */
  const build = () => {
    fs.copyFileSync(path.join(ROOT, 'www/sw.js'), path.join(site, 'sw.js'));
    return writeServiceWorker(site);
  };
  return { dir, site, build };
}

const offlineLine = (page) => page.$eval('.tl-offline', (e) => ({ state: e.dataset.state, text: e.textContent }));

test('front page on a phone, then the site offline (a new page, training included), then an update', { timeout: 900_000 }, async (t) => {
  const copy = rebuildableSite();
  const v1 = copy.build();
  const server = await startServer(copy.dir);
  const base = new URL('sub/toylens/', server.url).href;
  t.after(async () => {
    await server.close();
    fs.rmSync(copy.dir, { recursive: true, force: true });
  });
  const b = await launchBrowser({ serviceWorkers: 'allow' });
  t.after(() => b.close());
  const { page, context, log } = b;
  const origin = new URL(server.url).origin;

  // 1. The front page at 390 px: five notebooks, each with a live figure and its sentence.
  await page.setViewportSize({ width: 390, height: 844 });
  const t0 = Date.now();
  await page.goto(base);
  await page.waitForSelector('.tl-offline[data-state="ready"]', { timeout: 300_000 });
  const readyMs = Date.now() - t0;
  const precacheMb = v1.files.filter((f) => !f.lazy).reduce((s, f) => s + f.size, 0) / 1e6;
  console.log(`# ready offline ${readyMs} ms after a cold navigation to the front page (precache ${precacheMb.toFixed(1)} MB, version ${v1.version})`);
  // The figures' frames load when scrolled near: scroll through the page.
  for (const v of await page.locator('.fp-notebook toylens-view').all()) await v.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const views = [...document.querySelectorAll('.fp-notebook toylens-view')];
    const bad = views.find((v) => v.dataset.state === 'error');
    if (bad) throw new Error(`${bad.getAttribute('view')}: ${bad.errorMessage}`);
    return views.length === 5 && views.every((v) => v.dataset.state === 'ready');
  }, null, { timeout: 600_000, polling: 250 });
  const front = await page.evaluate(() => ({
    entries: [...document.querySelectorAll('.fp-notebook')].map((e) => ({
      link: e.querySelector('h3 a')?.getAttribute('href'),
      sentence: e.querySelector('p')?.textContent.trim().length ?? 0,
      height: e.querySelector('toylens-view').getBoundingClientRect().height,
    })),
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  console.log(`# front page figures drawn ${Date.now() - t0} ms after navigation`);
  assert.deepEqual(front.entries.map((e) => e.link), ['notebooks/cumsum/', 'notebooks/min/', 'notebooks/addition/', 'notebooks/majority/', 'notebooks/sorting/']);
  for (const e of front.entries) assert.ok(e.sentence > 40 && e.height > 100, `entry ${e.link}: ${JSON.stringify(e)}`);
  assert.ok(front.scrollWidth <= front.width, `no sideways scroll at 390 px: page is ${front.scrollWidth} px wide`);
  assertCleanRun(log, origin);

  // 2. Offline: a notebook page this browser never opened draws its figures and trains.
  await context.setOffline(true);
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(new URL('notebooks/cumsum/?backend=cpu', base).href);
  assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the page comes from the service worker');
  await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: 300_000, polling: 250 });
  // The timeline scrubs offline too: small models' checkpoints are saved on install.
  const steps = JSON.parse(fs.readFileSync(path.join(DIST, 'models/index.json'), 'utf8')).cumsum.checkpoints;
  const mid = Math.floor(steps.length / 2);
  await page.$eval('tl-timeline [data-ref="range"]', (r, i) => {
    r.value = String(i);
    r.dispatchEvent(new Event('input'));
    r.dispatchEvent(new Event('change'));
  }, mid);
  await page.waitForFunction((m) => document.documentElement.dataset.model === m, `pretrained:${steps[mid]}`, { timeout: 120_000 });
  await page.waitForFunction(() => {
    const figs = [...document.querySelectorAll('[data-view]')];
    const bad = figs.find((f) => f.dataset.state === 'error');
    if (bad) throw new Error(`${bad.dataset.view}: ${bad.errorMessage || bad.textContent}`);
    return figs.every((f) => f.dataset.state === 'ready');
  }, null, { timeout: 300_000, polling: 250 });
  const panel = page.locator('tl-train-panel');
  await panel.locator('[data-ref="steps"]').fill('2');
  await panel.locator('[data-ref="batch"]').fill('16');
  await panel.locator('[data-ref="start"]').click();
  await page.waitForSelector('tl-train-panel[data-status="done"]', { timeout: 120_000 });
  const run = await page.evaluate(() => ({ backend: window.__notebook.session.backend, step: window.__notebook.session.step }));
  assert.deepEqual(run, { backend: 'cpu', step: 2 }, 'two steps trained offline');
  assert.equal((await offlineLine(page)).state, 'ready');
  assertCleanRun(log, origin);

  // 3. Online again, the site is rebuilt with one changed file: a new version. The open
  // page keeps its version's files until the reader applies the update.
  await context.setOffline(false);
  fs.appendFileSync(path.join(copy.site, 'style.css'), '\n:root { --toylens-build: "2"; }\n');
  const v2 = copy.build();
  assert.notEqual(v2.version, v1.version);
  const build = () => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--toylens-build').trim());
  await page.reload();
  await page.waitForSelector('.tl-offline[data-state="update"]', { timeout: 120_000 });
  assert.equal(await build(), '', 'the old page still has its own style.css');
  await page.locator('.tl-offline button').click(); // reloads the page on the new version
  await page.waitForFunction(() => getComputedStyle(document.documentElement).getPropertyValue('--toylens-build').trim() === '"2"', null, { timeout: 60_000 });
  await page.waitForSelector('.tl-offline[data-state="ready"]', { timeout: 60_000 });
  const cacheNames = await page.evaluate(() => caches.keys());
  assert.deepEqual(cacheNames, [`toylens-${v2.version}`], 'the new version\'s cache replaced the old one');
  await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: 300_000, polling: 250 });
  assertCleanRun(log, origin);
});
