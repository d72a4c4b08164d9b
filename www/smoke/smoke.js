// Parity smoke page: for each fixture in ../fixtures/index.json and each backend, load the
// fixture's model into the engine worker, run with the full cache on the fixture's tokens,
// and compare logits and activations with what TransformerLens recorded (cache.safetensors).
// The engine and the comparison both run in the worker; this thread only fetches and renders.
// Results are also exposed as window.__toylensSmoke for the browser tests.
import { EngineClient } from '../engine/client.js';

const TOL = 1e-4;
const BACKENDS = ['cpu', 'webgpu'];

const root = document.querySelector('[data-view="smoke-parity"]');
const ref = (name) => root.querySelector(`[data-ref="${name}"]`);

const smoke = { results: [], training: [], errors: [], skipped: [], backends: null, version: null, done: false };
// How much looser the training tolerances are on WebGPU, whose kernels sum in other orders.
const TRAINING_SCALE = { cpu: 1, webgpu: 10 };
const training = document.querySelector('[data-view="smoke-training"]');
window.__toylensSmoke = smoke;

function setState(s) {
  root.dataset.state = s;
  root.setAttribute('aria-busy', String(s === 'loading'));
}

function status(text) {
  ref('status').textContent = text;
}

function addError(msg) {
  smoke.errors.push(msg);
  ref('error').textContent = smoke.errors.join('\n');
}

const fmt = (d) => (Number.isNaN(d) ? 'NaN' : d === Infinity ? '∞' : d == null ? '—' : d.toExponential(2));
const msOf = (t) => `${Math.round(t)} ms`;

function el(tag, { text = '', cls = '', title = '' } = {}) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  if (title) e.title = title;
  return e;
}

function renderRow(r) {
  const tr = document.createElement('tr');
  tr.dataset.fixture = r.fixture;
  tr.dataset.backend = r.backend;
  const notes = [...r.shapeErrors, ...(r.missing.length ? [`missing: ${r.missing.join(', ')}`] : []), ...(r.extra.length ? [`not in TL cache: ${r.extra.join(', ')}`] : [])];
  tr.append(
    el('td', { text: r.fixture }),
    el('td', { text: r.backend }),
    el('td', { text: fmt(r.logitsMaxDiff), cls: 'num' }),
    el('td', { text: fmt(r.cacheMaxDiff), cls: 'num' }),
    el('td', { text: r.worstName ?? '—' }),
    el('td', { text: r.missing.length ? `${r.n} (${r.missing.length} missing)` : String(r.n), cls: 'num' }),
    el('td', { text: msOf(r.loadMs), cls: 'num' }),
    el('td', { text: msOf(r.runMs), cls: 'num' }),
    el('td', { text: r.pass ? 'pass' : 'FAIL', cls: r.pass ? 'pass' : 'fail', title: notes.join('\n') }),
  );
  ref('rows').append(tr);
}

function renderErrorRow(fixture, backend, message) {
  const tr = document.createElement('tr');
  tr.dataset.fixture = fixture;
  tr.dataset.backend = backend;
  const td = el('td', { text: message, cls: 'fail' });
  td.colSpan = 7;
  tr.append(el('td', { text: fixture }), el('td', { text: backend }), td);
  ref('rows').append(tr);
}

function renderBackends(backends) {
  const dl = ref('backends');
  dl.replaceChildren();
  for (const b of BACKENDS) {
    const info = backends[b];
    dl.append(el('dt', { text: b }), el('dd', { text: `${info.available ? 'available' : 'unavailable'}: ${info.reason}` }));
  }
}

async function fetchOk(url, as) {
  let r;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`fetching ${url}: ${e.message}`, { cause: e });
  }
  if (!r.ok) throw new Error(`fetching ${url}: HTTP ${r.status}`);
  if (as === 'json') {
    try {
      return await r.json();
    } catch (e) {
      throw new Error(`${url} is not valid JSON: ${e.message}`, { cause: e });
    }
  }
  return as === 'text' ? r.text() : r.arrayBuffer();
}

