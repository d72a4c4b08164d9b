// Data-parallel training on the CPU: a page has one engine worker, and one wasm thread in it
// (wasm threads need a nightly Rust and cross-origin isolation, and burn's WebGPU backend does
// not build with atomics). A run whose steps are long trains faster with the step's batch split
// across several workers, each a replica of the run: every worker computes the gradients of its
// shard (train_shard), then every worker applies the same mean of all the shards (train_apply),
// so the replicas stay identical. The engine does all of it (crate/src/train/shards.rs); this
// only carries the bytes between workers.
//
// The primary is the session's own worker and run; the others are extra workers made for this
// and restored from the run's saved state. A run with one worker never comes here, and keeps its
// results exactly.

// A step this long (ms) or longer on one worker is worth splitting: each step also carries its
// gradients between workers (about 13 MB for addition, ~10 ms), and the tiny tasks' steps
// (cumsum, sorting: a few ms) would only get slower.
export const PARALLEL_MIN_MS = 40;
// More replicas than this hardly pays: the shards get small, the gradient traffic grows.
const MAX_WORKERS = 4;

/** How many workers (the primary included) a run of `msPerStep` on `backend` trains with here. */
export function workersFor(msPerStep, backend, cores = globalThis.navigator?.hardwareConcurrency ?? 1) {
  if (backend !== 'cpu' || !(msPerStep >= PARALLEL_MIN_MS)) return 1;
  return Math.max(1, Math.min(MAX_WORKERS, cores));
}

/** Whether replicas at `parallelMs` a step pay against one worker at `singleMs`: 10% faster. */
export const pays = (parallelMs, singleMs) => parallelMs <= 0.9 * singleMs;

export class Replicas {
  /** makeClient: () => a new EngineClient (a worker of its own); n: workers in all (≥ 2). */
  constructor(makeClient, n) {
    this.makeClient = makeClient;
    this.n = n;
    this.others = []; // [{client, run}]
    this.synced = null; // {run, step}: the primary's run and step the others are copies of
  }

  /** Whether the others are copies of the primary's `run` at `step`. */
  inSync(run, step) {
    return this.synced?.run === run && this.synced?.step === step;
  }

  /** Makes the others copies of the primary's run from its state bytes (at `step`). */
  async sync(run, step, state) {
    this.synced = null;
    while (this.others.length < this.n - 1) this.others.push({ client: this.makeClient(), run: null });
    await Promise.all(
      this.others.map(async (o) => {
        if (o.run != null) await o.client.call('train_drop', { run: o.run }).catch(() => {});
        o.run = null;
        try {
          o.run = (await o.client.call('train_restore', { backend: 'cpu', state: state.slice(0) })).run;
        } catch (e) {
          e.replica = true;
          throw e;
        }
      }),
    );
    this.synced = { run, step };
  }

  /**
   * One data-parallel step of the primary `{client, run}` and the others: the primary's result
   * ({step, logs, ms}, as train_steps). Any failure leaves the replicas out of sync (the caller
   * restores the primary from its saved state).
   */
  async step(primary) {
    if (this.synced?.run !== primary.run) throw new Error('the replicas are not copies of this run');
    const all = [primary, ...this.others];
    const t0 = performance.now();
    this.synced = null;
    // A failure of another worker says so (e.replica): the page's own engine is then whole.
    const call = (k, ...args) =>
      all[k].client.call(...args).catch((e) => {
        if (k > 0) e.replica = true;
        throw e;
      });
    const shards = await Promise.all(all.map((w, index) => call(index, 'train_shard', { run: w.run, index, of: all.length })));
    // Each worker gets the others' shards (its own stayed in its engine). A shard's last
    // recipient takes the original, the others copies: with two workers nothing is copied.
    const n = all.length;
    const lastRecipient = (j) => (j === n - 1 ? n - 2 : n - 1);
    const results = await Promise.all(
      all.map((w, k) => {
        const theirs = shards.flatMap((b, j) => (j === k ? [] : [lastRecipient(j) === k ? b : b.slice(0)]));
        return call(k, 'train_apply', { run: w.run, shards: theirs }, theirs);
      }),
    );
    const r = results[0];
    if (results.some((x) => x.step !== r.step)) throw new Error('the replicas stepped to different steps');
    this.synced = { run: primary.run, step: r.step };
    return { ...r, ms: performance.now() - t0 };
  }

  /** Drops the others' runs and stops their workers. */
  close() {
    for (const o of this.others) o.client.terminate?.();
    this.others = [];
    this.synced = null;
  }
}
