// The browser half of `./build.sh bench`: in headless Chromium (SwiftShader WebGPU), the
// in-page training speed of each task's notebook recipe per backend, the widgets' redraw
// times (tests/e2e/redraw.mjs), and on the kit page the time from an input edit to the
// dependent figures redrawn with the engine's new numbers, on each notebook page (CPU) the time
// from a timeline move to the figures in view and to every figure redrawn for the new
// checkpoint, and the engine's download (each wasm build as the site serves it: raw, .gz,
// .br). Measures only; asserts nothing.
//   node tests/e2e/bench-browser.mjs DIST OUT.json [--seconds S] [--tasks a,b] [--backends cpu,webgpu]
//     [--parts training,redraw,edit,page-edit,timeline,first-figure,download]   (a part not run keeps its previous result in OUT.json)
//     [--raster cpu|gpu]   (cpu, the default: Chromium rasterizes and composites in software,
//     as it does on a machine without a usable GPU, which this one is; gpu: through SwiftShader's
//     GL, an artifact of the flags that give the tests a WebGPU adapter: its raster held a frame
//     for up to ~2 s while the engines' workers filled both cores, and its compositing kept the
//     GPU process's main thread busy 1.66 s of a 3.8-s cold load of addition. WebGPU itself is
//     SwiftShader's either way: the adapter stays.)
//     [--pytorch bench/results/bench.json]   (each training speed as a ratio to the PyTorch
//     reference's median steps/s measured there: same machine, same `./build.sh bench` run)
import fs from 'node:fs';
import { startServer } from './static-server.mjs';
import { launchBrowser } from './browser.mjs';
import { measureRedraws } from './redraw.mjs';
import { TASK_PAGES } from '../../www/notebooks/pages.js';
import { computed } from '../../www/notebooks/declare.js';

function args(argv) {
  const [dist, out, ...rest] = argv;
  const o = { dist, out, raster: 'cpu', seconds: 15, tasks: ['cumsum', 'min', 'sorting', 'majority', 'addition'], backends: ['cpu', 'webgpu'], parts: ['training', 'redraw', 'edit', 'page-edit', 'timeline', 'first-figure', 'download'] };
  for (let i = 0; i < rest.length; i += 2) {
    const v = rest[i + 1];
    if (rest[i] === '--seconds') o.seconds = Number(v);
    else if (rest[i] === '--tasks') o.tasks = v.split(',');
    else if (rest[i] === '--backends') o.backends = v.split(',');
    else if (rest[i] === '--parts') o.parts = v.split(',');
    else if (rest[i] === '--pytorch') o.pytorch = v;
    else if (rest[i] === '--raster' && ['gpu', 'cpu'].includes(v)) o.raster = v;
    else throw new Error(`unknown flag ${rest[i]}`);
  }
  if (!dist || !out) throw new Error('usage: node tests/e2e/bench-browser.mjs DIST OUT.json [--seconds S] [--tasks a,b] [--backends cpu,webgpu] [--parts training,redraw,edit,page-edit,timeline,first-figure,download]');
  return o;
}

