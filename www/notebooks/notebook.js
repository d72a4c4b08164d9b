// What every notebook page shares: the engine worker, the backend choice, the pretrained
// model and its training timeline, the reader's own run, and one "selected model" that every
// figure follows. Pages register `onModel(fn)`; fn runs after the selected checkpoint is
// loaded into the worker's CPU engine (analyses read back synchronously, so they run there,
// whatever backend trains). Model changes are serialised: a figure never mixes two models.
// A notebook of no task (task null: a checkpoint the reader brings, www/notebooks/yours/) has
// no pretrained model, timeline or training: its models are selections {source: 'reader',
// step, config, weights, info, label} that the page makes (`first` gives the one it opens with).
import { EngineClient } from '../engine/client.js';
import { initialBackend, settleBackend } from '../engine/backend.js';
import { SOFTWARE_EVAL_LIMIT, TrainingSession } from '../engine/session.js';
import '../offline.js'; // the site offline after this first visit (service worker)
import { engineClient, reportToHost } from '../embed/frame.js';
import { readerInfo } from './common.js';
import { parseMetrics } from './metrics.js';

const ROOT = new URL('../', import.meta.url); // the site's root

export class Notebook extends EventTarget {
  /**
   * inputViews: the views that follow the edited input (embedded, they keep the editor).
   * first (task null only): async (notebook) -> the selection the page opens with.
   */
  constructor({ task, inputViews = [], first = null, engines = 1 }) {
    super();
    this.task = task;
    // Engines the figures' analyses run on: a page of heavy analyses asks for two (a second
    // worker, loaded with the same model), so a timeline move uses both cores. Never embedded
    // (one figure) and never beyond the machine's cores.
    this.engines = Math.max(1, Math.min(engines, navigator.hardwareConcurrency || 1));
    this.helpers = []; // the engines beyond the first, [EngineClient]
    this.firstFetched = null; // the path of the weights every engine prefetched (#prefetchFirst)
    this.first = first;
    this.cacheBackend = 'cpu'; // where cache() runs (a reader's model: on the chosen backend too)
    this.listeners = [];
    this.current = null;
    this.pending = null;
    this.busy = null;
    this.metrics = null; // the pretrained run's curves (models/<task>/metrics.jsonl), fetched once
    this.imported = null;
    // Embedded as one figure (`?view=NAME`, see www/embed.js and www/embed/frame.js): the page
    // shows only that figure, the timeline and (for figures of the edited input) the input's
    // controls; the backend status stays on the full page.
    this.only = new URLSearchParams(location.search).get('view');
    this.inputViews = inputViews;
  }