// A fixture saved with torch.save too is loaded from its `.pt` bytes: the engine's one reader
// for checkpoints from elsewhere, checked against TL on every backend like the rest.
async function loadFixture(client, name, pt) {
  const dir = `../fixtures/${encodeURIComponent(name)}/`;
  const [config, weights, cacheBytes] = await Promise.all([
    fetchOk(`${dir}config.json`, 'text'),
    fetchOk(`${dir}${pt ? 'weights.pt' : 'weights.safetensors'}`, 'bytes'),
    fetchOk(`${dir}cache.safetensors`, 'bytes'),
  ]);
  const expected = await client.call('read_safetensors', { bytes: cacheBytes }, [cacheBytes]);
  const tokens = expected.tokens;
  if (!tokens || tokens.shape.length !== 2) throw new Error('cache.safetensors has no [batch, pos] "tokens" tensor');
  if (!expected.logits) throw new Error('cache.safetensors has no "logits" tensor');
  delete expected.tokens;
  return { name, config, weights, tokens: { shape: tokens.shape, values: tokens.values }, expected };
}

async function runOne(client, fx, backend) {
  const t0 = performance.now();
  const weights = fx.weights.slice(0); // transferred: each backend gets its own copy
  await client.call('load', { backend, config: fx.config, weights }, [weights]);
  const t1 = performance.now();
  const out = await client.call('cache', { backend, tokens: fx.tokens });
  const t2 = performance.now();
  const actual = { ...out.cache, logits: out.logits };
  const transfer = Object.values(actual).map((t) => t.values.buffer);
  // The expected tensors are reused by the next backend, so they are copied, not transferred.
  // The worker ranks the differences (a NaN or a shape error is the worst); logits apart.
  const cmp = await client.call('compare', { actual, expected: fx.expected, apart: ['logits'] }, transfer);
  const shapeErrors = Object.entries(cmp.diffs).filter(([, d]) => d.error).map(([name, d]) => `${name}: ${d.error}`);
  const n = Object.keys(cmp.diffs).filter((name) => name !== 'logits').length;
  const cacheMaxDiff = cmp.worst?.maxAbsDiff ?? 0;
  const worstName = cmp.worst?.name ?? null;
  const logitsMaxDiff = cmp.diffs.logits?.maxAbsDiff ?? NaN;
  const r = {
    fixture: fx.name,
    backend,
    logitsMaxDiff,
    cacheMaxDiff: n ? cacheMaxDiff : null,
    worstName,
    n,
    missing: cmp.missing,
    extra: cmp.extra,
    shapeErrors,
    loadMs: t1 - t0,
    runMs: t2 - t1,
  };
  r.pass = logitsMaxDiff <= TOL && n > 0 && cacheMaxDiff <= TOL && cmp.missing.length === 0;
  return r;
}

async function main() {
  const only = new URLSearchParams(location.search).get('backend');
  if (only !== null && !BACKENDS.includes(only)) {
    throw new Error(`?backend=${only}: expected one of ${BACKENDS.join(', ')}`);
  }
  status('Starting the engine worker…');
  const client = new EngineClient();
  client.addEventListener('error', (e) => addError(e.message));

  const backends = await client.call('backends');
  smoke.backends = backends;
  renderBackends(backends);
  const run = [];
  for (const b of BACKENDS) {
    if (only && b !== only) continue;
    if (backends[b].available) run.push(b);
    else if (only) throw new Error(`${b} unavailable: ${backends[b].reason}`);
    else smoke.skipped.push({ backend: b, reason: backends[b].reason });
  }
  for (const b of run) {
    status(`Initialising ${b}…`);
    smoke.version = (await client.call('init', { backend: b })).version;
  }

  const index = await fetchOk('../fixtures/index.json', 'json');
  // Either a list of fixtures or, as make_fixtures.py writes it, {…, fixtures: [...]}.
  const list = Array.isArray(index) ? index : index?.fixtures;
  if (!Array.isArray(list)) throw new Error('../fixtures/index.json: expected a list of fixtures or {fixtures: [...]}');
  const names = list.map((e) => (typeof e === 'string' ? e : e?.name));
  if (names.some((n) => typeof n !== 'string' || !n)) throw new Error('../fixtures/index.json: every entry needs a name');
  if (!names.length) throw new Error('../fixtures/index.json lists no fixtures');

  for (const [k, name] of names.entries()) {
    status(`Fixture ${k + 1}/${names.length} (${name}): fetching…`);
    let fx;
    try {
      fx = await loadFixture(client, name, list[k]?.has_weights_pt === true);
    } catch (e) {
      addError(`${name}: ${e.message}`);
      for (const b of run) renderErrorRow(name, b, e.message);
      continue;
    }
    for (const b of run) {
      status(`Fixture ${k + 1}/${names.length} (${name}): running on ${b}…`);
      try {
        const r = await runOne(client, fx, b);
        smoke.results.push(r);
        renderRow(r);
      } catch (e) {
        addError(`${name} on ${b}: ${e.message}`);
        renderErrorRow(name, b, e.message);
      }
    }
  }

  await trainingParity(client, run);

  const passed = smoke.results.filter((r) => r.pass).length;
  const skipped = smoke.skipped.map((s) => ` ${s.backend} skipped (${s.reason}).`).join('');
  status(
    `Done (engine ${smoke.version}): ${passed}/${smoke.results.length} runs pass` +
      `${smoke.errors.length ? `, ${smoke.errors.length} errors` : ''}.${skipped}`,
  );
}

