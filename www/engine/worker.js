// The toylens engine worker: every wasm call and every bulk computation runs here, off the
// page's thread. Each client has its own Engine per backend (its own loaded model), created on
// first use.
//
// Two builds of the one engine (build.sh): the CPU-only build (pkg/toylens_cpu.js, about a third
// of the download: WebGPU's compiler and runtime are two thirds of the code) serves every op, so
// a page's first figures wait for it alone; the full build (pkg/toylens.js) is loaded only when
// a client asks for WebGPU (the self-test, a WebGPU engine or training run), and serves just
// those. Each is its own instance with its own memory; models and runs cross between them as
// bytes (load, train_state), as they do between backends.
//
// Clients: the page that started the worker, and any MessagePort handed over with `connect`
// (embedded figures share one worker this way: www/embed.js, www/embed/engine.js). Each
// client's `load` replaces only its own model, so one figure never changes another's analyses.
//
// Protocol v1. Request {v:1, id, op, args}; reply {v:1, id, ok:true, result} or
// {v:1, id, ok:false, error:"message", code?} (code: the engine error's kind, e.g. 'diverged',
// 'weights', 'tokens', or the worker's own 'panic', 'run-lost', 'poisoned'). Requests of
// every client run one at a time in arrival order (a load never races a forward), except
// hello, connect, fetch and backends, which touch no engine and so never wait behind one. Typed arrays
// in a result are transferred, not copied. Errors not tied to a request are posted with
// id:null; events too, as {v:1, id:null, event, ...} (see below).
// (Why no RPC library: see client.js.)
//
// A panic (or any trap) in the engine never leaves the worker stuck. The panic hook hands its
// message to globalThis.__toylensPanic (the trap itself carries none); the request that was
// running fails at once with code 'panic' ("the engine panicked: <message>"), even when the trap
// happened inside a future and its promise would never settle. Then the engine restarts inside
// this worker (www/engine/instances.js): a fresh wasm instance of the already compiled module,
// in the same queue, before any later request. Each client's loaded models come back by
// themselves (the worker keeps the last `load` of each backend and replays it on first use);
// training runs are gone (a request naming one fails with code 'run-lost'): their owners resume
// them from their last saved train_state (www/engine/session.js). Every client then gets
//   {v:1, id:null, event:'restarted', reason, ms, runs: [its lost run ids], restarts}
// Why not a new worker: embedded figures reach this worker through MessagePorts (connect);
// restarting in place keeps every port, the request queue and the fetch cache, so a client
// sees one failed request and an event. The price: the trapped instance's memory stays
// reachable from its module record (ES modules are never unloaded), so after MAX_RESTARTS the
// worker stops restarting and asks for a reload, as it did after any trap before.
//
// Ops (args -> result):
//   hello                          -> {protocol, ops}
//   connect {port: MessagePort}    -> {clients}: serves the port as one more client (transfer it)
//   disconnect {}                  -> no reply: frees this client's engines and runs (a port
//                                     client sends it as its page goes away)
//   fetch {url, as?: 'bytes'|'json'|'text'|'none'} -> the file (bytes: ArrayBuffer; none: null,
//                                     a prefetch); each URL is fetched once per worker, whichever
//                                     client asks (model files)
//   backends                       -> {cpu: {available, reason}, webgpu: {available, reason, adapter?}}
//   init {backend}                 -> {backend, version, adapter?}
//   load {backend, config, weights: ArrayBuffer | url} -> {backend} (by url: the file as `fetch`
//                                     keeps it here, which need not cross to the page)
//   forward {backend, tokens}      -> {shape, values: Float32Array}
//   cache {backend, tokens, names?} -> {logits, cache: {hook name: {shape, values}}}
//   read_safetensors {bytes: ArrayBuffer} -> {name: {shape, dtype, values}}
//   compare {actual, expected, skip?, apart?} -> {diffs: {name: {maxAbsDiff, error?}}, missing, extra,
//                                     worst: {name, maxAbsDiff} | null (over the names not `apart`:
//                                     a shape error or NaN is the worst there is)}
//   weights {backend}              -> ArrayBuffer (TL-named f32 safetensors of the loaded model)
//   config {backend}               -> TL config object of the loaded model
//   analyze {task, what, tokens?, request?} -> the analysis JSON (as `toylens analyze` prints it);
//                                     runs on the cpu engine's model; request = {process, limit, opts};
//                                     task null: a model of no task (tokens required, each
//                                     position's target the next token)
//   infer_config {bytes: ArrayBuffer} -> {config, assumed: [{field, value, choices, why}]}: the TL
//                                     config a checkpoint's tensor shapes imply (.pt or
//                                     safetensors); assumed: what the weights cannot tell
//   task_info {task}               -> {id, config, recipe, vocab, vocab_out, n_ctx, held_out,
//                                      n_params (TL's cfg.n_params), n_params_total (every
//                                      parameter), timeline: {budget_bytes, checkpoints}}
//   checkpoint_steps {task, total} -> number[]: the log-spaced checkpoint steps of a run of
//                                     `total` steps (the CLI's, sized to the timeline budget)
//   recipe_with_settings {recipe, settings} -> the recipe with the reader's {seed, steps, lr,
//                                     batch} applied (a OneCycle schedule fitted to them), as
//                                     the CLI's --steps and --set lr= apply them
//   recipe_plan {recipe}           -> {settings: {seed, steps, lr, batch}, evaluations: number[]}
//   task_sample {task, seed, n}    -> {shape, values: Int32Array, targets: Int32Array}
//   task_held_out {task, limit?}   -> the same, from the fixed held-out set
//   task_label {task, tokens}      -> Int32Array targets (-1 unscored); bad tokens are errors
//   selftest {tol?}                -> {ok, maxAbsDiff, ms, reason}: a forward on WebGPU vs CPU
//                                     (run once per tolerance: a property of the device)
//   train_create {backend, task, recipe?, config?} -> {run, backend, step, settings}
//   train_restore {backend, state: ArrayBuffer}    -> the same, resumed from train_state bytes
//   train_steps {run, n}           -> {step, logs: [{step, epoch, loss, accuracy, lr}], ms}
//   train_shard {run, index, of}   -> ArrayBuffer: this replica's gradients of shard `index` of
//                                     `of` of its next step's batch (data-parallel training:
//                                     www/engine/replicas.js); the step waits for train_apply
//   train_apply {run, shards: ArrayBuffer[]} -> as train_steps (one log): the pending step,
//                                     with the other replicas' shards (its own stayed in the
//                                     engine): the same update everywhere
//   train_evaluate {run, limit?}   -> {step, loss, accuracy, figures}
//   train_state {run}              -> ArrayBuffer (weights + optimizer + step: resumable)
//   train_weights {run}            -> ArrayBuffer (TL-named safetensors)
//   replay_training {backend, config, init, steps, meta, scale}
//                                  -> {name, steps, failures}: a training-parity fixture replayed
//   train_drop {run}               -> {}
//   lose_device {}                 -> destroys the WebGPU device (tests of the CPU fallback)
//   debug_panic {message}          -> panics in the engine (tests of the restart); refused
//                                     unless the worker was started with ?debug=panic
// tokens: number[][] or {shape: [batch, pos], values}. Engines are created on first use, so
// init is only needed to learn the version or fail early.

