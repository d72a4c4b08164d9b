// The runtime of a declared notebook page (see declare.js): finds each declared figure's
// element (exactly one each; every element named after the task is declared), draws the
// static figures once, recomputes the figures that follow the timeline whenever the selected
// model changes and those that follow the input when it is edited. Every figure goes through
// the widget kit's one loading/error path (el.fill); numbers quoted in the prose follow.
// The page's state (model, input, picks) lives in its URL (permalink.js): read once the
// engine's facts are known, written back with history.replaceState on every change, and
// offered as an embed snippet by each figure's toolbar.
import { Notebook, sameModel } from './notebook.js';
import { WIDGETS, checkPage, computed, drawnOnce, picksOf, readKey, readingPicks, readsOf, viewsFollowing } from './declare.js';
import { judge } from './claims.js';
import { Emergence } from './emergence.js';
import { embedAttributes, labelProblemOf, readState, writeState } from './permalink.js';
import { fmt } from '../widgets/scales.js';

const EMBED_SCRIPT = new URL('../embed.js', import.meta.url);
// The pretrained checkpoints whose reads the page keeps (scrubbing back to one redraws its
// figures without the engine): their weights never change, so a read of (checkpoint,
// analysis, request, input) always gives the same result. The most recently shown are kept.
const KEEP_CHECKPOINTS = 8;
// The most the page's own figures (the training curves) draw for in one go before the page
// answers input and the engines' replies again.
const SLICE_MS = 30;

export class NotebookPage {
  /**
   * `page`: the declaration; `tokens`: the input the page starts with; `picks`: the reader's
   * other choices; `controls({tokens, picks})`: puts a state restored from the URL into the
   * page's own controls (number fields, selects), which the runtime does not know.
   * `first`: a page of no task (page.reader): the model it opens with (see Notebook).
   */
  constructor(page, { tokens, picks = {}, controls = null, first = null }) {
    this.page = checkPage(page);
    this.tokens = tokens;
    this.picks = picks;
    this.controls = controls;
    this.nb = new Notebook({ task: page.reader ? null : page.task, inputViews: viewsFollowing(page, 'input'), first, engines: page.engines });
    this.els = new Map();
    this.gens = new Map(); // view -> the newest fill's number (older results' numbers are dropped)
    this.near = null; // the figure elements within a screen of the viewport (#bindElements), once known
    this.kept = new Map(); // pretrained step -> Map(readKey -> promise of the result)
  }

  /** The element of a declared view. */
  el(view) {
    const e = this.els.get(view) ?? findView(view);
    if (!e) throw new Error(`this page has no figure ${view}`);
    return e;
  }

