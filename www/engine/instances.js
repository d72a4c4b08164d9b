// The engine's wasm instances in the worker (www/engine/worker.js): loading each build,
// noticing a trap, and restarting in place (the protocol's side of it, the `restarted` event and
// the 'panic' and 'poisoned' replies, is described in worker.js's header). One per worker: it
// installs the panic hook, globalThis.__toylensPanic.
//
// The worker keeps what the instances made (each client's engines, the training runs, the
// self-tests); `invalidate` is how a restart takes them away from it.
import { loseDevices } from './webgpu.js';
import { codedError, message } from './wire.js';

const BUILDS = { cpu: 'toylens_cpu', full: 'toylens' }; // pkg/<name>.js and pkg/<name>_bg.wasm
export const buildFor = (backend) => (backend === 'webgpu' ? 'full' : 'cpu');
const MAX_RESTARTS = 2; // each keeps the trapped instance's memory (~100 MB after a cumsum run)

/**
 * @typedef {object} Instances
 * @property {(build?: 'cpu'|'full') => Promise<{mod: any}>} load  the build's glue module, its
 *   instance made on first use (and again after a restart)
 * @property {(job: () => any) => void} enqueue  runs `job` after everything queued before it:
 *   the requests that use the engine, one at a time, and the restart after a crash
 * @property {boolean} panicked  the current instance trapped: restart() before its next use
 * @property {() => Promise<void>} restart  a fresh instance in place of the trapped one (nothing
 *   to do unless panicked, or once poisoned)
 * @property {string|null} poisoned  why the worker gave up restarting: every request then asks
 *   for a reload
 * @property {<T>(body: (crash: Promise<never>) => Promise<T>) => Promise<T>} watch  runs one
 *   request's `body`; `crash` rejects (code 'panic') as soon as a panic is reported meanwhile
 * @property {(reason: string) => void} crashed  the current instance trapped (a trap without a
 *   panic message: the worker's catch and its error handlers report it)
 * @property {() => (WebAssembly.Memory|undefined)[]} memories  the current instances' memories
 *   (never transferred: that would kill the instance)
 */

/**
 * @param {object} hooks
 * @param {(bury: (...objects: any[]) => void) => (event: {reason: string, ms: number,
 *   restarts: number, leakedBytes: number}) => void} hooks.invalidate  called as a restart
 *   begins, before the new instance: drops everything the trapped instance made, handing each
 *   object to `bury` (kept, never freed); returns what to call once the new instance is up
 *   (to tell the clients `restarted`). Not called when the worker gives up instead.
 * @returns {Instances}
 */