import { compare, maxAbsDiff } from './compare.js';
import { fetchKept, fetchOnce } from './fetch-cache.js';
import { buildFor, createInstances } from './instances.js';
import { loseDevices, probeWebgpu } from './webgpu.js';
import { bufferOf, bytesOf, codedError, message, toTokens, transferables } from './wire.js';

export const PROTOCOL_VERSION = 1;

const CPU_REASON = 'burn Flex backend on WebAssembly (always available)';

// Ops that touch no engine answer at once, never behind a long wasm call (e.g. the first
// instantiation): a new figure connects and its model downloads meanwhile.
const UNQUEUED = new Set(['hello', 'connect', 'fetch', 'backends']);
// The test-only op: only on a worker started with ?debug=panic (client.js passes the page's flag).
const DEBUG_PANIC = new URL(self.location.href).searchParams.get('debug') === 'panic';
const selftests = new Map(); // tol -> Promise of the self-test's result
const runs = new Map(); // run id -> TrainingRun
let nextRun = 1;

/**
 * @typedef {object} Client  one page (or embedded figure) talking to this worker
 * @property {(msg: object, transfer?: Transferable[]) => void} post  sends a reply
 * @property {Map<string, any>} engines  backend -> its Engine (its own loaded model)
 * @property {Map<string, {config: string, weights: Uint8Array}>} models  backend -> its last
 *   successful `load`, replayed into a new Engine after a restart
 * @property {Set<number>} runs  ids of the training runs it created
 * @property {Set<number>} lostRuns  ids of its runs that a restart took away
 */