  /** Starts the engine and the figures; false (every figure showing why) if it cannot. */
  async start() {
    try {
      await this.nb.start({ select: false });
      this.#bindElements();
    } catch (e) {
      this.fail(e);
      return false;
    }
    const claimsEl = this.page.reader || this.nb.only ? null : this.els.get(`${this.page.task}/claims`);
    if (claimsEl) {
      this.emergence = new Emergence(this.page, this.nb, claimsEl);
      this.emergence.start();
    }
    const first = this.#restore(location.search, await labelProblemOf(location.search, (ids) => this.nb.label([ids])));
    const ctx = this.#ctx();
    for (const f of drawnOnce(this.page)) this.el(f.view).fill(() => f.show({}, ctx));
    // Registered before the first model is selected, so html[data-model] (set once every
    // listener has followed a model) means "every figure computed" on a cold load too. Not
    // awaited: the page's own controls are drawn meanwhile.
    this.nb.onModel((model) => this.#run(computed(this.page).filter((f) => !this.#drawnEarly(f, model))));
    if (!this.nb.only || computed(this.page).some((f) => f.view === this.nb.only && this.#curvesOnly(f))) {
      this.nb.addEventListener('selecting', (e) => this.#drawEarly(e.detail));
      // A model that failed to load: the figures go back to the model still shown (its reads
      // are kept, when it is a pretrained checkpoint).
      this.nb.addEventListener('error', (e) => {
        if (this.early && sameModel(this.early.model, e.detail.selection) && this.nb.current) {
          this.early = null;
          this.#run(computed(this.page));
        }
      });
    }
    this.nb.addEventListener('model', () => this.#writeUrl());
    this.nb.timeline?.addEventListener('change', () => this.#clearNotes(['checkpoint', 'run']));
    if (!this.nb.only) this.#offerEmbeds();
    for (const f of this.page.figures) if (f.notebook) this.el(f.view).notebookNote = f.notebook;
    if (first) this.nb.select(first);
    else this.nb.selectFirst();
    return true;
  }

  /** The reader edited the input: the figures that read it are computed again. */
  async setTokens(tokens) {
    this.tokens = tokens;
    this.#clearNotes(['tokens']);
    await this.#run(computed(this.page).filter((f) => f.follows === 'input'));
    // After the figures: history.replaceState costs ~6 ms in Chromium, a third of the frame
    // an edit of sorting's list has to redraw its figures in.
    this.#writeUrl();
  }

  /** The reader changed picks (`picks`: the changed ones): the figures that read one are computed again. */
  setPicks(picks) {
    const keys = Object.keys(picks);
    this.picks = { ...this.picks, ...picks };
    this.#clearNotes(keys);
    this.#writeUrl();
    return this.#run(readingPicks(this.page, keys));
  }

  /** The page's shareable state now: {model, tokens, picks} (see permalink.js). */
  state() {
    const cur = this.nb.current;
    const linkable = cur && (cur.source === 'pretrained' || cur.source === 'run');
    const hasInput = this.page.figures.some((f) => f.follows === 'input');
    // A reader's checkpoint is linkable when it came from a URL (a dropped file is not).
    const model = linkable ? { source: cur.source, step: cur.step } : cur?.url ? { source: 'url', ...cur.url } : null;
    return { model, tokens: hasInput ? this.tokens : null, picks: this.picks };
  }

  /**
   * The embed snippet of `view` in the current state, {text, note}: the embed.js script tag and a
   * <toylens-view> whose attributes are the state the figure reads; `note` says what a reader
   * of the embed will not see (the reader's own run lives in this browser only).
   */
  embedSnippet(view) {
    const f = this.page.figures.find((x) => x.view === view);
    const state = this.state();
    const attrs = Object.entries(embedAttributes(this.page, f, state)).map(([k, v]) => `${k}="${escapeAttr(v)}"`);
    // The classic-script form of embed.js: it runs on hosts that send no CORS headers too.
    const text = `<script src="${escapeAttr(EMBED_SCRIPT.href)}" defer></script>\n<toylens-view ${attrs.join(' ')}></toylens-view>`;
    const cur = this.nb.current;
    const notes = {
      run: 'This figure shows your own run, which only this browser has: elsewhere the embed shows the pretrained model.',
      reader: 'This figure shows a file from your computer, which only this browser has: elsewhere the embed shows the built-in example (put the file online and open this page with ?weights=<its URL> to embed it).',
    };
    const source = state.model?.source ?? (cur?.source === 'reader' && !cur.example ? 'reader' : null);
    const note = (f.follows && notes[source]) || '';
    return { text, note };
  }

  /** Computes `views` again for the selected model (e.g. curves after the reader's run evaluated). */
  refresh(views) {
    return this.#run(computed(this.page).filter((f) => views.includes(f.view)));
  }

  /** The page could not start (no engine, no model): every figure still waiting says why. */
  fail(e) {
    const message = e?.message || String(e);
    for (const f of this.page.figures) {
      const el = findView(f.view);
      if (el?.dataset.state === 'loading' && typeof el.setError === 'function') el.setError(message);
    }
  }

  // Every declared view has exactly one element of its widget, and no element named after
  // the task is undeclared: a typo in index.html or in the declaration stops the page loudly.
  #bindElements() {
    const declared = new Set(this.page.figures.map((f) => f.view));
    for (const f of this.page.figures) {
      const found = document.querySelectorAll(viewSelector(f.view));
      if (found.length !== 1) throw new Error(`${f.view}: the page has ${found.length} elements for it (expected one)`);
      const tag = WIDGETS[f.widget];
      if (found[0].localName !== tag) throw new Error(`${f.view}: declared as <${tag}>, the page has <${found[0].localName}>`);
      this.els.set(f.view, found[0]);
    }
    // Which figures are within a screen of the viewport, as the browser reports it between
    // frames: measuring each figure's box when a move or an edit starts forced a layout of the
    // page it had just drawn (~6 ms of each of majority's edits).
    const near = new IntersectionObserver((entries) => {
      this.near ??= new Set();
      for (const e of entries) {
        if (e.isIntersecting) this.near.add(e.target);
        else this.near.delete(e.target);
      }
    }, { rootMargin: '100% 0px 100% 0px' });
    for (const el of this.els.values()) near.observe(el);
    for (const e of document.querySelectorAll(`[data-view^="${this.page.task}/"], [view^="${this.page.task}/"]`)) {
      const v = e.dataset.view || e.getAttribute('view');
      if (!declared.has(v)) throw new Error(`${v}: the page shows it but ${this.page.task}/page.js does not declare it`);
    }
  }

  // Reads the state in `search`: the input and picks are set (and the page's controls told),
  // every parameter ignored says why next to its control; returns the model to select, or
  // null for the page's default (the reader's restored run, else the pretrained model).
  #restore(search, labelProblem) {
    const s = readState(search, this.page, { info: this.nb.info, steps: this.nb.pretrainedSteps, labelProblem });
    this.#clearNotes();
    for (const p of s.problems) this.#note(p.key, p.message);
    if (s.tokens) this.tokens = s.tokens;
    this.picks = { ...this.picks, ...s.picks };
    this.controls?.({ tokens: this.tokens, picks: this.picks });
    const model = s.model;
    if (model?.source === 'run' && !this.nb.session?.timeline.some((t) => t.step === model.step)) {
      this.#note('run', `This link shows step ${model.step} of a training run that this browser does not have (a run stays in the browser that trained it): the figures show the ${this.nb.session ? 'pretrained model' : 'model this page opens with'}.`);
      return this.nb.session ? { source: 'pretrained', step: this.nb.finalStep } : null;
    }
    return model;
  }

  #writeUrl() {
    const search = writeState(location.search, this.page, this.state());
    const url = `${location.pathname}${search ? `?${search}` : ''}${location.hash}`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', url);
  }

  // A message about an ignored link parameter, next to the control it belongs to (embedded,
  // where that control may be hidden, above the figure).
  #note(key, message) {
    const anchorOf = {
      checkpoint: () => this.nb.timeline,
      run: () => this.nb.timeline,
      tokens: () => findView(`${this.page.task}/input`),
    };
    const control = (anchorOf[key] ?? (() => document.querySelector(this.page.state?.picks?.[key]?.control ?? null)))();
    const p = Object.assign(document.createElement('p'), { className: 'nb-param-note', textContent: message });
    p.dataset.param = key;
    p.setAttribute('role', 'status');
    const visible = control?.checkVisibility?.() ?? Boolean(control?.offsetParent);
    if (control && visible) {
      let at = control.closest('.nb-inputs, .nb-bar') ?? control;
      while (at.nextElementSibling?.classList.contains('nb-param-note')) at = at.nextElementSibling; // in the link's order
      at.after(p);
    }
    else if (this.nb.only) findView(this.nb.only)?.before(p);
    else document.querySelector('main')?.prepend(p);
  }

  #clearNotes(keys = null) {
    for (const n of document.querySelectorAll('.nb-param-note')) if (!keys || keys.includes(n.dataset.param)) n.remove();
  }

