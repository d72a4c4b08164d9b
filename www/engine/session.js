// A training run driven from the page: start, pause, resume, step, reset; live curves,
// steps/s and ETA; checkpoints into a timeline; the whole state saved in IndexedDB so a
// reload resumes it; a lost GPU falls back to the CPU from the last checkpoint. The training
// itself runs in the engine worker (train_* ops); this only orchestrates and keeps records.
//
// Events (all CustomEvent, detail shown):
//   status   {status, backend, step, total}      idle | running | paused | done | error
//   progress {step, total, logs, ms, backend, workers, stepsPerSec, etaSeconds}   ms: the call's
//                                                time; workers: how many trained it (replicas.js)
//   eval     {step, loss, accuracy, figures}         figures: the task's eval figures (Task::figures)
//   checkpoint {step, timeline}                  a new entry in the timeline
//   fallback {from, to, reason, resumedAt}       the GPU was lost; resumed on the CPU
//   restarted {reason, resumedAt}                the engine crashed and restarted; the run
//                                                resumed from its last saved state
//   notice   {message}                           something the reader should know that is
//                                                not an error (e.g. another tab saves this run)
//   error    {message}
//
// Faults: a crashed engine (a panic: the worker restarts it, see worker.js) costs the run only
// the steps since its last saved state; a diverging run (the trainer's own check: the loss >100x
// the first, or not finite) stops and goes back to its last checkpoint; a failed save (a full
// quota) is an error event with the size it needed; and of several tabs of a page, the first to
// save owns the saved run (store.js claimRecord): the others train unsaved runs until it closes.
//
// Workers: on the CPU, a run whose steps take PARALLEL_MIN_MS or more trains data-parallel on
// one worker per core (replicas.js), the page's own worker the first of them; if that is not
// faster after a few steps, or a replica fails, it goes back to one worker for the rest of the run.

import { Replicas, pays, workersFor } from './replicas.js';
import { claimRecord, deleteRecord, loadRecord, saveRecord } from './store.js';
import { trainPoint } from '../notebooks/metrics.js';

// A crash or a lost run: the worker restarted its engine (www/engine/worker.js).
const isCrash = (e) => e?.code === 'panic' || e?.code === 'run-lost';
// The trainer's divergence check (crate/src/train/trainer.rs) is an error of its own kind.
const isDivergence = (e) => e?.code === 'diverged';
// Recoveries in a row without a step of progress before the run gives up (a panic that
// recurs at the same step would otherwise restart the engine forever).
const MAX_RECOVERIES = 2;

const SLICE_MS = 150; // one worker call's target length: the pause button answers this fast
const SAVE_EVERY_MS = 5000;
const EVAL_LIMIT = 1024;
// On a software WebGPU adapter (SwiftShader) a held-out evaluation of 1024 addition sums takes
// minutes (128 took 40 s): evaluations there use a few examples, enough to draw the curve.
export const SOFTWARE_EVAL_LIMIT = 32;

// Drops entries (never the first or the last) from the densest stretch until the weights fit
// `budget` bytes (task_info's timeline.budget_bytes: they live in memory and IndexedDB).
export function thinTimeline(entries, budget) {
  const t = [...entries];
  const size = () => t.reduce((a, e) => a + e.weights.byteLength, 0);
  while (t.length > 2 && size() > budget) {
    let k = 1;
    for (let i = 2; i < t.length - 1; i++) {
      if (Math.log((t[i + 1].step + 1) / (t[i - 1].step + 1)) < Math.log((t[k + 1].step + 1) / (t[k - 1].step + 1))) k = i;
    }
    t.splice(k, 1);
  }
  return t;
}