/** @returns {Client} */
const newClient = (post) => ({ post, engines: new Map(), models: new Map(), runs: new Set(), lostRuns: new Set() });
const own = newClient((msg, transfer) => self.postMessage(msg, transfer)); // the page that started the worker
const clients = new Set([own]);

// The wasm instances and their restart (engine/instances.js). A restart takes away what the
// trapped instance made (kept, never freed: see instances.js) and the clients hear of it.
const wasm = createInstances({
  invalidate: (bury) => {
    const lost = new Map();
    for (const c of clients) {
      bury(...c.engines.values());
      c.engines.clear();
      lost.set(c, [...c.runs]);
      for (const id of c.runs) c.lostRuns.add(id);
      c.runs.clear();
    }
    bury(...runs.values());
    runs.clear();
    selftests.clear();
    return ({ reason, ms, restarts, leakedBytes }) => {
      for (const c of clients) {
        reply(c, { v: PROTOCOL_VERSION, id: null, event: 'restarted', reason, ms, runs: lost.get(c) ?? [], restarts, leakedBytes });
      }
    };
  },
});
// Every client computes on the CPU build (analyses run there whatever trains): it compiles
// while the page asks its first questions (the backend probe and the fetches need no engine).
// A failure is reported by the first request that needs it, which tries again.
wasm.load('cpu').catch(() => {});

// A fresh min-of-two model, the same weights on both backends, forwards on each: WebGPU
// is used only when it agrees with the CPU (and, see backend.js, is not slower in software).
async function selftest(tol) {
  const p = await probeWebgpu();
  if (!p.available) return { ok: false, reason: p.reason };
  const t0 = performance.now();
  const { mod } = await wasm.load('cpu');
  const run = await mod.TrainingRun.create('cpu', 'min', undefined, undefined);
  const weights = await run.weights();
  const cfg = JSON.stringify(run.settings().config);
  run.free();
  const sample = mod.task_sample('min', 7n, 256);
  const out = {};
  const ms = {};
  for (const b of ['cpu', 'webgpu']) {
    const e = await (await wasm.load(buildFor(b))).mod.Engine.create(b);
    e.load(cfg, weights);
    out[b] = await e.forward(sample.values, sample.shape[0], sample.shape[1]);
    // Timed after the first call (shader compilation, first allocations).
    const t = performance.now();
    for (let k = 0; k < 3; k++) await e.forward(sample.values, sample.shape[0], sample.shape[1]);
    ms[b] = (performance.now() - t) / 3;
    e.free();
  }
  const d = maxAbsDiff(out.webgpu.values, out.cpu.values);
  const ok = d <= tol;
  return {
    ok,
    maxAbsDiff: d,
    ms: performance.now() - t0,
    forwardMs: ms,
    software: Boolean(p.adapter?.isFallbackAdapter),
    reason: ok ? `${p.reason}; self-test matched the CPU (max |diff| ${d.toExponential(1)})` : `WebGPU self-test disagreed with the CPU by ${d} (> ${tol})`,
  };
}

function checkBackend(backend) {
  if (backend !== 'cpu' && backend !== 'webgpu') {
    throw new Error(`unknown backend ${JSON.stringify(backend)} (expected "cpu" or "webgpu")`);
  }
  return backend;
}

async function engine(backend, client) {
  checkBackend(backend);
  const have = client.engines.get(backend);
  if (have) return have;
  if (backend === 'webgpu') {
    const p = await probeWebgpu();
    if (!p.available) throw new Error(`WebGPU unavailable: ${p.reason}`);
  }
  const { mod } = await wasm.load(buildFor(backend));
  const e = await mod.Engine.create(backend);
  // After a restart: the model this client had loaded (it loaded once, so it loads again).
  const saved = client.models.get(backend);
  if (saved) e.load(saved.config, saved.weights);
  client.engines.set(backend, e);
  return e;
}