// A notebook page on the CPU at 1200×900, every figure drawn for the final checkpoint and the
// page scrolled to its first figure of the model; then timeline moves as a reader makes them
// (letting go of the slider): to the middle checkpoint, a quarter of the way, three quarters
// of the way (each shown for the first time: the medians are of these three), and back to the
// middle (a checkpoint shown before, whose reads the page kept: `revisit`). Per move, the ms
// until every figure that was in the viewport at the move has drawn again (`visible_ms`) and
// until every computed figure has and html[data-model] names the new checkpoint (`all_ms`);
// `visible_first_ms` and `all_first_ms` count a first pass from fewer examples as drawn (the
// figure says so; it is refined after).
async function timelineMoves(page, base, task) {
  const declared = computed(TASK_PAGES.find((p) => p.task === task));
  const views = declared.map((f) => f.view);
  // The reader looks at the model's figures: the first one that follows the timeline on top.
  const first = declared.find((f) => f.follows === 'timeline').view;
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(new URL(`notebooks/${task}/?backend=cpu`, base).href);
  await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: 600_000 });
  const steps = await page.$eval('tl-timeline', (t) => t.sources.pretrained);
  await page.$eval(`[data-view="${first}"]`, (e) => e.scrollIntoView({ block: 'start' }));
  const fresh = [Math.floor(steps.length / 2), Math.floor(steps.length / 4), Math.floor((3 * steps.length) / 4)];
  const targets = [...fresh, fresh[0]];
  const moves = [];
  for (const i of targets) {
    const r = await page.evaluate(async ({ views, i, step }) => {
      const els = views.map((v) => document.querySelector(`[data-view="${v}"]`));
      const inView = els.filter((e) => {
        const b = e.getBoundingClientRect();
        return b.bottom > 0 && b.top < innerHeight;
      });
      const range = document.querySelector('tl-timeline [data-ref="range"]');
      const t0 = performance.now();
      range.value = String(i);
      range.dispatchEvent(new Event('input'));
      range.dispatchEvent(new Event('change'));
      const drawn = (e) => e.dataset.state === 'ready' && e.drawnAt > t0;
      // A first pass (data-state "refining": a figure drawn from fewer examples, saying so).
      const shown = (e) => (e.dataset.state === 'ready' || e.dataset.state === 'refining') && e.drawnAt > t0;
      let visible = null;
      let visibleShown = null;
      let allShown = null;
      for (;;) {
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        if (visible == null && inView.every(drawn)) visible = now - t0;
        if (visibleShown == null && inView.every(shown)) visibleShown = now - t0;
        if (allShown == null && els.every(shown)) allShown = now - t0;
        if (document.documentElement.dataset.model === `pretrained:${step}` && els.every(drawn)) {
          const ms = (x) => Math.round(x ?? now - t0);
          return { visible_first_ms: ms(visibleShown), all_first_ms: ms(allShown), visible_ms: ms(visible), all_ms: Math.round(now - t0), in_view: inView.map((e) => e.dataset.view) };
        }
        if (now - t0 > 300_000) return { error: 'not every figure followed within 300 s' };
      }
    }, { views, i, step: steps[i] });
    moves.push({ step: steps[i], ...r });
  }
  const revisit = moves.pop();
  const med = (k) => moves.map((m) => m[k]).sort((a, b) => a - b)[1];
  // *_first_ms: until every such figure was drawn, a first pass counting (see runtime.js);
  // the others: until every one was exact.
  return { task, moves, revisit, median_visible_first_ms: med('visible_first_ms'), median_all_first_ms: med('all_first_ms'), median_visible_ms: med('visible_ms'), median_all_ms: med('all_ms') };
}

// Steps/s of one task's default recipe after two warm-up steps (shader compilation, first
// allocations), over at most `seconds`; then, where the page would train it data-parallel
// (www/engine/replicas.js: long CPU steps, several cores), the same with its replicas.
// steps_per_sec is what the page ends up with: the replicas' rate when they pay (as the
// session decides: at least 10% faster), else one worker's.
async function trainingSpeed(page, task, backend, seconds) {
  return page.evaluate(
    async ({ task, backend, seconds }) => {
      const { EngineClient } = await import(new URL('engine/client.js', document.baseURI).href);
      const { Replicas, pays, workersFor } = await import(new URL('engine/replicas.js', document.baseURI).href);
      const c = new EngineClient();
      let replicas = null;
      // Up to `seconds` of step calls: {steps, ms, loss}.
      const timed = async (call) => {
        let steps = 0;
        let ms = 0;
        let loss = null;
        while (ms < seconds * 1000 && steps < 2000) {
          const s = await call(steps === 0 ? 1 : Math.max(1, Math.min(200, Math.round(steps / (ms / 1000) / 4))));
          steps += s.logs.length;
          ms += s.ms;
          loss = s.logs.at(-1)?.loss ?? loss;
        }
        return { steps, ms, loss };
      };
      try {
        const r = await c.call('train_create', { backend, task });
        const t0 = performance.now();
        await c.call('train_steps', { run: r.run, n: 2 });
        const warmup = performance.now() - t0;
        const one = await timed((n) => c.call('train_steps', { run: r.run, n }));
        const out = { task, backend, batch_size: r.settings.recipe.batch_size, workers: 1, steps: one.steps, seconds: one.ms / 1000, steps_per_sec: one.steps / (one.ms / 1000), one_worker_steps_per_sec: one.steps / (one.ms / 1000), warmup_seconds: warmup / 1000, last_loss: one.loss, cores: navigator.hardwareConcurrency };
        const k = workersFor(one.ms / one.steps, backend);
        if (k > 1) {
          replicas = new Replicas(() => new EngineClient(), k);
          const state = await c.call('train_state', { run: r.run });
          const at = (await c.call('train_steps', { run: r.run, n: 0 })).step;
          await replicas.sync(r.run, at, state);
          await replicas.step({ client: c, run: r.run }); // the replicas' warm-up
          const par = await timed(() => replicas.step({ client: c, run: r.run }));
          const rate = par.steps / (par.ms / 1000);
          out.replicas = { workers: k, steps: par.steps, seconds: par.ms / 1000, steps_per_sec: rate, last_loss: par.loss };
          if (pays(1000 / rate, one.ms / one.steps)) Object.assign(out, { workers: k, steps_per_sec: rate, last_loss: par.loss });
        }
        return out;
      } catch (e) {
        return { task, backend, error: e.message };
      } finally {
        replicas?.close();
        c.terminate();
      }
    },
    { task, backend, seconds },
  );
}