export class TrainingSession extends EventTarget {
  /**
   * client: an EngineClient; key: the IndexedDB record name (e.g. "cumsum");
   * task: task id; backend: "cpu" | "webgpu"; makeClient: () => EngineClient, used when the
   * worker has to be replaced after a GPU crash, and for data-parallel replicas; evalLimit:
   * held-out examples per evaluation; workers: 'auto' (replicas where they pay), 1, or a
   * number of CPU workers to train on whatever the cores and step times (tests, the bench).
   */
  constructor({ client, task, key = task, backend = 'cpu', makeClient = null, evalLimit = EVAL_LIMIT, workers = 'auto' }) {
    super();
    this.client = client;
    this.makeClient = makeClient;
    this.evalLimit = evalLimit;
    this.workersOption = workers;
    this.workers = 1; // workers training the run now
    this.task = task;
    this.key = key;
    this.backend = backend;
    this.run = null;
    this.info = null; // task_info
    this.recipe = null; // the recipe of the current run (or the defaults before one)
    this.config = null; // the TL config of the current run (null: none yet)
    this.variant = null; // a name for a run of another config than the task's (e.g. 'smaller model')
    this.status = 'idle';
    this.step = 0;
    this.curves = { train: [], eval: [] };
    this.timeline = []; // [{step, weights: ArrayBuffer}]
    this.lastState = null; // ArrayBuffer of train_state at lastStateStep
    this.lastStateStep = 0;
    this.stepsPerSec = null;
    this.fallbacks = [];
    this.restarts = []; // [{reason, resumedAt}]: engine crashes this run recovered from
    this.loadError = null; // why the saved run could not be read (the page shows it)
    this.saveError = null; // the last save's failure (null once a save succeeds)
    this.unsaved = false; // another tab owns the saved run: this one's steps are not saved
    this.#stopRequested = false;
    this.#loop = null;
    this.#lastSave = 0;
    this.#owner = null;
    this.#lost = null;
    this.#recoveries = 0;
    this.#watch(client);
  }

  #stopRequested;
  #loop;
  #moveTo = null; // a backend the running loop moves to between two step calls
  #lastSave;
  #owner; // Promise<boolean>: this tab may write the saved run (asked at the first save)
  #lost; // why the engine restarted, taking the run with it (null: it did not): restore first
  #recoveries;
  #replicas = null; // Replicas while the run trains data-parallel
  #singleMs = null; // ms per step on one worker, when replicas started (to see if they pay)
  #parallelSteps = 0; // data-parallel step calls since they started
  #parallelMs = 0; // their total time, but for the first (a replica's warm-up)
  #parallelOff = false; // replicas failed or did not pay: one worker for the rest of this run