// Serves `port` like the worker's own page: same protocol, its own engines.
function connect(port) {
  const client = newClient((msg, transfer) => port.postMessage(msg, transfer));
  client.close = () => port.close();
  clients.add(client);
  port.addEventListener('message', (ev) => receive(ev.data, client));
  port.start();
  return { clients: clients.size };
}

function disconnect(client) {
  for (const e of client.engines.values()) e.free();
  client.engines.clear();
  for (const id of client.runs) runs.get(id)?.free();
  for (const id of client.runs) runs.delete(id);
  clients.delete(client);
  client.close?.();
}


const OPS = {
  // Protocol handshake: the client checks `protocol` before its first real call.
  hello: async () => ({ protocol: PROTOCOL_VERSION, ops: Object.keys(OPS) }),

  connect: async ({ port }) => {
    if (!(port instanceof MessagePort)) throw new Error('connect: port must be a MessagePort (in the transfer list)');
    return connect(port);
  },

  fetch: async ({ url, as }) => {
    if (typeof url !== 'string') throw new Error('fetch: url must be a string');
    return fetchOnce(new URL(url, self.location.href).href, as);
  },

  // Which backends can run here, and why (not) WebGPU.
  backends: async () => ({
    cpu: { available: true, reason: CPU_REASON },
    webgpu: await probeWebgpu(),
  }),

  init: async ({ backend }, client) => {
    const e = await engine(backend, client);
    const out = { backend: e.backend, version: (await wasm.load(buildFor(backend))).mod.version() };
    if (backend === 'webgpu') out.adapter = (await probeWebgpu()).adapter;
    return out;
  },

  load: async ({ backend, config, weights, url }, client) => {
    const e = await engine(backend, client);
    if (config == null) throw new Error('load: config is missing');
    const json = typeof config === 'string' ? config : JSON.stringify(config);
    const bytes = typeof url === 'string' ? new Uint8Array(await fetchKept(new URL(url, self.location.href).href)) : bytesOf(weights, 'load: weights');
    e.load(json, bytes);
    // Kept for a restart (the bytes were transferred here, or are the fetched file: no copy).
    client.models.set(backend, { config: json, weights: bytes });
    return { backend: e.backend };
  },

  forward: async ({ backend, tokens }, client) => {
    const e = await engine(backend, client);
    const t = toTokens(tokens);
    return await e.forward(t.values, t.batch, t.pos);
  },

  cache: async ({ backend, tokens, names }, client) => {
    const e = await engine(backend, client);
    const t = toTokens(tokens);
    return await e.run_with_cache(t.values, t.batch, t.pos, names ?? undefined);
  },

  read_safetensors: async ({ bytes }) => {
    const { mod } = await wasm.load();
    if (!(bytes instanceof ArrayBuffer)) throw new Error('read_safetensors: bytes must be an ArrayBuffer');
    return mod.read_safetensors(new Uint8Array(bytes));
  },

  compare: async (args) => compare(args),

  weights: async ({ backend }, client) => bufferOf(await (await engine(backend, client)).weights()),

  config: async ({ backend }, client) => JSON.parse((await engine(backend, client)).config()),

  analyze: async ({ task, what, tokens, request }, client) => {
    const e = await engine('cpu', client);
    const t = tokens == null ? null : toTokens(tokens);
    const req = request == null ? undefined : JSON.stringify(request);
    return JSON.parse(e.analyze(task ?? undefined, what, t?.values, t?.batch ?? 0, t?.pos ?? 0, req));
  },

  infer_config: async ({ bytes }) => (await wasm.load()).mod.infer_config(bytesOf(bytes, 'infer_config: bytes')),

  task_info: async ({ task }) => (await wasm.load()).mod.task_info(task),
  checkpoint_steps: async ({ task, total }) => Array.from((await wasm.load()).mod.checkpoint_steps(task, total)),
  // A knob left empty (not a number) keeps the recipe's value; the engine keeps it for a
  // non-positive steps, lr or batch too.
  recipe_with_settings: async ({ recipe, settings = {} }) => {
    const knobs = Object.fromEntries(Object.entries(settings).filter(([, v]) => Number.isFinite(v)));
    return (await wasm.load()).mod.recipe_with_settings(JSON.stringify(recipe), JSON.stringify(knobs));
  },
  recipe_plan: async ({ recipe }) => (await wasm.load()).mod.recipe_plan(JSON.stringify(recipe)),
  task_sample: async ({ task, seed = 0, n = 1 }) => (await wasm.load()).mod.task_sample(task, BigInt(seed), n),
  task_held_out: async ({ task, limit }) => (await wasm.load()).mod.task_held_out(task, limit ?? undefined),
  task_label: async ({ task, tokens }) => {
    const t = toTokens(tokens);
    return (await wasm.load()).mod.task_label(task, t.values, t.batch, t.pos);
  },

  // Asked by every page (and every embedded figure) choosing its backend: computed once.
  selftest: async ({ tol = 1e-3 } = {}) => {
    if (!selftests.has(tol)) {
      const p = selftest(tol);
      selftests.set(tol, p);
      p.catch(() => selftests.delete(tol));
    }
    return selftests.get(tol);
  },

  train_create: async ({ backend, task, recipe, config }, client) => {
    checkBackend(backend);
    await engine(backend, client); // probes WebGPU first, with its reason on failure
    const { mod } = await wasm.load(buildFor(backend));
    const run = await mod.TrainingRun.create(
      backend,
      task,
      recipe == null ? undefined : JSON.stringify(recipe),
      config == null ? undefined : JSON.stringify(config),
    );
    return addRun(run, client);
  },

  train_restore: async ({ backend, state }, client) => {
    checkBackend(backend);
    await engine(backend, client);
    const { mod } = await wasm.load(buildFor(backend));
    return addRun(await mod.TrainingRun.restore(backend, bytesOf(state, 'train_restore: state')), client);
  },

  train_steps: async ({ run, n = 1 }, client) => {
    const r = getRun(run, client);
    const t0 = performance.now();
    const logs = await r.steps(n);
    return { step: r.step, logs, ms: performance.now() - t0 };
  },

  train_shard: async ({ run, index, of }, client) => bufferOf(await getRun(run, client).shard(index, of)),

  train_apply: async ({ run, shards }, client) => {
    const r = getRun(run, client);
    if (!Array.isArray(shards)) throw new Error('train_apply: shards must be an array of ArrayBuffers');
    const t0 = performance.now();
    const log = r.apply(shards.map((b) => bytesOf(b, 'train_apply: each shard')));
    return { step: r.step, logs: [log], ms: performance.now() - t0 };
  },

  train_evaluate: async ({ run, limit }, client) => getRun(run, client).evaluate(limit ?? undefined),
  train_state: async ({ run }, client) => bufferOf(await getRun(run, client).state()),
  train_weights: async ({ run }, client) => bufferOf(await getRun(run, client).weights()),

  // A training-parity fixture replayed on `backend` (the smoke page): PyTorch's steps from
  // the same weights and batches, the differences and the failures (train::replay).
  replay_training: async ({ backend, config, init, steps, meta, scale = 1 }, client) => {
    checkBackend(backend);
    await engine(backend, client);
    const { mod } = await wasm.load(buildFor(backend));
    return mod.replay_training(backend, config, bytesOf(init, 'replay_training: init'), bytesOf(steps, 'replay_training: steps'), meta, scale);
  },

  train_drop: async ({ run }, client) => {
    const r = runs.get(run);
    client.runs.delete(run);
    client.lostRuns.delete(run);
    if (r) {
      runs.delete(run);
      r.free();
    }
    return {};
  },

  lose_device: async () => {
    const destroyed = loseDevices();
    selftests.clear();
    return { destroyed };
  },

  debug_panic: async ({ message: msg = 'debug_panic' }) => {
    if (!DEBUG_PANIC) throw new Error('debug_panic is a test op: the page must be opened with ?debug=panic');
    (await wasm.load()).mod.debug_panic(String(msg));
    return {};
  },
};

