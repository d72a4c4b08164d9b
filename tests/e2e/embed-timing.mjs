// What a blog post with embedded toylens figures costs its reader: bytes transferred and time
// until every <toylens-view> is ready, for a post with 1 and with N figures, cold (a fresh
// browser profile) and warm (the same post loaded again in that browser). Headless Chromium,
// site from TOYLENS_DIST (default dist/). Measures only; asserts nothing.
//   node tests/e2e/embed-timing.mjs [--figures 1,6] [--form module|classic] [--origin same|cross]
// module: <script type="module" src=…/embed.js>; classic: <script src=…/embed.js defer>
// (the no-CORS form). same: the post is on the toylens origin; cross: on a second origin
// (localhost vs 127.0.0.1), as a real blog would be (needs the classic form: our test server
// sends no CORS headers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveSite } from './site.mjs';
import { startServer } from './static-server.mjs';
import { launchBrowser } from './browser.mjs';

// Two notebooks, several widget kinds: what a post about them might show.
const VIEWS = ['min/full-ov', 'cumsum/probs', 'min/attention-to-a', 'cumsum/held-out', 'min/qk-eq-row', 'cumsum/we-singular-values'];

function args(argv) {
  const o = { figures: [1, 6], form: 'module', origin: 'same' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--figures') o.figures = v.split(',').map(Number);
    else if (argv[i] === '--form') o.form = v;
    else if (argv[i] === '--origin') o.origin = v;
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  return o;
}

function post(embedJs, form, views) {
  const script = form === 'module' ? `<script type="module" src="${embedJs}"></script>` : `<script src="${embedJs}" defer></script>`;
  // The post records when its last figure turned ready (no polling delay in the number).
  return `<!doctype html><meta charset="utf-8"><title>post</title>${script}
<script>
new MutationObserver(() => {
  const all = [...document.querySelectorAll('toylens-view')];
  if (!window.readyAt && all.every((e) => e.dataset.state === 'ready')) window.readyAt = performance.now();
}).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
</script>
${views.map((v) => `<p>A figure:</p><toylens-view view="${v}"></toylens-view>`).join('\n')}`;
}

async function load(page, url, log) {
  const from = log.finished.length;
  await page.goto(url);
  await page.waitForFunction(() => window.readyAt, null, { timeout: 300_000, polling: 200 });
  const ms = await page.evaluate(() => window.readyAt);
  await page.waitForTimeout(500); // late responses (e.g. the wasm's last bytes) are counted
  const done = log.finished.slice(from);
  const sizes = await Promise.all(done.map((r) => r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize).catch(() => 0)));
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const wasm = done.filter((r) => r.url().endsWith('_bg.wasm')).length; // either build of the engine
  const workers = done.filter((r) => r.url().endsWith('/engine/worker.js')).length; // = wasm instantiations
  return { ms: Math.round(ms), mb: +(bytes / 1e6).toFixed(2), requests: done.length, wasmFetches: wasm, workers };
}

const o = args(process.argv.slice(2));
const site = await serveSite(['embed.js', 'pkg/toylens_cpu_bg.wasm', 'pkg/toylens_bg.wasm']);
const hostDir = o.origin === 'cross' ? fs.mkdtempSync(path.join(os.tmpdir(), 'toylens-post-')) : site.extraDir;
const host = o.origin === 'cross' ? await startServer(hostDir, 0, 'localhost') : null;
const hostBase = host ? host.url : site.extraUrl;
const embedJs = new URL('embed.js', site.base).href;
const results = [];
try {
  for (const n of o.figures) {
    const file = `post-${n}.html`;
    fs.writeFileSync(path.join(hostDir, file), post(embedJs, o.form, Array.from({ length: n }, (_, k) => VIEWS[k % VIEWS.length])));
    const b = await launchBrowser();
    b.log.finished = [];
    b.context.on('requestfinished', (r) => b.log.finished.push(r));
    try {
      const url = new URL(file, hostBase).href;
      const cold = await load(b.page, url, b.log);
      const warm = await load(b.page, url, b.log);
      results.push({ figures: n, form: o.form, origin: o.origin, cold, warm });
      console.log(JSON.stringify(results.at(-1)));
    } finally {
      await b.close();
    }
  }
} finally {
  await host?.close();
  await site.close();
  if (host) fs.rmSync(hostDir, { recursive: true, force: true });
}