export function createInstances({ invalidate }) {
  const instances = { cpu: null, full: null }; // build -> Promise of {mod} once asked for
  const compiled = {}; // build -> its compiled WebAssembly.Module: a restart instantiates it again, no download
  const memories = {}; // build -> the current instance's WebAssembly.Memory
  let generation = 0; // instances made so far (each restart imports the glue afresh: see restart())
  let panicked = null; // why the current instance trapped (its panic message): restart before its next use
  let restarts = 0;
  let poisoned = null; // set when the worker gives up restarting: every request then asks for a reload
  const graveyard = []; // the trapped instances' engines and runs: never freed (see restart())
  let onPanic = () => {}; // fails the request in flight when a panic is reported
  let queue = Promise.resolve(); // the requests that use the engine, one at a time

  // Imported on first use, not statically: a missing or broken pkg/ then becomes a readable
  // ok:false reply instead of a worker that silently fails to start. Each build is compiled once
  // and kept: a restart instantiates the same module in a fresh copy of the glue (a new import
  // URL: the glue keeps its instance in module-level variables), without downloading or compiling.
  // One promise per build, so two requests never make two instances; a failed one is forgotten
  // (unless a restart replaced it already), so the next request tries again.
  function loadWasm(build = 'cpu') {
    if (!instances[build]) {
      const p = instantiate(build);
      instances[build] = p;
      p.catch(() => {
        if (instances[build] === p) instances[build] = null;
      });
    }
    return instances[build];
  }

  async function instantiate(build) {
    generation += 1;
    const name = BUILDS[build];
    const glue = `../pkg/${name}.js`;
    let mod;
    try {
      mod = await import(compiled[build] ? `${glue}?instance=${generation}` : glue);
    } catch (e) {
      throw new Error(`cannot load the engine (pkg/${name}.js): ${message(e)}`, { cause: e });
    }
    let exports;
    try {
      compiled[build] ??= await compileWasm(new URL(`../pkg/${name}_bg.wasm`, import.meta.url));
      exports = await mod.default({ module_or_path: compiled[build] });
    } catch (e) {
      throw new Error(`cannot instantiate the engine (pkg/${name}_bg.wasm): ${message(e)}`, { cause: e });
    }
    memories[build] = exports?.memory;
    return { mod };
  }

  // The panic hook (crate/src/web/mod.rs) calls this before the instance traps.
  globalThis.__toylensPanic = (msg) => crashed(String(msg));

  // The current instance trapped: fail the request in flight and restart before the next one.
  function crashed(reason) {
    if (panicked) return;
    panicked = reason;
    onPanic(reason);
    queue = queue.then(restart);
  }

  // A fresh instance in place of the trapped one. The trapped instance's objects are kept, not
  // freed: their finalizers would run code in an instance whose state a panic left half-updated.
  async function restart() {
    if (!panicked || poisoned) return;
    const reason = panicked;
    restarts += 1;
    if (restarts > MAX_RESTARTS) {
      poisoned = `${reason}; it restarted ${MAX_RESTARTS} times already`;
      return;
    }
    const t0 = performance.now();
    // A panic names no instance: both restart (the full one when next asked for).
    const leakedBytes = Object.values(memories).reduce((n, m) => n + (m?.buffer?.byteLength ?? 0), 0);
    // What the trapped instance made (the worker keeps it: the clients' engines, the runs, the
    // self-tests) is dropped; its objects go to the graveyard.
    const announce = invalidate((...objects) => graveyard.push(...objects));
    // Its GPU devices: destroyed (their memory is freed; the new instance asks for its own).
    loseDevices({ forget: true });
    instances.cpu = null;
    instances.full = null;
    for (const b of Object.keys(memories)) delete memories[b];
    panicked = null;
    try {
      await loadWasm();
    } catch (e) {
      poisoned = `${reason}; the restart failed: ${message(e)}`;
      return;
    }
    const ms = performance.now() - t0;
    console.warn(`toylens engine restarted in ${ms.toFixed(0)} ms after: ${reason} (${(leakedBytes / 2 ** 20).toFixed(0)} MB of the old instance stay allocated)`);
    announce({ reason, ms, restarts, leakedBytes });
  }

  // A panic fails the request at once: its promise may never settle (a trap inside a future).
  async function watch(body) {
    const crash = new Promise((_, reject) => {
      onPanic = (reason) => reject(codedError(`the engine panicked: ${reason}`, 'panic'));
    });
    try {
      return await body(crash);
    } finally {
      onPanic = () => {};
    }
  }

  return {
    load: loadWasm,
    enqueue: (job) => {
      // A job that throws (a request's handler replies its own errors; a disconnect's free()
      // may not) must not leave the queue rejected: every later request would be skipped.
      queue = queue.then(job).catch((e) => console.error(`toylens worker: a queued job failed: ${message(e)}`));
    },
    get panicked() {
      return Boolean(panicked);
    },
    restart,
    get poisoned() {
      return poisoned;
    },
    watch,
    crashed,
    memories: () => Object.values(memories),
  };
}

// Streaming compilation when the server labels the file application/wasm, else from its bytes.
async function compileWasm(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  if (WebAssembly.compileStreaming && res.headers.get('Content-Type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}