function addRun(r, client) {
  const id = nextRun++;
  runs.set(id, r);
  client.runs.add(id);
  return { run: id, backend: r.backend, step: r.step, task: r.task, settings: r.settings() };
}

function getRun(id, client) {
  const r = runs.get(id);
  if (r) return r;
  if (client.lostRuns.has(id)) {
    throw codedError(`training run ${id} was lost when the engine restarted; resume it from its last saved state`, 'run-lost');
  }
  throw new Error(`no training run ${id} (it was dropped)`);
}


function reply(client, msg, transfer = []) {
  try {
    client.post(msg, transfer);
  } catch (e) {
    // e.g. DataCloneError: still answer the request.
    client.post({ v: PROTOCOL_VERSION, id: msg.id, ok: false, error: `cannot send the reply: ${message(e)}` });
  }
}

async function handle(req, client) {
  const id = req?.id ?? null;
  if (!req || typeof req !== 'object' || req.v !== PROTOCOL_VERSION) {
    reply(client, { v: PROTOCOL_VERSION, id, ok: false, error: `protocol mismatch: the worker speaks v${PROTOCOL_VERSION}, got v${req?.v}` });
    return;
  }
  const fn = Object.hasOwn(OPS, req.op) ? OPS[req.op] : null;
  if (!fn) {
    reply(client, { v: PROTOCOL_VERSION, id, ok: false, error: `unknown op ${JSON.stringify(req.op)}` });
    return;
  }
  if (UNQUEUED.has(req.op)) {
    // No engine involved: no crash to watch for.
    await answer(req, id, fn, client);
    return;
  }
  if (wasm.panicked) await wasm.restart();
  if (wasm.poisoned) {
    reply(client, { v: PROTOCOL_VERSION, id, ok: false, error: `${req.op}: the engine crashed (${wasm.poisoned}); reload the page`, code: 'poisoned' });
    return;
  }
  // A panic fails this request at once: its promise may never settle (a trap inside a future).
  await wasm.watch((crash) => answer(req, id, () => Promise.race([fn(req.args ?? {}, client), crash]), client));
}