  // Every figure the page computes offers its embed snippet (not the training panel's curves:
  // an embed has no run of its own).
  #offerEmbeds() {
    for (const f of this.page.figures) {
      if (!f.by) this.el(f.view).embedSnippet = () => this.embedSnippet(f.view);
    }
  }

  #ctx() {
    return { info: this.nb.info, tokens: this.tokens, picks: this.picks, model: this.nb.current };
  }

  // Computes `figures` in order (cheapest first), all marked loading at once so no figure of
  // the previous model passes for the new one. Embedded as one view, only that one computes.
  async #run(figures, model = this.nb.current) {
    const only = this.nb.only;
    const wanted = only ? figures.filter((f) => f.view === only) : figures;
    const ctx = { ...this.#ctx(), model };
    const calls = new Map(); // readKey -> promise: one engine call per distinct read of this run
    // Measured before the figures are marked loading: after, each measure would lay the page out again.
    const inView = wanted.map((f) => this.#inView(f));
    // Each figure's generation is taken now, not when the loop reaches it: an older run still
    // working through its list (an input edit) must not draw its state over a newer run's (a
    // pick changed meanwhile) that reached this figure first.
    const gens = wanted.map((f) => this.#supersede(f));
    // The figures the reader sees (in or near the viewport) first, then the rest, each group
    // in declared order (cheapest first). A figure in view whose reads declare a `sample` is
    // first drawn from that many examples and said to be a first pass, then exactly (not when
    // its exact reads are kept from an earlier visit): every figure in view is drawn once,
    // first passes and unsampled figures in that order, before any one's exact version. A
    // figure out of view gets no first pass: nobody would see it, and on addition those
    // passes were a fifth of a move's engine time (its 8-sum ablations, ~450 ms of ~2.6 s).
    const kept = this.#keptFor(ctx.model);
    const sampled = (i) => inView[i] && readsOf(wanted[i], ctx).some(([, read, tokens]) => read.sample && !kept?.has(readKey(read, tokens)));
    const seen = wanted.flatMap((f, i) => (inView[i] ? [i] : []));
    const unseen = wanted.flatMap((f, i) => (inView[i] ? [] : [i]));
    const queue = [
      ...seen.map((i) => ({ i, first: sampled(i) })),
      ...seen.filter(sampled).map((i) => ({ i, first: false })),
      ...unseen.map((i) => ({ i, first: false })),
    ];
    // One lane per analysis engine, each taking the next job of the queue that reads its
    // batches (the tokens and the number of examples an analysis reads; a first pass counts as
    // its exact read's): a batch belongs to the lane that first asked for it, whose engine then
    // serves the rest of its figures from its cached run while the other engine takes another
    // batch. A lane with none of its own left takes a job whose batches its engine can serve
    // from a run it made (the first rows of a larger batch), rather than wait.
    const batchEngine = new Map();
    const served = Array.from({ length: this.nb.engines }, () => new Map()); // lane -> rows key -> most examples run
    const canServe = (engine, b) => {
      const { rows, limit } = JSON.parse(b);
      const most = served[engine].get(rows);
      return most !== undefined && (most === null || (limit !== null && limit <= most));
    };
    // Figures that read no engine (the training curves) are drawn by a lane of their own on
    // the page's thread, while the engine lanes' analyses run in the workers.
    const pageOnly = (job) => this.#curvesOnly(wanted[job.i]);
    // What each engine computes now: its job's analyses, each with its batch.
    const running = Array.from({ length: this.nb.engines }, () => []);
    const analysesOf = (job) => readsOf(wanted[job.i], ctx).filter(([, read]) => !read.op).map(([, read, tokens]) => `${read.analysis} ${batchOf(read, tokens)}`);
    const pageLane = async () => {
      let slice = performance.now();
      for (let at; (at = queue.findIndex(pageOnly)) >= 0; ) {
        if (this.nb.supersededBy(ctx.model)) return;
        const [job] = queue.splice(at, 1);
        const f = wanted[job.i];
        if (this.gens.get(f.view) === gens[job.i]) await this.#fill(f, { ...ctx, picks: picksOf(f, ctx.picks) }, calls, gens[job.i], 0);
        // Their data is at hand, so without a pause every such figure would be drawn before the
        // page shows a frame: the ones in view (drawn first) are on screen before the others
        // are drawn, and the page answers input between any two. Figures in view follow one
        // another without a pause while they draw quickly (a timeline move redraws each in a
        // few ms): a pause let the engines' replies in between, and the last of addition's three
        // curves in view reached the screen 210–380 ms after a move instead of ~60.
        const next = queue.find(pageOnly);
        if (inView[job.i] && next && inView[next.i] && performance.now() - slice < SLICE_MS) continue;
        await (inView[job.i] && next && !inView[next.i] ? afterFrame() : nextTask());
        slice = performance.now();
      }
    };
    const lane = async (engine) => {
      for (;;) {
        // A newer model waits (the slider moved on): the figures left follow that one instead.
        if (this.nb.supersededBy(ctx.model)) return;
        const mine = (job) => !pageOnly(job) && batchesOf(wanted[job.i], ctx).every((b) => (batchEngine.get(b) ?? engine) === engine);
        // Not a job whose every analysis another engine is computing on the same batch now (in
        // another option: addition's mean ablation beside its zero one): that engine does it
        // next from the products the two share (a head's part of its pre-activations, the
        // ablation's weight products), in a fraction of what it would cost here.
        const sibling = (job) => {
          const mine = analysesOf(job);
          return mine.length > 0 && running.some((r, e) => e !== engine && mine.every((a) => r.includes(a)));
        };
        const servable = (job) => !pageOnly(job) && batchesOf(wanted[job.i], ctx).every((b) => canServe(engine, b)) && !sibling(job);
        // The reader's input is a row or a few: a lane with nothing else to do runs its own
        // forward of it (milliseconds) rather than wait for the lane that owns it.
        const small = (job) => !pageOnly(job) && batchesOf(wanted[job.i], ctx).every((b) => JSON.parse(JSON.parse(b).rows)[0] !== null);
        let at = queue.findIndex(mine);
        if (at < 0) at = queue.findIndex(servable);
        if (at < 0) at = queue.findIndex(small);
        // The first engine takes what no lane can serve (a figure whose batches two lanes
        // own); the others leave it to their owners. A job one other lane owns whole is left to
        // it even when that lane is busy: taking it would run its whole batch again (addition's
        // 200-sum forward, ~1 s), where the owner serves it from its cached run once free.
        const otherOwns = (job) => {
          const [owner, ...more] = new Set(batchesOf(wanted[job.i], ctx).map((b) => batchEngine.get(b)));
          return !more.length && owner !== undefined && owner !== engine;
        };
        if (at < 0 && engine === 0) at = queue.findIndex((job) => !pageOnly(job) && !otherOwns(job));
        if (at < 0) return;
        const [job] = queue.splice(at, 1);
        const f = wanted[job.i];
        for (const b of batchesOf(f, ctx)) {
          if (!batchEngine.has(b)) batchEngine.set(b, engine);
          const { rows, limit } = JSON.parse(b);
          const most = served[engine].get(rows);
          if (most !== null) served[engine].set(rows, limit === null ? null : Math.max(most ?? 0, limit));
        }
        // A figure sees only the picks it declares: one it reads undeclared shows its default,
        // never a value that a change of it would not recompute.
        const fctx = { ...ctx, picks: picksOf(f, ctx.picks) };
        if (this.gens.get(f.view) !== gens[job.i]) continue;
        running[engine] = analysesOf(job);
        if (job.first) await this.#preview(f, fctx, calls, gens[job.i], engine);
        else await this.#fill(f, fctx, calls, gens[job.i], engine);
        running[engine] = [];
      }
    };
    await Promise.all([pageLane(), ...Array.from({ length: this.nb.engines }, (_, e) => lane(e))]);
  }

  // Whether `f` reads nothing but the training curves (no engine, so no loaded model needed).
  #curvesOnly(f) {
    const reads = readsOf(f, this.#ctx());
    return reads.length > 0 && reads.every(([, read]) => read.op === 'curves');
  }

  // The figures of a timeline move that read only the training curves are drawn for `model`
  // as soon as it is chosen, before its weights are loaded: they read its step alone.
  // The figures that wait for the weights are marked loading at once: none of them shows the
  // previous model as if it were the chosen one meanwhile.
  #drawEarly(model) {
    const figures = computed(this.page).filter((f) => f.follows === 'timeline' && this.#curvesOnly(f));
    this.early = { model, views: new Set(figures.map((f) => f.view)) };
    for (const f of computed(this.page)) {
      if (f.follows && !this.early.views.has(f.view) && (!this.nb.only || f.view === this.nb.only)) this.#supersede(f);
    }
    return this.#run(figures, model);
  }

  // A new generation of figure `f`, marked loading: any fill of an older one is dropped.
  #supersede(f) {
    const gen = (this.gens.get(f.view) ?? 0) + 1;
    this.gens.set(f.view, gen);
    this.el(f.view).supersede();
    return gen;
  }

  // Whether `f` was drawn for `model` by #drawEarly (the model's own run then skips it).
  #drawnEarly(f, model) {
    return Boolean(this.early && sameModel(this.early.model, model) && this.early.views.has(f.view));
  }

  // 1 when figure `f` is within a screen of the viewport, else 0 (an embed shows one figure).
  #inView(f) {
    const el = this.el(f.view);
    if (this.near) return Number(this.near.has(el));
    const r = el.getBoundingClientRect(); // before the observer's first report
    return Number(r.bottom > -innerHeight && r.top < 2 * innerHeight);
  }

  async #fill(f, ctx, calls, gen, engine) {
    let live = null;
    const el = this.el(f.view);
    const error = await el.fill(async () => {
      const r = await this.#read(f, ctx, calls, engine);
      const data = f.show(r, ctx);
      live = f.live?.(r, ctx) ?? null;
      // The claim's verdict on what the figure is about to show (data-claim is set before
      // data-state turns ready); a newer fill's verdict is not overwritten.
      if (f.check && this.gens.get(f.view) === gen) this.#judged(f, judge(f, live), ctx.model);
      return data;
    });
    if (error && this.gens.get(f.view) === gen) el.setClaim(null);
    if (!error && live && this.gens.get(f.view) === gen) setLive(document, live);
  }

  // The first pass of a figure (its reads at their `sample`), drawn unless the exact figure
  // or a newer state got there first. No claim is judged and no number quoted from it.
  async #preview(f, ctx, calls, gen, engine) {
    const el = this.el(f.view);
    let r;
    try {
      r = await this.#read(f, ctx, calls, engine, true);
    } catch {
      return; // the exact read says what is wrong
    }
    if (this.gens.get(f.view) !== gen || el.dataset.state !== 'loading') return;
    const sizes = readsOf(f, ctx).filter(([, read]) => read.sample).map(([, read]) => `${read.sample} of ${read.request?.limit ?? 'all'}`);
    try {
      el.preview(f.show(r, ctx), `First pass on ${[...new Set(sizes)].join(' and ')} examples; the exact figure follows.`);
    } catch (e) {
      console.warn(`${f.view}: first pass not drawn (${e.message})`);
    }
  }

  #judged(f, verdict, model) {
    this.el(f.view).setClaim({ ...verdict, claim: f.claim });
    this.emergence?.record(f.view, model, verdict);
  }

  // The figure's results by read name, computed on `engine`; `first`: its sampled reads at
  // their sample size (a first pass).
  async #read(f, ctx, calls, engine, first = false) {
    const kept = this.#keptFor(ctx.model);
    // Every read is asked for at once: the engine's queue then never waits for the page to
    // ask for the next one (which a figure being drawn would delay).
    const pending = readsOf(f, ctx).map(([name, exact, tokens]) => {
      const read = first && exact.sample ? { ...exact, request: { ...exact.request, limit: exact.sample } } : exact;
      const key = readKey(read, tokens);
      if (!calls.has(key)) {
        const ops = { task_label: () => this.nb.label(tokens, engine), curves: () => this.nb.curves(ctx.model?.source), cache: () => this.nb.cache(tokens) };
        let call = kept?.get(key);
        if (!call) {
          call = ops[read.op]?.() ?? this.nb.analyze(read.analysis, { tokens, request: read.request, engine });
          if (kept) {
            kept.set(key, call);
            call.catch(() => kept.delete(key)); // a failed read is asked again next time
          }
        }
        calls.set(key, call);
      }
      const call = calls.get(key);
      call.catch(() => {}); // awaited below, in order: a later read's failure is not unhandled meanwhile
      return [name, call];
    });
    const out = {};
    for (const [name, call] of pending) out[name] = await call;
    return out;
  }

  // The kept reads of `model` when it is a pretrained checkpoint (null otherwise: a run's
  // checkpoints are replaced when it is reset), the most recently used last.
  #keptFor(model) {
    if (model?.source !== 'pretrained') return null;
    const m = this.kept.get(model.step) ?? new Map();
    this.kept.delete(model.step);
    this.kept.set(model.step, m);
    while (this.kept.size > KEEP_CHECKPOINTS) this.kept.delete(this.kept.keys().next().value);
    return m;
  }
}