// A notebook page on the CPU engine: change one free token of its input, time until every
// figure that follows the input (from the page's declaration) has drawn again. The page
// targets: well under a second for majority (128 tokens), under a frame for sorting.
async function pageEdit(page, base, task) {
  await page.goto(new URL(`notebooks/${task}/?backend=cpu`, base).href);
  await page.waitForFunction(() => document.documentElement.dataset.model, null, { timeout: 300_000 });
  return page.evaluate(async (task) => {
    const { computed } = await import(new URL('../declare.js', location.href).href);
    const { default: decl } = await import(new URL('page.js', location.href).href);
    const figs = computed(decl).filter((f) => f.follows === 'input').map((f) => document.querySelector(`[data-view="${f.view}"]`));
    const input = document.querySelector(`[data-view="${task}/input"]`);
    const free = input.tokens.map((_, i) => i).filter((i) => input.fixed?.[i] === undefined);
    const n = Math.min(input.vocab.length, 10); // ids every position of these tasks accepts
    const rows = [];
    for (let i = 0; i < 15; i++) {
      const toks = [...input.tokens];
      const at = free[(i * 7) % free.length];
      toks[at] = (toks[at] + 1) % n;
      const drawn = figs.map((el) => new Promise((r) => el.addEventListener('toylens-render', r, { once: true })));
      const t0 = performance.now();
      input.tokens = toks;
      input.dispatchEvent(new CustomEvent('change', { detail: { tokens: toks } }));
      const ok = await Promise.race([Promise.all(drawn).then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
      if (!ok) return { task, error: `edit ${i}: not every input figure drew within 10 s` };
      rows.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    rows.sort((a, b) => a - b);
    return { task, figures: figs.length, edits: rows.length, median_ms: rows[rows.length >> 1], min_ms: rows[0], max_ms: rows.at(-1) };
  }, task);
}

// A cold load of a notebook page (a fresh browser: empty HTTP cache) with the automatic
// backend and with the CPU forced: from navigation to the first computed figure drawn, to
// every figure drawn with first passes counting (every_figure_first_ms), and to every figure
// exact for the first model (html[data-model]). The browser has settled first: a reader's is
// running before they open the page, and a Chromium just launched spends its first second
// starting its own processes (~300 ms of a page's 2 cores here).
const SETTLE_MS = 1500;
const COLD_LOADS = 3;
async function firstFigure(base, task, query, extraArgs) {
  const b = await launchBrowser({ extraArgs });
  try {
    await b.page.goto('about:blank');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await b.page.addInitScript(() => {
      window.__readyAt = {};
      window.__shownAt = {}; // a first pass counting (data-state "refining")
      new MutationObserver((records) => {
        for (const r of records) {
          const v = r.target.dataset?.view;
          const state = r.target.dataset?.state;
          if (v && state === 'ready' && !(v in window.__readyAt)) window.__readyAt[v] = performance.now();
          if (v && (state === 'ready' || state === 'refining') && !(v in window.__shownAt)) window.__shownAt[v] = performance.now();
          if (r.attributeName === 'data-model' && !window.__modelAt) window.__modelAt = performance.now();
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state', 'data-model'] });
    });
    await b.page.goto(new URL(`notebooks/${task}/${query}`, base).href);
    await b.page.waitForFunction(() => window.__modelAt, null, { timeout: 300_000 });
    return await b.page.evaluate(async ({ task, query }) => {
      const { computed } = await import(new URL('../declare.js', location.href).href);
      const { default: decl } = await import(new URL('page.js', location.href).href);
      const times = computed(decl).map((f) => window.__readyAt[f.view]).filter((t) => t !== undefined);
      const shown = computed(decl).map((f) => window.__shownAt[f.view] ?? window.__modelAt);
      const backend = document.querySelector('tl-backend')?.dataset.backend;
      return { task, query, first_figure_ms: Math.min(...times), every_figure_first_ms: Math.max(...shown), every_figure_ms: window.__modelAt, backend_then: backend };
    }, { task, query });
  } finally {
    await b.close();
  }
}

// The goal of issue 17 for the wasm a page loads before its first figure: the CPU-only build
// (www/engine/worker.js loads the full one only for WebGPU).
const WASM_GOAL_MB = { gzip: 2.5, brotli: 2.0 };

// Each build of the engine as the static server sends it: the precompressed files of the site.
function download(dist) {
  const mb = (f) => (fs.existsSync(f) ? +(fs.statSync(f).size / 1e6).toFixed(3) : null);
  return ['toylens_cpu', 'toylens'].map((name) => {
    const wasm = `${dist}/pkg/${name}_bg.wasm`;
    const r = { build: name === 'toylens' ? 'full (CPU and WebGPU)' : 'CPU-only (loaded first)', file: `pkg/${name}_bg.wasm`, raw_mb: mb(wasm), gzip_mb: mb(`${wasm}.gz`), brotli_mb: mb(`${wasm}.br`) };
    if (name === 'toylens_cpu') r.ratio_to_goal = { gzip: r.gzip_mb / WASM_GOAL_MB.gzip, brotli: r.brotli_mb / WASM_GOAL_MB.brotli };
    return r;
  });
}

// Kit page: edit the input, time until the dependent figures have redrawn with new data.
async function inputEdit(page, base, backend) {
  await page.goto(new URL(`kit/?task=cumsum&backend=${backend}`, base).href);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-view^="kit/"]')].every((e) => e.dataset.state === 'ready'), null, { timeout: 180_000 });
  return page.evaluate(async () => {
    const input = document.querySelector('[data-view="kit/input"]');
    const probs = document.querySelector('[data-view="kit/probs"]');
    const att = document.querySelector('[data-view="kit/attention"]');
    const rows = [];
    for (let i = 0; i < 15; i++) {
      const toks = [...input.tokens];
      toks[i % toks.length] = (toks[i % toks.length] + 1) % input.vocab.length;
      const both = Promise.all([probs, att].map((el) => new Promise((r) => el.addEventListener('toylens-render', r, { once: true }))));
      const t0 = performance.now();
      input.tokens = toks;
      input.dispatchEvent(new CustomEvent('change', { detail: { tokens: toks } }));
      await both;
      rows.push({ total_ms: performance.now() - t0, probs_draw_ms: probs.lastRenderMs, attention_draw_ms: att.lastRenderMs });
    }
    const med = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[rows.length >> 1];
    return { edits: rows.length, median_total_ms: med('total_ms'), median_probs_draw_ms: med('probs_draw_ms'), median_attention_draw_ms: med('attention_draw_ms') };
  });
}

export async function benchBrowser(o, previous = {}) {
  const server = await startServer(o.dist);
  const extraArgs = o.raster === 'cpu' ? ['--disable-gpu-rasterization', '--disable-gpu-compositing'] : [];
  const b = await launchBrowser({ extraArgs });
  const result = { training: previous.training ?? [], redraw: previous.redraw ?? [], input_edit: previous.input_edit ?? [], page_edit: previous.page_edit ?? [], timeline_move: previous.timeline_move ?? [], first_figure: previous.first_figure ?? [], download: previous.download ?? [] };
  if (o.parts.includes('download')) result.download = download(o.dist);
  // Each part on a fresh page: a page that spent minutes in SwiftShader can be slow to leave.
  const fresh = async () => {
    const page = await b.context.newPage();
    page.setDefaultNavigationTimeout(120_000);
    return page;
  };
  try {
    if (o.parts.includes('training')) {
      result.training = [];
      const page = await fresh();
      await page.goto(server.url);
      for (const backend of o.backends) {
        for (const task of o.tasks) {
          const r = await trainingSpeed(page, task, backend, o.seconds);
          console.error(JSON.stringify(r));
          result.training.push(r);
        }
      }
      await page.close();
    }
    if (o.parts.includes('redraw')) {
      const page = await fresh();
      await page.goto(new URL('widgets/test.html', server.url).href);
      result.redraw = await measureRedraws(page);
      await page.close();
    }
    if (o.parts.includes('edit')) {
      result.input_edit = [];
      for (const backend of o.backends) {
        const page = await fresh();
        result.input_edit.push({ backend, ...(await inputEdit(page, server.url, backend)) });
        await page.close();
      }
    }
    if (o.parts.includes('first-figure')) {
      result.first_figure = [];
      for (const task of o.tasks) {
        for (const query of ['', '?backend=cpu']) {
          // The median of a few loads: one load's time moved by ±15% between runs here.
          const runs = [];
          for (let k = 0; k < COLD_LOADS; k++) runs.push(await firstFigure(server.url, task, query, extraArgs));
          const med = (key) => runs.map((x) => x[key]).sort((a, b) => a - b)[runs.length >> 1];
          const r = { task, query, first_figure_ms: med('first_figure_ms'), every_figure_first_ms: med('every_figure_first_ms'), every_figure_ms: med('every_figure_ms'), every_figure_runs_ms: runs.map((x) => Math.round(x.every_figure_ms)), backend_then: [...new Set(runs.map((x) => x.backend_then))].join(',') };
          console.error(JSON.stringify(r));
          result.first_figure.push(r);
        }
      }
    }
    if (o.parts.includes('timeline')) {
      result.timeline_move = [];
      for (const task of o.tasks) {
        const page = await fresh();
        const r = await timelineMoves(page, server.url, task);
        console.error(JSON.stringify(r));
        result.timeline_move.push(r);
        await page.close();
      }
    }
    if (o.parts.includes('page-edit')) {
      result.page_edit = [];
      for (const task of o.tasks) {
        const page = await fresh();
        const r = await pageEdit(page, server.url, task);
        console.error(JSON.stringify(r));
        result.page_edit.push(r);
        await page.close();
      }
    }
  } finally {
    await b.close();
    await server.close();
  }
  return result;
}

// Issue 30's goals on every notebook page, CPU backend, each with what this run measured
// (a page or measure not run reads null, and is not met).
const GOALS_MS = { move_all: 1000, move_visible: 200, edit: 100, cold_all: 3000 };
export function goals(r) {
  return Object.fromEntries(TASK_PAGES.map(({ task }) => {
    const move = r.timeline_move.find((x) => x.task === task);
    const edit = r.page_edit.find((x) => x.task === task);
    const cold = r.first_figure.filter((x) => x.task === task).map((x) => x.every_figure_ms);
    const measured = {
      move_all: move?.median_all_ms ?? null,
      move_visible: move?.median_visible_first_ms ?? null, // a first pass counts: it says so on the figure
      edit: edit?.median_ms ?? null,
      cold_all: cold.length ? Math.max(...cold) : null, // the slower of the automatic backend and the CPU forced
    };
    const rows = Object.entries(GOALS_MS).map(([k, limit]) => [k, { limit_ms: limit, ms: measured[k] === null ? null : Math.round(measured[k]), met: measured[k] !== null && measured[k] <= limit }]);
    return [task, Object.fromEntries(rows)];
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = args(process.argv.slice(2));
  let previous = {};
  try {
    previous = JSON.parse(fs.readFileSync(o.out, 'utf8'));
  } catch {
    // first run
  }
  const r = await benchBrowser(o, previous);
  if (o.pytorch) {
    const native = JSON.parse(fs.readFileSync(o.pytorch, 'utf8')).tasks;
    for (const t of r.training) {
      const torch = native[t.task]?.alternating?.pytorch_transformer_lens?.steps_per_s;
      if (torch && t.steps_per_sec) t.ratio_vs_pytorch = t.steps_per_sec / torch;
    }
  }
  fs.writeFileSync(o.out, `${JSON.stringify({ ...r, goals: goals(r), raster: o.raster, seconds_per_case: o.seconds, date: new Date().toISOString() }, null, 2)}\n`);
  console.error(`wrote ${o.out}`);
}