async function answer(req, id, run, client) {
  try {
    const result = await run(req.args ?? {}, client);
    reply(client, { v: PROTOCOL_VERSION, id, ok: true, result }, [...transferables(result, wasm.memories())]);
  } catch (e) {
    // A trap without a panic message (out of memory, a bug in the glue): a crash all the same.
    let error = e;
    if (e instanceof WebAssembly.RuntimeError) {
      wasm.crashed(`${e.name}: ${message(e)}`);
      error = codedError(`the engine crashed: ${message(e)}`, 'panic');
    }
    // The engine's errors carry their kind (crate/src/error.rs: Error::kind): the reply's code.
    const code = error.code ?? error.kind;
    reply(client, { v: PROTOCOL_VERSION, id, ok: false, error: `${req.op}: ${message(error)}`, ...(code ? { code } : {}) });
  }
}

function receive(req, client) {
  if (req?.op === 'disconnect') {
    if (client !== own) wasm.enqueue(() => disconnect(client));
  } else if (UNQUEUED.has(req?.op)) handle(req, client);
  else wasm.enqueue(() => handle(req, client));
}
self.addEventListener('message', (ev) => receive(ev.data, own));

// Anything that escapes the handlers is a bug: tell the clients rather than lose it. A trap
// that escapes (inside a future, after its panic was reported) is a crash: the restart tells them.
self.addEventListener('error', (ev) => {
  ev.preventDefault();
  if (ev.error instanceof WebAssembly.RuntimeError) return wasm.crashed(`${ev.error.name}: ${message(ev.error)}`);
  for (const c of clients) reply(c, { v: PROTOCOL_VERSION, id: null, ok: false, error: `worker error: ${ev.message || message(ev.error)}` });
});
self.addEventListener('unhandledrejection', (ev) => {
  ev.preventDefault();
  if (ev.reason instanceof WebAssembly.RuntimeError) return wasm.crashed(`${ev.reason.name}: ${message(ev.reason)}`);
  for (const c of clients) reply(c, { v: PROTOCOL_VERSION, id: null, ok: false, error: `worker: unhandled rejection: ${message(ev.reason)}` });
});
