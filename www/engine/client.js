// Page-side handle on the engine worker (./worker.js): request ids, promises, and the
// protocol version check. Usage:
//   const client = new EngineClient();           // starts its own worker
//   const shared = new EngineClient({ port });   // or talks to a worker another page started,
//                                                // through a port it `connect`ed (www/embed/)
//   await client.call('init', {backend: 'cpu'});
// Every failure rejects with an Error whose message says what went wrong (and `code` when the
// worker gave one: 'panic' for the request the engine crashed in, 'run-lost' for a training
// run the restart took away); errors the worker reports outside any request are dispatched as
// 'error' events (event.message), its events as CustomEvents ('restarted': the engine crashed
// and restarted, detail {reason, ms, runs, restarts}; see worker.js).
// A page opened with ?debug=panic starts its worker with that flag: the worker's test-only
// debug_panic op is refused anywhere else.
// Hand-written rather than an RPC library (e.g. Comlink): the wire format is the project's own
// versioned plain messages, which such a library would replace with its own, and the site
// ships without a bundler, so a dependency would have to be vendored into dist/.

export const PROTOCOL_VERSION = 1;

function workerUrl() {
  const url = new URL('./worker.js', import.meta.url);
  if (new URLSearchParams(globalThis.location?.search).get('debug') === 'panic') url.searchParams.set('debug', 'panic');
  return url;
}

export class EngineClient extends EventTarget {
  /** port: a MessagePort the worker serves (see the worker's `connect`); none: a new worker. */
  constructor({ port = null } = {}) {
    super();
    this.port = port;
    // A port has the same postMessage/message interface as the worker (and no 'error' event).
    this.worker = port ?? new Worker(workerUrl(), { type: 'module' });
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, op}
    this.failure = null; // set once the worker is unusable: every later call rejects with it
    this.started = false; // the worker has answered at least once
    this.hasErrorListener = false;

    this.worker.addEventListener('message', (ev) => this.#onMessage(ev.data));
    this.worker.addEventListener('messageerror', () => {
      this.#fail(new Error('engine worker sent a message that could not be deserialized'));
    });
    this.worker.addEventListener('error', (ev) => {
      // The worker catches its own errors, so this is a load failure (worker.js missing, a
      // syntax error) or a crash. A module worker that fails to load gives no message.
      ev.preventDefault();
      const why = ev.message || 'worker.js could not be loaded or crashed';
      if (!this.started) this.#fail(new Error(`engine worker failed to start: ${why}`));
      else this.#emitError(`engine worker error: ${why}`);
    });
    port?.start();

    // Handshake first; every call waits for it, so a version mismatch fails them all clearly.
    this.ready = this.#send('hello', {}, []).then((r) => {
      if (r?.protocol !== PROTOCOL_VERSION) {
        const e = new Error(`engine protocol mismatch: page speaks v${PROTOCOL_VERSION}, worker v${r?.protocol}`);
        this.#fail(e);
        throw e;
      }
      return r;
    });
    // Rejections of `ready` are reported through call(); do not leave it unhandled here.
    this.ready.catch(() => {});
  }

  /** Runs `op` in the worker; resolves with its result, rejects with Error(message). */
  async call(op, args = {}, transfer = []) {
    await this.ready;
    return this.#send(op, args, transfer);
  }

  /**
   * Stops the worker; pending and later calls reject. On a port: the worker (shared with
   * others) stays, and frees this client's engines and runs.
   */
  terminate() {
    if (this.port) {
      this.port.postMessage({ v: PROTOCOL_VERSION, id: null, op: 'disconnect', args: {} });
      this.port.close();
    } else {
      this.worker.terminate();
    }
    this.#fail(new Error('engine worker terminated'));
  }

  #send(op, args, transfer) {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      try {
        this.worker.postMessage({ v: PROTOCOL_VERSION, id, op, args }, transfer);
      } catch (e) {
        // e.g. DataCloneError, or a buffer that was already transferred.
        this.pending.delete(id);
        reject(new Error(`${op}: cannot send the request: ${e?.message ?? e}`));
      }
    });
  }

  #onMessage(msg) {
    this.started = true;
    if (!msg || msg.v !== PROTOCOL_VERSION) {
      this.#fail(new Error(`engine protocol mismatch: page speaks v${PROTOCOL_VERSION}, worker replied v${msg?.v}`));
      return;
    }
    if (msg.id == null && msg.event) {
      this.dispatchEvent(new CustomEvent(msg.event, { detail: msg }));
      return;
    }
    if (msg.id == null) {
      this.#emitError(msg.error ?? 'engine worker: message without a request id');
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      this.#emitError(`engine worker replied to unknown request ${msg.id}`);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(Object.assign(new Error(msg.error || `${p.op} failed without a message`), msg.code ? { code: msg.code } : {}));
  }

  #fail(err) {
    if (!this.failure) this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  #emitError(message) {
    const ev = new Event('error');
    ev.message = message;
    // Never swallowed: without a listener it goes to the console.
    if (!this.hasErrorListener) console.error(message);
    this.dispatchEvent(ev);
  }

  addEventListener(type, listener, options) {
    if (type === 'error') this.hasErrorListener = true;
    super.addEventListener(type, listener, options);
  }
}