// Resolves in a later task, queued behind the tasks already waiting: the engines' replies
// among them. (scheduler.yield resumes ahead of those: while the curves of a move were drawn,
// the reply that the new weights had loaded waited ~200 ms, and so did every analysis.)
function nextTask() {
  return new Promise((r) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      r();
    };
    port2.postMessage(null);
  });
}

// Resolves once the next frame is drawn (in a hidden page, which draws none, after 100 ms).
function afterFrame() {
  return new Promise((resolve) => {
    const late = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(late);
      setTimeout(resolve);
    });
  });
}

// The batch an engine read runs its forward on (its tokens, or the held-out set, and how many
// examples of it): reads of one batch share that engine's cached run.
function batchOf(read, tokens) {
  return JSON.stringify({ rows: JSON.stringify([tokens ?? null, read.request?.process ?? null]), limit: read.request?.limit ?? null });
}

function batchesOf(f, ctx) {
  return readsOf(f, ctx).filter(([, read]) => !read.op).map(([, read, tokens]) => batchOf(read, tokens));
}

function viewSelector(view) {
  const v = CSS.escape(view);
  return `[data-view="${v}"], [view="${v}"]`;
}

function escapeAttr(v) {
  return String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function findView(view) {
  return document.querySelector(viewSelector(view));
}

/** Sets the text of every [data-live="name"] inside `root` (live numbers inside prose). */
function setLive(root, values) {
  for (const [name, v] of Object.entries(values)) {
    root.querySelectorAll(`[data-live="${name}"]`).forEach((n) => {
      n.textContent = typeof v === 'number' ? fmt(v) : String(v);
      if (typeof v === 'number') n.dataset.number = String(v);
    });
  }
}