// Each training-parity fixture replayed on each backend by the engine, which also judges it.
async function trainingParity(client, backends) {
  const index = await fetchOk('../fixtures/training/index.json', 'json');
  for (const { name } of index.fixtures) {
    const dir = `../fixtures/training/${encodeURIComponent(name)}/`;
    const [config, meta, init, steps] = await Promise.all([
      fetchOk(`${dir}config.json`, 'text'),
      fetchOk(`${dir}meta.json`, 'text'),
      fetchOk(`${dir}init.safetensors`, 'bytes'),
      fetchOk(`${dir}steps.safetensors`, 'bytes'),
    ]);
    for (const backend of backends) {
      status(`Training run ${name} on ${backend}…`);
      const t0 = performance.now();
      const tr = document.createElement('tr');
      tr.dataset.fixture = name;
      tr.dataset.backend = backend;
      try {
        const r = await client.call('replay_training', { backend, config, meta, init: init.slice(0), steps: steps.slice(0), scale: TRAINING_SCALE[backend] });
        const worst = (f) => Math.max(...r.steps.flatMap((s) => s.params.map(f)));
        const row = {
          fixture: name,
          backend,
          loss: Math.max(...r.steps.map((s) => Math.abs(s.loss - s.reference_loss))),
          grad: worst((p) => p.grad),
          after: worst((p) => (p.reference_grad < 1e-7 ? 0 : p.after)),
          failures: r.failures,
          ms: performance.now() - t0,
          pass: r.failures.length === 0,
        };
        smoke.training.push(row);
        tr.append(
          el('td', { text: name }),
          el('td', { text: backend }),
          el('td', { text: fmt(row.loss), cls: 'num' }),
          el('td', { text: fmt(row.grad), cls: 'num' }),
          el('td', { text: fmt(row.after), cls: 'num', title: 'parameters whose reference gradient is rounding noise (b_K) left out' }),
          el('td', { text: msOf(row.ms), cls: 'num' }),
          el('td', { text: row.pass ? 'pass' : 'FAIL', cls: row.pass ? 'pass' : 'fail', title: r.failures.join('\n') }),
        );
      } catch (e) {
        addError(`training ${name} on ${backend}: ${e.message}`);
        const td = el('td', { text: e.message, cls: 'fail' });
        td.colSpan = 5;
        tr.append(el('td', { text: name }), el('td', { text: backend }), td);
      }
      training.querySelector('[data-ref="training-rows"]').append(tr);
    }
  }
  training.dataset.state = smoke.training.every((r) => r.pass) ? 'ready' : 'error';
  training.setAttribute('aria-busy', 'false');
}

// An error anywhere on the page, even outside main(), ends on the page as a message.
window.addEventListener('error', (e) => {
  addError(e.message || String(e.error));
  setState('error');
});
window.addEventListener('unhandledrejection', (e) => {
  addError(e.reason?.message ?? String(e.reason));
  setState('error');
});

main().then(
  () => setState(smoke.errors.length ? 'error' : 'ready'),
  (e) => {
    addError(e.message);
    status('Stopped.');
    setState('error');
  },
).finally(() => {
  smoke.done = true;
});