  // A restart of the engine while no step was running (a figure's request crashed it) takes
  // the run too: it is restored from its last state before its next use.
  #watch(client) {
    client.addEventListener?.('restarted', (e) => {
      if (this.run != null && e.detail.runs.includes(this.run)) this.#lost = e.detail.reason;
    });
  }

  get total() {
    return this.recipe?.steps ?? 0;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #setStatus(s) {
    this.status = s;
    this.#emit('status', { status: s, backend: this.backend, step: this.step, total: this.total });
  }

  /** Loads the task and, if one was saved, the previous run (paused where it was). */
  async init() {
    this.info = await this.client.call('task_info', { task: this.task });
    // The knobs of a new run (the engine reads them off the task's recipe).
    this.defaultSettings = (await this.client.call('recipe_plan', { recipe: this.info.recipe })).settings;
    await this.#useRecipe(this.info.recipe);
    const saved = await loadRecord(this.key).catch((e) => {
      this.loadError = `could not read the run saved in this browser (${e.message}); starting without it`;
      return null;
    });
    if (saved?.state && saved.task === this.task) {
      this.curves = saved.curves ?? this.curves;
      this.timeline = saved.timeline ?? [];
      if (saved.recipe) await this.#useRecipe(saved.recipe);
      this.lastState = saved.state;
      this.lastStateStep = saved.step;
      this.fallbacks = saved.fallbacks ?? [];
      this.variant = saved.variant ?? null;
      await this.#restore(this.backend, saved.state);
      this.#setStatus(saved.step >= this.total ? 'done' : 'paused');
      return { restored: true, step: this.step };
    }
    this.#setStatus('idle');
    return { restored: false };
  }

  async #restore(backend, state) {
    const r = await this.client.call('train_restore', { backend, state: state.slice(0) });
    this.#lost = null;
    this.run = r.run;
    this.step = r.step;
    // Another backend trains at another speed: its rate (and the ETA) starts afresh.
    if (backend !== this.backend) this.stepsPerSec = null;
    this.backend = backend;
    await this.#useRecipe(r.settings.recipe);
    this.config = r.settings.config;
  }

  /**
   * Trains on `backend` from now on (the page's WebGPU self-test passed after its first
   * figures): a run that exists moves there from its state at this step, at once when paused,
   * between two step calls when running.
   */
  async useBackend(backend) {
    if (backend === this.backend) return;
    if (this.#loop) this.#moveTo = backend;
    else if (this.run == null) this.backend = backend;
    else await this.#move(backend);
  }

  async #move(backend) {
    this.#stopReplicas();
    await this.#revive();
    if (this.lastStateStep !== this.step || !this.lastState) await this.#checkpointState();
    const old = this.run;
    try {
      await this.#restore(backend, this.lastState);
    } catch (e) {
      const names = { cpu: 'the CPU', webgpu: 'WebGPU' };
      this.#emit('notice', { message: `Training stays on ${names[this.backend]}: the run could not move to ${names[backend]} (${e.message}).` });
      return;
    }
    await this.client.call('train_drop', { run: old }).catch(() => {});
    this.#setStatus(this.status); // the same status, on the new backend
  }

  /** Seed, steps, lr and batch of the run that would start now. */
  defaults() {
    return this.defaultSettings;
  }

  // The run's recipe, and what the engine says it does: its knobs (`settings`) and the steps
  // it evaluates after (`evaluations`). The page computes neither (the CLI's rules, in Rust).
  async #useRecipe(recipe) {
    const plan = await this.client.call('recipe_plan', { recipe });
    this.recipe = recipe;
    this.settings = plan.settings;
    this.evaluations = plan.evaluations;
  }

  /**
   * A fresh run with these settings (the old one is discarded). `config`: a TL config other
   * than the task's (named `variant` wherever the run is shown); the task's when absent.
   */
  async create(settings = {}, { config = null, variant = null } = {}) {
    await this.#drop();
    await this.#useRecipe(await this.client.call('recipe_with_settings', { recipe: this.info.recipe, settings }));
    const r = await this.client.call('train_create', { backend: this.backend, task: this.task, recipe: this.recipe, config: config ?? undefined });
    this.run = r.run;
    this.config = r.settings.config;
    this.variant = config ? variant ?? 'another config' : null;
    this.step = 0;
    this.curves = { train: [], eval: [] };
    this.timeline = [{ step: 0, weights: await this.client.call('train_weights', { run: this.run }) }];
    this.#emit('checkpoint', { step: 0, timeline: this.timeline });
    await this.#checkpointState();
    this.#setStatus('paused');
  }

  /** Times a few real steps (they count towards the run) to estimate the whole run. */
  async estimate(probeSteps = 3) {
    if (this.run == null) await this.create();
    await this.#revive();
    const r = await this.#steps(probeSteps);
    const perStep = r.ms / Math.max(1, r.logs.length) / 1000;
    return { secondsPerStep: perStep, seconds: perStep * Math.max(0, this.total - this.step), backend: this.backend };
  }

  /** Runs until paused or done. */
  start() {
    if (this.#loop) return this.#loop;
    this.#stopRequested = false;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
    });
    return this.#loop;
  }

  async pause() {
    this.#stopRequested = true;
    await this.#loop;
    await this.#revive();
    if (this.run != null && this.lastStateStep !== this.step) await this.#checkpointState();
  }

  /** One optimizer step while paused. */
  async stepOnce() {
    if (this.#loop) return;
    if (this.run == null) await this.create();
    await this.#revive();
    await this.#steps(1);
    if (this.step >= this.total) this.#setStatus('done');
    await this.#checkpointState();
  }

  async reset() {
    await this.pause();
    await this.#drop();
    // Another tab's saved run is its own: only the owner deletes it.
    if (await this.#claim()) await deleteRecord(this.key);
    this.curves = { train: [], eval: [] };
    this.timeline = [];
    this.lastState = null;
    this.step = 0;
    await this.#useRecipe(this.info.recipe);
    this.config = null;
    this.variant = null;
    this.#setStatus('idle');
  }

  async #drop() {
    this.#stopReplicas();
    this.#parallelOff = false;
    if (this.run != null) {
      // A run the engine lost (or already dropped) is gone anyway.
      await this.client.call('train_drop', { run: this.run }).catch(() => {});
      this.run = null;
      this.#lost = null;
    }
  }

  // The run the engine lost in a restart, back from its last saved state (paused, no loop).
  async #revive() {
    if (this.#lost && this.lastState) await this.#recover({ message: this.#lost });
  }

  async #run() {
    try {
      if (this.run == null) await this.create();
      this.#setStatus('running');
      // Steps per call, sized from the last call's time on the backend it ran on.
      let n = 1;
      let calls = 0;
      let sizedOn = this.backend;
      // The engine's schedule, as the CLI's timeline: log-spaced, sized to the budget.
      const marks = await this.client.call('checkpoint_steps', { task: this.task, total: this.total });
      // Held-out evaluations where the engine says the recipe has them (the CLI's metrics too).
      const evals = this.evaluations;
      await this.#revive();
      while (!this.#stopRequested && this.step < this.total) {
        if (this.#moveTo) {
          const to = this.#moveTo;
          this.#moveTo = null;
          await this.#move(to);
        }
        const next = Math.min(marks.find((s) => s > this.step) ?? this.total, evals.find((s) => s > this.step) ?? this.total);
        // After a move or a fallback, a CPU-sized call could hold minutes of SwiftShader steps.
        if (sizedOn !== this.backend) [n, sizedOn] = [1, this.backend];
        try {
          const r = this.#replicas ? await this.#parallelStep() : await this.#steps(Math.max(1, Math.min(n, next - this.step)));
          calls += 1;
          if (r == null) continue; // the replicas failed: one worker from the last saved state
          // Size the next call to about SLICE_MS.
          const per = r.ms / Math.max(1, r.logs.length);
          n = Math.max(1, Math.min(1000, Math.round(SLICE_MS / Math.max(per, 0.01))));
          // The first call carries the run's warm-up: decide on the second.
          if (calls === 2) this.#maybeParallel(per);
          if (marks.includes(this.step)) await this.#checkpoint();
          else if (evals.includes(this.step)) await this.#evaluate();
          else if (performance.now() - this.#lastSave > SAVE_EVERY_MS) await this.#checkpointState();
        } catch (e) {
          if (e.code === 'diverged') throw e;
          // Any GPU failure (a step, a read-back of weights or state, a crash) moves the run to
          // the CPU; on the CPU a crash resumes there, from the last saved state.
          if (this.backend === 'webgpu') await this.#fallback(e);
          else if (isCrash(e) && this.#recoveries < MAX_RECOVERIES) await this.#recover(e);
          else throw e;
        }
      }
      // A run no longer than the estimate's probe steps ends before the loop: its last step
      // still joins the timeline.
      if (this.step >= this.total && this.timeline.at(-1)?.step !== this.step) await this.#checkpoint();
      await this.#checkpointState();
      this.#setStatus(this.step >= this.total ? 'done' : 'paused');
    } catch (e) {
      this.#emit('error', { message: e.message });
      // A diverged run is whole, at its last checkpoint: it can train on (at another lr).
      this.#setStatus(e.code === 'diverged' ? 'paused' : 'error');
    }
  }

  async #steps(n) {
    let r;
    try {
      r = await this.client.call('train_steps', { run: this.run, n });
    } catch (e) {
      if (isDivergence(e)) await this.#diverged(e);
      throw e;
    }
    return this.#record(r);
  }

  // Replicas when this run's steps (`per` ms each on one worker) are long enough to share.
  #maybeParallel(per) {
    if (this.workersOption === 1 || !this.makeClient || this.#parallelOff || this.#replicas) return;
    const k = this.workersOption === 'auto' ? workersFor(per, this.backend) : this.backend === 'cpu' ? this.workersOption : 1;
    if (k < 2) return;
    this.#replicas = new Replicas(this.makeClient, k);
    this.#singleMs = per;
    this.#parallelSteps = 0;
    this.#parallelMs = 0;
  }

  #stopReplicas() {
    this.#replicas?.close();
    this.#replicas = null;
    this.workers = 1;
  }

  // One step on every replica (started or brought up to date from the run's state first).
  // Null when a replica failed: the run is then back at its last saved state, on one worker.
  async #parallelStep() {
    const rep = this.#replicas;
    let r;
    try {
      if (!rep.inSync(this.run, this.step)) {
        if (this.lastStateStep !== this.step || !this.lastState) await this.#checkpointState();
        await rep.sync(this.run, this.step, this.lastState);
      }
      r = await rep.step({ client: this.client, run: this.run });
    } catch (e) {
      this.#stopReplicas();
      if (isDivergence(e)) {
        await this.#diverged(e);
        throw e;
      }
      this.#parallelOff = true;
      // The page's own engine crashed: recovered as any crash (the run's loop does it).
      if (isCrash(e) && !e.replica) throw e;
      // A replica failed; the engine's own step is half done (its batch drawn): back to the
      // saved state, on one worker.
      await this.#backToSaved();
      this.#emit('notice', { message: `Training goes on in one worker: the data-parallel step failed (${e.message}).` });
      return null;
    }
    this.workers = rep.n;
    this.#parallelSteps += 1;
    if (this.#parallelSteps > 1) this.#parallelMs += r.ms;
    // After a warm-up step, three steps tell whether the split pays; if not, one worker (a
    // number of workers asked for is kept).
    if (this.workersOption === 'auto' && this.#parallelSteps === 4 && !pays(this.#parallelMs / 3, this.#singleMs)) {
      this.#stopReplicas();
      this.#parallelOff = true;
    }
    return this.#record(r);
  }

  // A step call's result into the curves, the rate and a progress event.
  #record(r) {
    this.step = r.step;
    for (const l of r.logs) this.curves.train.push(trainPoint(l));
    const per = r.logs.length ? r.ms / 1000 / r.logs.length : null;
    if (per) this.stepsPerSec = this.stepsPerSec == null ? 1 / per : 0.7 * this.stepsPerSec + 0.3 / per;
    const eta = this.stepsPerSec ? (this.total - this.step) / this.stepsPerSec : null;
    this.#emit('progress', { step: this.step, total: this.total, logs: r.logs, ms: r.ms, backend: this.backend, workers: this.workers, stepsPerSec: this.stepsPerSec, etaSeconds: eta });
    return r;
  }

  async #checkpoint() {
    const weights = await this.client.call('train_weights', { run: this.run });
    const entries = this.timeline.filter((t) => t.step !== this.step).concat([{ step: this.step, weights }]).sort((a, b) => a.step - b.step);
    this.timeline = thinTimeline(entries, this.info.timeline.budget_bytes);
    await this.#evaluate();
    this.#emit('checkpoint', { step: this.step, timeline: this.timeline });
    await this.#checkpointState();
  }

  // Loss, accuracy and the task's figures on the held-out set, kept in the curves.
  async #evaluate() {
    const ev = await this.client.call('train_evaluate', { run: this.run, limit: this.evalLimit });
    const point = { step: ev.step, loss: ev.loss, accuracy: ev.accuracy, figures: ev.figures };
    this.curves.eval.push(point);
    this.#emit('eval', point);
  }

  // The resumable state, kept here and in IndexedDB: what a reload, a crash or a lost GPU
  // resumes from.
  async #checkpointState() {
    this.lastState = await this.client.call('train_state', { run: this.run });
    this.lastStateStep = this.step;
    this.#lastSave = performance.now();
    if (this.step > (this.restarts.at(-1)?.resumedAt ?? -1)) this.#recoveries = 0;
    await this.#save();
  }

  async #save() {
    if (!(await this.#claim())) {
      // Said at every save it skips: the panel's other notices come and go meanwhile.
      this.unsaved = true;
      this.#emit('notice', { message: "This page's run is open in another tab, which saves it: what you train in this tab is not saved (close the other tab to save it here)." });
      return;
    }
    try {
      await saveRecord(this.key, {
        task: this.task,
        step: this.lastStateStep,
        recipe: this.recipe,
        variant: this.variant,
        state: this.lastState,
        curves: this.curves,
        timeline: this.timeline,
        fallbacks: this.fallbacks,
        savedAt: Date.now(),
      });
      this.unsaved = false;
      this.saveError = null;
    } catch (e) {
      // Training goes on; the reader sees why it is not kept (and how much room it needs).
      this.unsaved = true;
      this.saveError = e.message;
      this.#emit('error', { message: e.message });
    }
  }

  // Whether this tab saves the run: asked once, at its first save (a tab that only reads the
  // page never claims it). The first tab to save keeps it until it closes.
  #claim() {
    if (!this.#owner) {
      // Web Locks refused (e.g. an opaque origin): every tab saves, as before there were locks.
      this.#owner = claimRecord(this.key, () => this.#takeOver()).catch(() => true);
    }
    return this.#owner;
  }

  // The tab that owned the saved run closed: this one saves from now on, its unsaved run first.
  async #takeOver() {
    this.#owner = Promise.resolve(true);
    this.#emit('notice', { message: 'The other tab with this page closed: this tab now saves its run.' });
    if (this.unsaved && this.lastState) await this.#save();
  }

  // The engine crashed and restarted (worker.js): the same run, from its last saved state.
  async #recover(err) {
    // The engine's reason (its panic message) when its restart event came first.
    const reason = this.#lost ?? err.message.replace(/^.*?the engine (panicked|crashed): /s, '');
    this.#recoveries += 1;
    await this.#backToSaved();
    const r = { reason, resumedAt: this.step };
    this.restarts.push(r);
    this.#emit('restarted', r);
  }

  // The trainer stopped a diverging run (and put its weights back one step): the page's run
  // goes back to its last checkpoint, which every record of it (curves, timeline) matches.
  // The error then says so (code 'diverged').
  async #diverged(err) {
    await this.#drop();
    await this.#backToSaved();
    err.message = `${err.message}. The run is back at its last checkpoint, step ${this.step}.`;
    err.code = 'diverged';
    this.#setStatus('paused');
  }

  // The run as it was at its last saved state, on the same backend.
  async #backToSaved() {
    await this.#restore(this.backend, this.lastState);
    this.#rewind();
  }

  // Steps past the restored state are re-run: drop what they recorded so each appears once.
  #rewind() {
    this.curves.train = this.curves.train.filter((p) => p.step <= this.step);
    this.curves.eval = this.curves.eval.filter((p) => p.step <= this.step);
    this.timeline = this.timeline.filter((t) => t.step <= this.step);
  }

  // The GPU failed mid-run: continue on the CPU from the last saved state. A worker that
  // cannot restore it (it gave up restarting its engine) is replaced.
  async #fallback(err) {
    this.#stopReplicas();
    const from = this.backend;
    const reason = err.message;
    try {
      await this.#restore('cpu', this.lastState);
    } catch {
      if (!this.makeClient) throw err;
      this.client.terminate?.();
      this.client = this.makeClient();
      this.#watch(this.client);
      await this.#restore('cpu', this.lastState);
    }
    this.#rewind();
    const f = { from, to: 'cpu', reason, resumedAt: this.step };
    this.fallbacks.push(f);
    this.#emit('fallback', f);
    this.#setStatus('running');
  }

  /** Weights of the timeline entry nearest `step` (ArrayBuffer), or null. */
  weightsAt(step) {
    if (!this.timeline.length) return null;
    return this.timeline.reduce((a, b) => (Math.abs(b.step - step) < Math.abs(a.step - step) ? b : a)).weights;
  }

  /**
   * The run as TransformerLens reads it: {weights: ArrayBuffer of TL-named f32 safetensors,
   * config: the TL config dict (cfg.to_dict()'s shape), step}.
   */
  async exportWeights() {
    if (this.run == null) throw new Error('no run to export: train or import first');
    await this.#revive();
    const weights = await this.client.call('train_weights', { run: this.run });
    return { weights, config: this.config, step: this.step };
  }
}
