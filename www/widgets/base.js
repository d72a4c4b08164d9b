// ToylensFigure: what every widget shares. The element itself carries data-view and
// data-state (loading | ready | error), holds a title, a body the subclass draws into,
// a tooltip and an error box, and redraws when its width or the colour scheme changes.
// Subclasses implement prepare(data) -> model (validate and precompute; throw to reject)
// and draw(model, width) (synchronous; it may return a message: drawn, but in error, as an
// editor with invalid input is). A bad `data` never throws out of the setter. Pages show a
// computed figure with `el.fill(async () => data)` (loading, then drawn or its error).
// Every figure has a toolbar to save it (PNG, SVG, CSV of rows(), JSON of data; export.js);
// a page that can embed the figure sets `el.embedSnippet` and the toolbar offers Embed too.
import { adoptStyles } from './style.js';
import { buildTools } from './export.js';
import { Tooltip } from './tooltip.js';
import { tapToHover } from './tap.js';
import { fmt } from './scales.js';

const DARK = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

export class ToylensFigure extends HTMLElement {
  static observedAttributes = ['view'];

  constructor() {
    super();
    this._data = undefined;
    this._model = null;
    this._width = 0;
    this.errorMessage = '';
    this.lastRenderMs = NaN;
    this._onScheme = () => {
      this._colors = null;
      this.redraw();
    };
  }

  connectedCallback() {
    adoptStyles(this);
    if (!this.dataset.view) this.dataset.view = this.getAttribute('view') || this.localName;
    if (!this.dataset.state) this.setLoading();
    this._skeleton();
    this._resize ??= new ResizeObserver(() => {
      // Layout is clean inside this callback, so reading the width here costs nothing; draws
      // reuse it instead of forcing a layout of the whole page each (an input edit redraws
      // several figures in a row: those forced layouts were most of their time).
      this._knownWidth = Math.floor(this.clientWidth);
      // Only a width change redraws: the draw itself changes the height.
      if (this._model && this._measureWidth() !== this._width) this.redraw();
    });
    this._resize.observe(this);
    DARK?.addEventListener('change', this._onScheme);
    if (this._model && this._measureWidth() !== this._width) this.redraw();
  }

  disconnectedCallback() {
    this._resize?.disconnect();
    DARK?.removeEventListener('change', this._onScheme);
  }

  attributeChangedCallback(name, _old, value) {
    if (name === 'view' && value) this.dataset.view = value;
  }

  get data() {
    return this._data;
  }

  /** The figure's data as a table (rows of cells, the first row the header), for CSV. */
  rows() {
    throw new Error(`<${this.localName}> has no table of its data`);
  }

  /** () => {text, note}: the snippet that embeds this figure as it is now (null: no Embed button). */
  get embedSnippet() {
    return this._embedSnippet ?? null;
  }

  set embedSnippet(fn) {
    this._embedSnippet = fn;
    this._skeleton();
    this.refs.tools.querySelector('[data-ref="save-embed"]').hidden = !fn;
  }

  set data(d) {
    this._data = d;
    this._skeleton();
    const t0 = performance.now();
    try {
      this._model = this.prepare(d);
    } catch (e) {
      this._model = null;
      this.setError(messageOf(e));
      return;
    }
    this._drawModel(t0);
  }

  /** Draws the current model again (at the current width), e.g. after an in-place change. */
  redraw() {
    if (this._model) this._drawModel(performance.now());
  }

  /**
   * The one loading/error path of a figure: loading while `compute()` (data, or a promise of
   * it) runs, then drawn, or its error shown. A later fill supersedes one still pending (its
   * result is dropped), so a slow old model never overwrites a newer one. Resolves to the
   * error message, or '' once drawn.
   */
  async fill(compute) {
    const gen = (this._fills = (this._fills ?? 0) + 1);
    // A first pass stays on screen, marked as such, until the exact figure replaces it.
    if (this.dataset.state !== 'refining') this.setLoading();
    let d;
    try {
      d = await compute();
    } catch (e) {
      if (gen === this._fills) this.setError(messageOf(e));
      return messageOf(e);
    }
    if (gen !== this._fills) return '';
    this.data = d;
    return this.errorMessage;
  }

  /**
   * A first pass of the figure, computed from a smaller sample (`note` says which): drawn
   * with the note above it and data-state "refining" until the next fill draws the exact one.
   */
  preview(data, note) {
    this._skeleton();
    this.data = data;
    if (this.dataset.state !== 'ready') return; // drawing it failed: the error shows
    this.refs.sample.textContent = note;
    this._setState('refining');
  }