  #embedLayout() {
    const fig = document.querySelector(`[data-view="${CSS.escape(this.only)}"], [view="${CSS.escape(this.only)}"]`);
    if (!fig) {
      const error = `this page has no view ${JSON.stringify(this.only)}`;
      reportToHost(this.only, null, error);
      throw new Error(error);
    }
    document.documentElement.dataset.embed = this.only;
    const keep = [fig, this.q('tl-timeline')];
    if (this.inputViews.includes(this.only)) keep.push(...document.querySelectorAll('tl-token-input, .nb-inputs'));
    const kept = keep.filter(Boolean);
    const hide = (el) => {
      for (const c of el.children) {
        if (kept.includes(c) || c.tagName === 'SCRIPT') continue;
        if (kept.some((k) => c.contains(k))) {
          c.style.margin = '0'; // a section's margins would be empty bands around the figure
          hide(c);
        } else c.hidden = true;
      }
    };
    hide(document.body);
    // The page's bottom margin (room after the last section) would be an empty band in a frame.
    document.body.style.padding = '.5rem';
    // The embedding page sizes its frame from these messages (and shows the figure's state).
    reportToHost(this.only, fig);
  }

  q(sel) {
    return document.querySelector(sel);
  }

  /**
   * Starts the engine, the backend choice, the pretrained model and the session; then selects
   * the first model (the reader's restored run, else the pretrained one) unless `select` is
   * false, in which case the caller registers its figures and calls selectFirst() itself.
   */
  async start({ select = true } = {}) {
    if (this.only) this.#embedLayout();
    const status = this.q('tl-backend');
    this.client = await engineClient();
    if (this.only || this.task === null) this.engines = 1;
    this.helpers = Array.from({ length: this.engines - 1 }, () => new EngineClient());
    for (const h of this.helpers) this.#watchEngine(h, status);
    this.#watchEngine(this.client, status);
    // The task's facts and the model index are asked for at once, beside the backend probe.
    const info = this.task !== null ? this.client.call('task_info', { task: this.task }) : null;
    const indexed = this.task !== null ? this.#fetch('models/index.json', 'json') : null;
    // The pretrained model's weights follow the index (a fetch waits behind no engine work).
    indexed?.then((index) => this.#prefetchFirst(index[this.task])).catch(() => {}); // an error shows below
    info?.catch(() => {}); // awaited below
    try {
      this.choice = await initialBackend(this.client);
      if (status) status.choice = this.choice;
      // The WebGPU self-test waits for the first figures (the worker runs one request at a time).
      if (this.choice.pending) {
        this.addEventListener('model', () => this.#settleBackend(status).catch((e) => status?.note(`Computing on the CPU: the WebGPU self-test could not run (${e.message}).`)), { once: true });
      }
      if (this.task !== null) {
        this.info = await info;
        const index = await indexed;
        this.model = index[this.task];
        if (!this.model) throw new Error(`no pretrained model for ${this.task} in models/index.json`);
        this.configJson = await this.#fetch(`models/${this.model.config}`, 'json');
      }
    } catch (e) {
      status?.setError(`The engine could not start: ${e.message}`);
      throw e;
    }
    if (this.task === null) return this.#startReader(select);
    this.pretrainedSteps = [...this.model.checkpoints];
    this.finalStep = this.pretrainedSteps.at(-1) ?? 0;

    this.session = new TrainingSession({
      client: this.client,
      task: this.task,
      key: `notebook:${this.task}`,
      backend: this.choice.backend,
      makeClient: () => new EngineClient(),
      evalLimit: this.choice.backend === 'webgpu' && this.choice.webgpu?.adapter?.isFallbackAdapter ? SOFTWARE_EVAL_LIMIT : undefined,
    });
    this.session.addEventListener('fallback', (e) => {
      if (this.client !== this.session.client) {
        this.client = this.session.client; // a replaced worker (the old one gave up restarting)
        this.#watchEngine(this.client, status);
      }
      status?.fallback(e.detail.reason);
    });
    this.session.addEventListener('restarted', (e) => {
      status?.note(`${this.restartNote ?? 'The engine crashed and was restarted'}; training resumed from step ${e.detail.resumedAt}.`);
    });
    await this.session.init();

    this.timeline = this.q('tl-timeline');
    const panel = this.q('tl-train-panel');
    if (panel) {
      panel.session = this.session;
      if (this.session.loadError) panel.showError(this.session.loadError);
      panel.addEventListener('import', (e) => this.#import(e.detail).catch((err) => panel.showError(`${e.detail.name}: ${err.message}`)));
    }
    this.#syncTimeline();
    this.session.addEventListener('checkpoint', (e) => {
      this.#syncTimeline();
      // While the reader's run trains, the figures follow its newest checkpoint.
      if (this.timeline?.follow !== false && (this.current?.source === 'run' || this.session.status === 'running')) {
        this.select({ source: 'run', step: e.detail.step });
      }
    });
    // The figures follow the slider while it is dragged (a step they cannot keep up with is
    // dropped: select keeps only the newest); letting go where they already are costs nothing.
    const follow = (e) => {
      if (!sameModel(e.detail, this.pending ?? this.loading ?? this.current)) this.select(e.detail);
    };
    this.timeline?.addEventListener('scrub', follow);
    this.timeline?.addEventListener('change', follow);
    // A reset drops the run's checkpoints: the figures go back to the pretrained model.
    this.session.addEventListener('status', () => {
      this.#syncTimeline();
      if (this.current?.source === 'run' && this.session.timeline.length === 0) {
        this.select({ source: 'pretrained', step: this.finalStep });
      }
    });
    if (select) await this.selectFirst();
  }

  // The self-test decides where training runs: a run moves to WebGPU if it passed (the
  // figures' analyses stay on the CPU engine); a reader's model is loaded there for its cache.
  async #settleBackend(status) {
    const final = await settleBackend(this.client, this.choice);
    const moved = final.backend === 'webgpu';
    this.choice = { ...final, reason: moved ? `${final.reason}; training moves here from the CPU, which drew the first figures` : final.reason };
    if (status) status.choice = this.choice;
    if (moved) {
      if (this.session) {
        if (this.choice.webgpu?.adapter?.isFallbackAdapter) this.session.evalLimit = SOFTWARE_EVAL_LIMIT;
        await this.session.useBackend('webgpu');
      }
      if (this.task === null && this.current) await this.select(this.current);
    }
    this.dispatchEvent(new CustomEvent('backend', { detail: this.choice }));
  }

  // The engine crashed and its worker restarted it (www/engine/worker.js): the page says so and
  // its figures recompute (the one whose request crashed lost its result; the worker has put
  // the loaded model back). The training run resumes by itself (session.js).
  #watchEngine(client, status) {
    client.addEventListener('restarted', (e) => {
      const reason = e.detail.reason.replace(/\s+/g, ' ').trim();
      this.restartNote = `The engine crashed (${reason}) and was restarted in ${(e.detail.ms / 1000).toFixed(1)} s`;
      this.restarts = (this.restarts ?? 0) + 1;
      status?.note(`${this.restartNote}.`);
      document.documentElement.dataset.engineRestarts = String(this.restarts);
      if (this.current) this.select(this.current);
    });
  }

  async #startReader(select) {
    this.pretrainedSteps = [];
    this.finalStep = 0;
    this.initial = await this.first(this);
    this.info = this.initial.info;
    if (select) await this.selectFirst();
  }

  /** Selects the reader's restored run if there is one, else the pretrained model. */
  selectFirst() {
    if (this.task === null) return this.select(this.initial);
    const restoredRun = this.session.timeline.length > 0;
    return this.select(restoredRun ? { source: 'run', step: this.session.timeline.at(-1).step } : { source: 'pretrained', step: this.finalStep });
  }

  #syncTimeline() {
    if (!this.timeline) return;
    this.timeline.sources = { pretrained: this.pretrainedSteps, run: this.session.timeline.map((t) => t.step) };
  }

  /** Whether a newer model than `model` is waiting to be shown (its figures can stop). */
  supersededBy(model) {
    return Boolean(this.pending && model && !sameModel(this.pending, model));
  }

  /** Registers a figure updater; it also runs at once if a model is already selected. */
  onModel(fn) {
    this.listeners.push(fn);
    if (this.current && !this.busy) this.#runListener(fn, this.current);
  }

  /** Selects a checkpoint ({source: 'pretrained'|'run'|'imported', step}); resolves once every figure has followed. */
  select(sel) {
    this.pending = sel;
    this.busy ??= this.#drain().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  async #drain() {
    while (this.pending) {
      const sel = this.pending;
      this.pending = null;
      this.loading = sel;
      // The timeline's prefetch pauses (its downloads took the cores from the move's analyses:
      // the chain went on fetching through a move); it starts again from the new checkpoint
      // once every figure has followed.
      this.prefetching = null;
      // Figures that need no engine (the training curves read only the step) follow at once,
      // while the weights download and load.
      this.dispatchEvent(new CustomEvent('selecting', { detail: described(sel) }));
      try {
        await this.#load(sel);
      } catch (e) {
        this.loading = null;
        this.dispatchEvent(new CustomEvent('error', { detail: { message: e.message, selection: sel } }));
        continue;
      }
      if (sel.info) this.info = sel.info;
      // Before any figure follows: the page fits its input to the new model here.
      this.dispatchEvent(new CustomEvent('loaded', { detail: sel }));
      this.current = described(sel);
      this.timeline?.select(sel.source, sel.step);
      await Promise.all(this.listeners.map((fn) => this.#runListener(fn, this.current)));
      this.loading = null;
      // A newer selection came meanwhile: the figures left stop for it (see supersededBy).
      if (this.pending) continue;
      // Set once every figure has followed: scripts and tests can wait on it.
      document.documentElement.dataset.model = `${sel.source}:${sel.step}`;
      this.dispatchEvent(new CustomEvent('model', { detail: this.current }));
      if (sel.source === 'pretrained') this.#prefetchAround(sel.step);
    }
  }

  async #runListener(fn, cur) {
    try {
      await fn(cur);
    } catch (e) {
      // A figure's own error state shows it; this keeps one figure from stopping the rest.
      console.warn(`figure update failed: ${e.message}`);
    }
  }

  // The timeline's checkpoints, nearest first (either side of `step` is where the slider goes
  // next), one at a time once the figures are drawn (copying a file in the worker would hold
  // up their analyses): the worker keeps what it fetched (engine/fetch-cache.js, bounded), so
  // a move does not wait on the download. Reading addition's 6.3 MB file took Chromium 350–560
  // ms of a 2-s move here, on a local server. With the reader's data saver on, only the two
  // neighbours.
  #prefetchAround(step) {
    const at = this.pretrainedSteps.indexOf(step);
    const near = this.pretrainedSteps.map((s, i) => [Math.abs(i - at), s]).filter(([d]) => d > 0).sort((a, b) => a[0] - b[0]);
    const all = !navigator.connection?.saveData;
    const todo = near.filter(([d]) => all || d === 1).map(([, s]) => s);
    const token = (this.prefetching = {});
    const next = () => {
      const s = todo.shift();
      // A newer move starts its own, nearest to where the slider is now.
      if (s === undefined || this.prefetching !== token) return;
      this.#fetch(this.#checkpointPath(s), 'none').then(next, next); // a failure is fetched again when chosen
    };
    next();
  }

  // The final checkpoint, which a page opens with unless its link names a checkpoint or a run
  // (a run restored from this browser's storage is found later: its download is then unused).
  // Every engine fetches it, at once: on a cold load a helper engine that waited for the
  // first one's copy to cross the page (a page busy drawing its first figures) started loading
  // ~200 ms after it, and every figure waits for both.
  #prefetchFirst(model) {
    if (!model || /[?&](checkpoint|run)=/.test(location.search)) return;
    this.firstFetched = `models/${model.weights}`;
    for (const c of this.#clients) this.#fetch(this.firstFetched, 'none', c).catch(() => {}); // fetched again when chosen
  }

  // Every analysis engine: the page's own and its helpers.
  get #clients() {
    return [this.client, ...this.helpers];
  }

  #checkpointPath(step) {
    return `models/${step === this.finalStep ? this.model.weights : `${this.task}/checkpoints/step_${step}.safetensors`}`;
  }

  async #load(sel) {
    if (sel.source === 'reader') return this.#loadReader(sel);
    if (sel.source === 'pretrained') return this.#loadPretrained(sel.step);
    let weights;
    if (sel.source === 'run') {
      weights = this.session.weightsAt(sel.step);
      if (!weights) throw new Error(`your run has no checkpoint at step ${sel.step}`);
    } else {
      weights = this.imported;
    }
    // A run trains the task's own config (the pretrained model's) unless the reader chose another.
    const config = sel.source === 'run' ? this.session.config ?? this.configJson : this.configJson;
    // Every analysis engine holds the selected model (the weights are copied: each call
    // transfers its own buffer).
    await Promise.all(this.#clients.map((c) => c.call('load', { backend: 'cpu', config, weights: weights.slice(0) })));
  }

  // A pretrained checkpoint: the engine worker loads the file it fetches (and keeps: see
  // #prefetchAround), and the file crosses to the page only for the helper engines, passed on
  // without a copy (but the first model, which every engine fetched: #prefetchFirst). Copying
  // it on the page (addition's are 6.3 MB) held a timeline move's first frame up by its copies
  // and their garbage collection.
  async #loadPretrained(step) {
    const path = this.#checkpointPath(step);
    const url = new URL(path, ROOT).href;
    const config = this.configJson;
    if (path === this.firstFetched) {
      await Promise.all(this.#clients.map((c) => c.call('load', { backend: 'cpu', config, url })));
      return;
    }
    const bytes = this.helpers.length ? this.client.call('fetch', { url }) : null;
    await Promise.all([
      this.client.call('load', { backend: 'cpu', config, url }),
      // Each call transfers its buffer: the last one takes the file itself, the others copies made first.
      bytes?.then((b) => Promise.all(this.helpers.map((c, k) => c.call('load', { backend: 'cpu', config, weights: k < this.helpers.length - 1 ? b.slice(0) : b })))),
    ]);
  }

  // A checkpoint of no task, with its own config. A bad file fails on the CPU first, and the
  // engines keep the model they had. On WebGPU it is loaded there too, so the cache (the
  // activations the page browses) is computed on the chosen backend.
  async #loadReader(sel) {
    const t0 = performance.now();
    await this.client.call('load', { backend: 'cpu', config: sel.config, weights: sel.weights.slice(0) });
    sel.loadMs = performance.now() - t0;
    // The engine's config: the file's with TL's derived fields (d_vocab_out, n_params) filled in.
    sel.info = readerInfo(await this.client.call('config', { backend: 'cpu' }), sel.labels);
    this.cacheBackend = 'cpu';
    if (this.choice.backend !== 'webgpu') return;
    try {
      await this.client.call('load', { backend: 'webgpu', config: sel.config, weights: sel.weights.slice(0) });
      this.cacheBackend = 'webgpu';
    } catch (e) {
      console.warn(`the model did not load on WebGPU (${e.message}); its activations are computed on the CPU`);
    }
  }

  /**
   * The training curves of the selected model's run, {train: [{step, loss, accuracy}], eval:
   * [{step, loss, accuracy, figures}]}: the pretrained run's from its metrics.jsonl (one fetch),
   * the reader's run's as the session recorded them while it trained, none for imported weights.
   */
  /** The training log of the current model's source (`source`: of another selection's). */
  async curves(source = this.current?.source) {
    if (source === 'run') return this.session.curves;
    if (source !== 'pretrained') return { train: [], eval: [] };
    // Embedded, through the engine the embeds share (#fetch: one download for all of them);
    // on the page itself by the page, which draws it: an engine worker answers between its
    // analyses, and on addition's cold load the log crossed the page ~400 ms after it arrived,
    // behind the first ablation (the cold load took 2.8-3.3 s, now 2.0-2.4).
    if (this.metrics) return this.metrics;
    const path = `models/${this.model.metrics}`;
    const text = this.only ? this.#fetch(path, 'text') : fetch(new URL(path, ROOT).href).then((r) => {
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      return r.text();
    });
    this.metrics = text.then(parseMetrics).catch((e) => {
      this.metrics = null;
      throw e;
    });
    return this.metrics;
  }

  /** The pretrained timeline's claims as the site build judged them (tools/claims.mjs). */
  timelineClaims() {
    return this.#fetch(`models/${this.model.claims}`, 'json');
  }

  /**
   * A site file (path from the site's root) through an engine worker (the page's own unless
   * `client`), which fetches each URL once and keeps it: embedded figures sharing a worker
   * download a model once between them.
   */
  #fetch(path, as = 'bytes', client = this.client) {
    return client.call('fetch', { url: new URL(path, ROOT).href, as });
  }

  async #import({ name, bytes }) {
    // Checked by loading: a wrong name, shape or a garbled file comes back as a message, and
    // the engine keeps the model it had (a failed load replaces nothing).
    await this.client.call('load', { backend: 'cpu', config: this.configJson, weights: bytes.slice(0) });
    this.imported = bytes;
    await this.select({ source: 'imported', step: 0, name });
  }

  /** An analysis of the selected model (see `toylens analyze --list`). */
  analyze(what, { tokens, request, engine = 0 } = {}) {
    return this.#engine(engine).call('analyze', { task: this.task, what, tokens, request });
  }

  // The client of analysis engine `i` (0: the page's own worker).
  #engine(i) {
    return i === 0 ? this.client : this.helpers[i - 1];
  }

  /** run_with_cache on the selected model: {logits, cache}. */
  cache(tokens, names) {
    return this.client.call('cache', { backend: this.cacheBackend, tokens, names });
  }

  /** The task's labels of `tokens`, from engine `engine` (any engine labels alike). */
  label(tokens, engine = 0) {
    return this.#engine(engine).call('task_label', { task: this.task, tokens });
  }
}

/** A selection with the label the page shows for it. */
function described(sel) {
  return { ...sel, label: sel.label ?? `${sel.source === 'pretrained' ? 'pretrained' : sel.source === 'run' ? 'your run' : 'imported'}, step ${sel.step}` };
}

/** Two selections of the same checkpoint ({source, step}). */
export function sameModel(a, b) {
  return Boolean(a && b && a.source === b.source && a.step === b.step);
}
