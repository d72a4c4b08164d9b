// The runtime of a declared notebook page (see declare.js): finds each declared figure's
// element (exactly one each; every element named after the task is declared), draws the
// static figures once, recomputes the figures that follow the timeline whenever the selected
// model changes and those that follow the input when it is edited. Every figure goes through
// the widget kit's one loading/error path (el.fill); numbers quoted in the prose follow.
import { Notebook } from './notebook.js';
import { WIDGETS, checkPage, computed, drawnOnce, readKey, viewsFollowing } from './declare.js';
import { fmt } from '../widgets/scales.js';

export class NotebookPage {
  /** `page`: the declaration; `tokens`: the input the page starts with; `picks`: the reader's other choices. */
  constructor(page, { tokens, picks = {} }) {
    this.page = checkPage(page);
    this.tokens = tokens;
    this.picks = picks;
    this.nb = new Notebook({ task: page.task, inputViews: viewsFollowing(page, 'input') });
    this.els = new Map();
    this.gens = new Map(); // view -> the newest fill's number (older results' numbers are dropped)
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
    const ctx = this.#ctx();
    for (const f of drawnOnce(this.page)) this.el(f.view).fill(() => f.show({}, ctx));
    // Registered before the first model is selected, so html[data-model] (set once every
    // listener has followed a model) means "every figure computed" on a cold load too. Not
    // awaited: the page's own controls are drawn meanwhile.
    this.nb.onModel(() => this.#run(computed(this.page)));
    this.nb.selectFirst();
    return true;
  }

  /** The reader edited the input: the figures that read it are computed again. */
  setTokens(tokens) {
    this.tokens = tokens;
    return this.#run(computed(this.page).filter((f) => f.follows === 'input'));
  }

  /** The reader changed a pick: the figures that declare `picks` are computed again. */
  setPicks(picks) {
    this.picks = { ...this.picks, ...picks };
    return this.#run(computed(this.page).filter((f) => f.picks));
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
    for (const e of document.querySelectorAll(`[data-view^="${this.page.task}/"], [view^="${this.page.task}/"]`)) {
      const v = e.dataset.view || e.getAttribute('view');
      if (!declared.has(v)) throw new Error(`${v}: the page shows it but ${this.page.task}/page.js does not declare it`);
    }
  }

  #ctx() {
    return { info: this.nb.info, tokens: this.tokens, picks: this.picks, model: this.nb.current };
  }

  // Computes `figures` in order (cheapest first), all marked loading at once so no figure of
  // the previous model passes for the new one. Embedded as one view, only that one computes.
  async #run(figures) {
    const only = this.nb.only;
    const wanted = only ? figures.filter((f) => f.view === only) : figures;
    const ctx = this.#ctx();
    const calls = new Map(); // readKey -> promise: one engine call per distinct read of this run
    wanted.forEach((f) => this.el(f.view).setLoading());
    for (const f of wanted) await this.#fill(f, ctx, calls);
  }

  async #fill(f, ctx, calls) {
    const gen = (this.gens.get(f.view) ?? 0) + 1;
    this.gens.set(f.view, gen);
    let live = null;
    const error = await this.el(f.view).fill(async () => {
      const r = await this.#read(f, ctx, calls);
      const data = f.show(r, ctx);
      live = f.live?.(r, ctx) ?? null;
      return data;
    });
    if (!error && live && this.gens.get(f.view) === gen) setLive(document, live);
  }

  async #read(f, ctx, calls) {
    const tokens = f.follows === 'input' ? [ctx.tokens] : undefined;
    const out = {};
    for (const [name, r] of Object.entries(f.reads ?? {})) {
      const read = typeof r.request === 'function' ? { ...r, request: r.request(ctx) } : r;
      const key = readKey(read, tokens);
      if (!calls.has(key)) {
        const call = read.op === 'task_label' ? this.nb.label(tokens) : read.op === 'curves' ? this.nb.curves() : this.nb.analyze(read.analysis, { tokens, request: read.request });
        calls.set(key, call);
      }
      out[name] = await calls.get(key);
    }
    return out;
  }
}

function viewSelector(view) {
  const v = CSS.escape(view);
  return `[data-view="${v}"], [view="${v}"]`;
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