  /**
   * Loading, and any fill still pending is dropped: the caller will fill this figure again
   * (a newer state's computation that has not reached this figure yet).
   */
  supersede() {
    this._fills = (this._fills ?? 0) + 1;
    this.setLoading();
  }

  /**
   * The verdict on the figure's claim for what it shows ({claim, state: 'holds'|'fails',
   * value, test}; see www/notebooks/claims.js), or null: none yet. The element carries
   * data-claim, and a line under the figure says the claim, its verdict and the number.
   */
  setClaim(v) {
    this._skeleton();
    const line = this.refs.claim;
    if (!v) {
      delete this.dataset.claim;
      line.replaceChildren();
      return;
    }
    this.dataset.claim = v.state;
    const verdict = document.createElement('strong');
    verdict.textContent = v.state === 'holds' ? '✓ holds' : '✗ does not hold here';
    const value = document.createElement('span');
    value.className = 'tl-claim-test';
    const shown = typeof v.value === 'number' ? fmt(v.value) : String(v.value);
    value.textContent = `${v.test} (here ${shown})`;
    value.dataset.number = String(v.value);
    line.replaceChildren(verdict, ' ', document.createTextNode(v.claim ? `${v.claim} ` : ''), value);
  }

  /** What the notebook printed for its own model (text), shown under the figure as the notebook's. */
  set notebookNote(text) {
    this._skeleton();
    const b = document.createElement('strong');
    b.textContent = 'The notebook’s model: ';
    this.refs.notebook.replaceChildren(...(text ? [b, text] : []));
  }

  setLoading() {
    this._setState('loading');
    this.errorMessage = '';
  }

  setError(message) {
    this._skeleton();
    this.errorMessage = String(message || 'error');
    this.refs.error.textContent = this.errorMessage;
    this.tooltip?.hide();
    this._setState('error');
  }

  _drawModel(t0) {
    this._width = this._measureWidth();
    let problem;
    try {
      this.tooltip.hide();
      problem = this.draw(this._model, this._width);
    } catch (e) {
      this._model = null;
      this.setError(messageOf(e));
      return;
    }
    this.drawnAt = performance.now(); // when the figure was last drawn (pages time edits with it)
    this.lastRenderMs = this.drawnAt - t0;
    if (problem) {
      this.setError(problem);
    } else {
      this.refs.error.textContent = '';
      this.errorMessage = '';
      this._setState('ready');
    }
    this.dispatchEvent(new CustomEvent('toylens-render', { detail: { ms: this.lastRenderMs } }));
  }

  // Before it is laid out (not yet in the page) an element draws at a default width.
  _measureWidth() {
    return (this._knownWidth ?? Math.floor(this.clientWidth)) || 640;
  }

  _setState(s) {
    this.dataset.state = s;
    this.setAttribute('aria-busy', String(s === 'loading' || s === 'refining'));
    if (s !== 'refining' && this.refs) this.refs.sample.textContent = '';
  }

  // Built on first need (connection or data), so `data` may be set before the element is attached.
  _skeleton() {
    if (this.refs) return;
    const part = (cls, ref) => {
      const d = document.createElement('div');
      d.className = cls;
      d.dataset.ref = ref;
      return d;
    };
    this.refs = {
      title: part('tl-title', 'title'),
      sample: part('tl-sample', 'sample'),
      body: part('tl-body', 'body'),
      claim: part('tl-claim', 'claim'),
      notebook: part('tl-notebook', 'notebook'),
      error: part('tl-error', 'error'),
      tools: buildTools(this),
    };
    this.refs.error.setAttribute('role', 'alert');
    this.refs.tools.querySelector('[data-ref="save-embed"]').hidden = !this._embedSnippet;
    this.tooltip = new Tooltip(this);
    tapToHover(this); // touch screens: a tap shows what hovering shows
    // Not this.append: <tl-lines> has its own append(name, x, y).
    Element.prototype.append.call(this, this.refs.tools, this.refs.title, this.refs.sample, this.refs.body, this.refs.claim, this.refs.notebook, this.refs.error, this.tooltip.node);
    this.build?.(this.refs.body);
  }

  /** A CSS custom property of this element (theme colours for canvas pixels). */
  cssColor(name, fallback) {
    // Cached until the colour scheme changes: getComputedStyle after a DOM change forces a
    // style recalculation, and a redraw asks for the same colours every time.
    this._colors ??= new Map();
    if (!this._colors.has(name)) this._colors.set(name, getComputedStyle(this).getPropertyValue(name).trim());
    return this._colors.get(name) || fallback;
  }
}

export function messageOf(e) {
  return e?.message || String(e);
}
