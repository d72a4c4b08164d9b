// <tl-claims>: the emergence view of a notebook page. A row per claim the page makes about its
// model, a cell per training checkpoint: ✓ (filled) where the claim holds, × (outlined) where
// it fails, a blank dotted cell where it was not evaluated (yet). The checkpoint on screen
// (`current`) is a highlighted column with a summary ("3 of 5 claims hold at step 2000").
// An HTML table (not a canvas): every cell and column heading is a button; a click fires
// `select` {source, step} (the page moves its timeline there, then calls setCurrent), a click
// on a row's label fires `reveal` {view} (the page scrolls to that figure). The grid is one
// tab stop; arrow keys, Home and End move between its buttons. Wide grids scroll inside the
// element, the labels staying put. setCell() fills cells in as live evaluations arrive.
/**
 * @typedef {object} ClaimsData  `el.data` of <tl-claims>
 * @property {{view: string, claim: string, test?: string}[]} rows  one per claim; the label is the view without its 'task/'
 * @property {{source: string, step: number}[]} columns  checkpoints in timeline order (no (source, step) twice)
 * @property {Array<Array<'holds'|'fails'|null>>} cells  rows × columns; null: not evaluated (yet)
 * @property {Array<Array<number|string|null>>} [values]  rows × columns: the number the predicate read (tooltips)
 * @property {{source: string, step: number}|null} [current]  the checkpoint on screen: its column is highlighted
 * @property {string} [title]
 * @property {string} [note]  a small line under the grid
 */
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { fmt } from './scales.js';

const STATES = ['holds', 'fails', null];
const GLYPH = { holds: '✓', fails: '×', none: '' };
const SAID = { holds: 'holds', fails: 'fails', none: 'not evaluated' };
const SOURCES = { pretrained: 'pretrained', run: 'your run' };
const OF_SOURCE = { pretrained: 'the pretrained model', run: 'your run' };

export class Claims extends ToylensFigure {
  build() {
    const mk = (tag, cls) => Object.assign(document.createElement(tag), { className: cls });
    this.summary = mk('p', 'tl-claims-summary');
    this.summary.dataset.ref = 'summary';
    this.summary.setAttribute('aria-live', 'polite');
    this.scroller = mk('div', 'tl-claims-scroll');
    this.scroller.dataset.ref = 'grid';
    this.foot = mk('p', 'tl-claims-foot');
    const key = mk('span', 'tl-claims-key');
    for (const s of ['holds', 'fails', 'none']) {
      const swatch = mk('span', `tl-claims-cell tl-${s}`);
      swatch.textContent = GLYPH[s];
      swatch.setAttribute('aria-hidden', 'true');
      key.append(swatch, ` ${SAID[s]} `);
    }
    this.noteNode = mk('span', 'tl-claims-note');
    this.foot.append(key, this.noteNode);
    // Drawn into the body at the first draw (until then it is empty: "Loading…").
    this._tab = null; // the grid's one tabbable button: {r, col} (col: a column key, '' for the labels)
    this._scrolledTo = undefined; // the current column last scrolled into view

    const g = this.scroller;
    g.addEventListener('click', (e) => this._click(e));
    g.addEventListener('keydown', (e) => this._key(e));
    g.addEventListener('pointerover', (e) => this._hover(e));
    g.addEventListener('pointermove', (e) => this._hover(e));
    g.addEventListener('pointerleave', () => this.tooltip.hide());
    g.addEventListener('focusin', (e) => this._focus(e));
    g.addEventListener('focusout', () => this.tooltip.hide());
    // The toolbar's embed box fires the native (bubbling) `select` when its text is selected:
    // not this figure's `select`.
    this.refs.tools.addEventListener('select', (e) => e.stopPropagation());
  }

  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.rows)) check.fail(`rows: expected an array of {view, claim, test?}, got ${check.describe(d.rows)}`);
    const rows = d.rows.map((r, k) => {
      check.object(r, `rows[${k}]`);
      if (typeof r.view !== 'string' || !r.view) check.fail(`rows[${k}].view: expected a view name, got ${check.describe(r.view)}`);
      if (typeof r.claim !== 'string') check.fail(`rows[${k}].claim: expected a string, got ${check.describe(r.claim)}`);
      const test = check.optionalString(r.test, `rows[${k}].test`);
      return { view: r.view, claim: r.claim, test, label: shortLabel(r.view) };
    });
    if (!Array.isArray(d.columns)) check.fail(`columns: expected an array of {source, step}, got ${check.describe(d.columns)}`);
    const seen = new Set();
    const columns = d.columns.map((c, k) => {
      const col = checkpoint(c, `columns[${k}]`);
      if (seen.has(keyOf(col))) check.fail(`columns[${k}]: ${col.source} step ${col.step} is there twice`);
      seen.add(keyOf(col));
      return col;
    });
    const cells = grid(d.cells, 'cells', rows.length, columns.length, (v, at) => {
      if (!STATES.includes(v)) check.fail(`${at}: expected 'holds', 'fails' or null, got ${check.describe(v)}`);
      return v;
    });
    const values = d.values == null
      ? rows.map(() => columns.map(() => null))
      : grid(d.values, 'values', rows.length, columns.length, (v, at) => checkValue(v, at));
    return {
      rows,
      columns,
      cells,
      values,
      current: d.current == null ? null : checkpoint(d.current, 'current'),
      title: check.optionalString(d.title, 'title'),
      note: check.optionalString(d.note, 'note'),
    };
  }

  draw(m) {
    this.refs.title.textContent = m.title;
    const root = this.getRootNode();
    const hadFocus = this.scroller.contains(root.activeElement);
    const multi = new Set(m.columns.map((c) => c.source)).size > 1;
    const cur = m.current ? m.columns.findIndex((c) => same(c, m.current)) : -1;
    const counts = m.columns.map((_, j) => count(m, j));

    const table = document.createElement('table');
    table.className = 'tl-claims';
    table.setAttribute('aria-label', m.title || 'claims by checkpoint');
    const head = table.createTHead();
    if (multi) {
      // A row naming each run of columns of one source (the pretrained model, your run).
      const tr = head.insertRow();
      tr.className = 'tl-claims-sources';
      tr.append(cornerCell(''));
      for (let j = 0; j < m.columns.length; ) {
        let n = 1;
        while (j + n < m.columns.length && m.columns[j + n].source === m.columns[j].source) n++;
        const th = document.createElement('th');
        th.colSpan = n;
        th.scope = 'colgroup';
        th.textContent = sourceName(m.columns[j].source);
        tr.append(th);
        j += n;
      }
    }
    const tr = head.insertRow();
    tr.append(cornerCell('step'));
    m.columns.forEach((c, j) => {
      const th = document.createElement('th');
      th.scope = 'col';
      if (j === cur) th.className = 'tl-claims-current';
      if (multi && j > 0 && m.columns[j - 1].source !== c.source) th.classList.add('tl-claims-split');
      const b = button('tl-claims-step', 0, j + 1, c);
      b.textContent = compactStep(c.step);
      b.setAttribute('aria-label', `${stepName(c, multi)}: ${countText(counts[j], m.rows.length)}`);
      if (j === cur) b.setAttribute('aria-current', 'true');
      th.append(b);
      tr.append(th);
    });

    const tbody = table.createTBody();
    m.rows.forEach((r, i) => {
      const row = tbody.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.className = 'tl-claims-label';
      const label = button('tl-claims-label', i + 1, 0, null);
      label.textContent = r.label;
      // Its title (the accessible description too) is the claim in full; a click shows the figure.
      label.title = `${r.claim || r.view}${r.test ? ` (${r.test})` : ''}`;
      th.append(label);
      row.append(th);
      m.columns.forEach((c, j) => {
        const td = row.insertCell();
        if (j === cur) td.className = 'tl-claims-current';
        if (multi && j > 0 && m.columns[j - 1].source !== c.source) td.classList.add('tl-claims-split');
        const state = m.cells[i][j] ?? 'none';
        const b = button(`tl-claims-cell tl-${state}`, i + 1, j + 1, c);
        b.dataset.claim = state;
        b.textContent = GLYPH[state];
        b.setAttribute('aria-label', `${stepName(c, multi)}: ${SAID[state]} — ${r.test || r.claim || r.label}`);
        td.append(b);
      });
    });

    this.scroller.replaceChildren(table);
    this._roving(hadFocus);
    this._setSummary(m, cur, counts, multi);
    this.noteNode.textContent = m.note;
    if (this.refs.body.firstChild !== this.summary) this.refs.body.replaceChildren(this.summary, this.scroller, this.foot);
    // A new current checkpoint: its column is scrolled into view (once it is laid out).
    const shown = m.current ? keyOf(m.current) : null;
    if (shown !== this._scrolledTo && cur >= 0 && this.isConnected && this._reveal(head.rows[head.rows.length - 1].cells[cur + 1])) {
      this._scrolledTo = shown;
    }
  }

  /** CSV: a header of the steps, then each claim's view and its cells ('holds', 'fails' or ''). */
  rows() {
    const m = this._model;
    const multi = new Set(m.columns.map((c) => c.source)).size > 1;
    return [
      ['claim', ...m.columns.map((c) => (multi ? `${c.source} ${c.step}` : c.step))],
      ...m.rows.map((r, i) => [r.view, ...m.cells[i].map((s) => s ?? '')]),
    ];
  }

  /**
   * Sets the cell of claim `view` (a row's view, or a row index) at checkpoint (source, step)
   * to `state` ('holds' | 'fails' | null) with `value` (for the tooltip), adding the column if
   * it is new (after the columns of that source with a smaller step, before those with a
   * larger one; after every column when the source is new), and redraws.
   */
  setCell(view, source, step, state, value = null) {
    const m = this._model;
    if (!m) throw new Error('setCell: <tl-claims> has no data yet');
    const i = typeof view === 'number' ? view : m.rows.findIndex((r) => r.view === view);
    if (!(Number.isInteger(i) && i >= 0 && i < m.rows.length)) throw new Error(`setCell: no claim of view ${check.describe(view)}`);
    const col = checkpoint({ source, step }, 'setCell');
    if (!STATES.includes(state)) check.fail(`setCell: expected the state 'holds', 'fails' or null, got ${check.describe(state)}`);
    checkValue(value, 'setCell: value');
    let j = m.columns.findIndex((c) => same(c, col));
    if (j < 0) {
      j = insertionIndex(m.columns, col);
      m.columns.splice(j, 0, col);
      for (const row of m.cells) row.splice(j, 0, null);
      for (const row of m.values) row.splice(j, 0, null);
    }
    m.cells[i][j] = state;
    m.values[i][j] = value ?? null;
    this._syncData();
    this.redraw();
  }

  /** Highlights the column of checkpoint `sel` ({source, step}, or null: none) and redraws. */
  setCurrent(sel) {
    const m = this._model;
    if (!m) return; // nothing drawn yet: the page's data will say its current checkpoint
    m.current = sel == null ? null : checkpoint(sel, 'setCurrent');
    this._syncData();
    this.redraw();
  }

  // `data` (the JSON export, el.data) says what is drawn: the caller's object is not changed.
  _syncData() {
    const m = this._model;
    this._data = {
      ...(check.isObject(this._data) ? this._data : {}),
      columns: m.columns.map((c) => ({ ...c })),
      cells: m.cells.map((r) => r.slice()),
      values: m.values.map((r) => r.slice()),
      current: m.current && { ...m.current },
    };
  }

  _setSummary(m, cur, counts, multi) {
    let text = '';
    if (!m.rows.length) text = 'No claims to check.';
    else if (m.current && cur < 0) text = `${stepName(m.current, multi)}: not evaluated yet.`;
    else if (m.current) text = countText(counts[cur], m.rows.length, ` at ${stepName(m.current, multi)}`);
    // Set only when it changes: the line is a live region.
    if (this.summary.textContent !== text) this.summary.textContent = text;
  }

  // The grid is one tab stop: the button last focused (or the current column's heading).
  _roving(refocus) {
    const buttons = [...this.scroller.querySelectorAll('button')];
    if (!buttons.length) return;
    const find = (t) => t && buttons.find((b) => Number(b.dataset.r) === t.r && colKey(b) === t.col);
    const cur = this.scroller.querySelector('th.tl-claims-current button');
    const target = find(this._tab) ?? cur ?? buttons.find((b) => b.dataset.claim) ?? buttons[0];
    for (const b of buttons) b.tabIndex = b === target ? 0 : -1;
    this._tab = { r: Number(target.dataset.r), col: colKey(target) };
    if (refocus) target.focus({ preventScroll: true });
  }

  _cellButton(e) {
    const b = e.target instanceof Element ? e.target.closest('button') : null;
    return b && this.scroller.contains(b) ? b : null;
  }

  _click(e) {
    const b = this._cellButton(e);
    if (!b || !this._model) return;
    const r = Number(b.dataset.r);
    if (b.dataset.step === undefined) {
      const view = this._model.rows[r - 1]?.view;
      if (view !== undefined) this.dispatchEvent(new CustomEvent('reveal', { detail: { view }, bubbles: true }));
      return;
    }
    this.dispatchEvent(new CustomEvent('select', { detail: { source: b.dataset.source, step: Number(b.dataset.step) }, bubbles: true }));
  }

  _key(e) {
    const b = this._cellButton(e);
    if (!b || !this._model || e.altKey || e.metaKey) return;
    let r = Number(b.dataset.r);
    let c = Number(b.dataset.c);
    const last = this._model.columns.length;
    switch (e.key) {
      case 'ArrowLeft': c--; break;
      case 'ArrowRight': c++; break;
      case 'ArrowUp': r--; break;
      case 'ArrowDown': r++; break;
      case 'Home':
        if (e.ctrlKey) r = 0;
        c = r === 0 ? 1 : 0;
        break;
      case 'End':
        if (e.ctrlKey) r = this._model.rows.length;
        c = last;
        break;
      default: return;
    }
    e.preventDefault();
    const next = this.scroller.querySelector(`button[data-r="${r}"][data-c="${c}"]`);
    if (!next) return;
    b.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  _focus(e) {
    const b = this._cellButton(e);
    if (!b) return;
    for (const o of this.scroller.querySelectorAll('button[tabindex="0"]')) if (o !== b) o.tabIndex = -1;
    b.tabIndex = 0;
    this._tab = { r: Number(b.dataset.r), col: colKey(b) };
    this._keepInView(b);
    // The keyboard's focus shows what a hover shows (a click's focus leaves it to the pointer).
    if (b.matches(':focus-visible')) {
      const box = b.getBoundingClientRect();
      this._tip(b, box.left + box.width / 2, box.bottom);
    }
  }

  _hover(e) {
    const b = this._cellButton(e);
    if (!b) return this.tooltip.hide();
    this._tip(b, e.clientX, e.clientY);
  }

  _tip(b, x, y) {
    const lines = this._tipLines(b);
    if (lines) this.tooltip.show(lines, x, y);
    else this.tooltip.hide();
  }

  /** The tooltip of button `b`: a cell's step, state, claim, test and value; a heading's count. */
  _tipLines(b) {
    const m = this._model;
    if (!m || b.dataset.step === undefined) return null; // a row label: its title says the claim
    const j = Number(b.dataset.c) - 1;
    const col = m.columns[j];
    if (!col) return null;
    const multi = new Set(m.columns.map((c) => c.source)).size > 1;
    const i = Number(b.dataset.r) - 1;
    if (i < 0) return [stepName(col, multi), countText(count(m, j), m.rows.length), 'click: show this checkpoint'];
    const r = m.rows[i];
    const state = m.cells[i][j] ?? 'none';
    const v = m.values[i][j];
    const lines = [`${stepName(col, multi)}: ${SAID[state]} ${GLYPH[state]}`.trim(), `${r.label}: ${r.claim}`];
    if (r.test) lines.push(`test: ${r.test}`);
    if (v !== null && v !== undefined) lines.push(`value: ${typeof v === 'number' ? fmt(v) : v}`);
    return lines;
  }

  // Scrolls the grid (never the page) so `cell` is clear of the sticky labels, centred.
  // False when the grid is not laid out (hidden, or not in the page): nothing to measure.
  _reveal(cell) {
    const g = this.scroller;
    if (!g.clientWidth) return false;
    if (g.scrollWidth <= g.clientWidth) return true;
    const box = g.getBoundingClientRect();
    const at = cell.getBoundingClientRect();
    const left = box.left + (g.querySelector('th')?.getBoundingClientRect().width ?? 0);
    if (at.left < left || at.right > box.right) g.scrollLeft += at.left + at.width / 2 - (left + box.right) / 2;
    return true;
  }

  // Keyboard moves: the focused button stays clear of the sticky label column.
  _keepInView(b) {
    const g = this.scroller;
    if (b.dataset.step === undefined || g.scrollWidth <= g.clientWidth) return;
    const box = g.getBoundingClientRect();
    const at = b.getBoundingClientRect();
    const left = box.left + (g.querySelector('th')?.getBoundingClientRect().width ?? 0);
    if (at.left < left) g.scrollLeft -= left - at.left + 4;
    else if (at.right > box.right) g.scrollLeft += at.right - box.right + 4;
  }
}

/** A step as a column heading: 0, 11, 899, 1.3k, 16k, 50k, 1.2M. */
export function compactStep(n) {
  const short = (v, unit) => `${v < 10 ? Math.round(v * 10) / 10 : Math.round(v)}${unit}`;
  if (n < 1000) return String(n);
  if (n < 999_500) return short(n / 1e3, 'k');
  return short(n / 1e6, 'M');
}

/** 'min/full-ov' -> 'full-ov' (the page's task goes without saying). */
function shortLabel(view) {
  return view.slice(view.indexOf('/') + 1) || view;
}

function checkpoint(c, what) {
  check.object(c, what);
  if (typeof c.source !== 'string' || !c.source) check.fail(`${what}.source: expected a source name, got ${check.describe(c.source)}`);
  if (!Number.isInteger(c.step) || c.step < 0) check.fail(`${what}.step: expected a step (an integer ≥ 0), got ${check.describe(c.step)}`);
  return { source: c.source, step: c.step };
}

function checkValue(v, what) {
  if (v !== null && v !== undefined && typeof v !== 'number' && typeof v !== 'string') {
    check.fail(`${what}: expected a number, a string or null, got ${check.describe(v)}`);
  }
  return v ?? null;
}

// A rows × cols array of arrays, each entry checked (and copied: setCell changes the copy).
function grid(v, what, rows, cols, each) {
  if (!Array.isArray(v) || v.length !== rows) {
    check.fail(`${what}: expected ${rows} rows (one per claim), got ${check.describe(v)}`);
  }
  return v.map((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      check.fail(`${what}[${i}]: expected ${cols} cells (one per column), got ${check.describe(row)}`);
    }
    return row.map((x, j) => each(x, `${what}[${i}][${j}]`));
  });
}

function keyOf(c) {
  return `${c.source}\n${c.step}`;
}

function same(a, b) {
  return a.source === b.source && a.step === b.step;
}

function colKey(b) {
  return b.dataset.step === undefined ? '' : `${b.dataset.source}\n${b.dataset.step}`;
}

// Where a new column goes: among its source's columns by step; a new source after them all.
function insertionIndex(columns, col) {
  let lastOfSource = -1;
  for (let j = 0; j < columns.length; j++) {
    if (columns[j].source !== col.source) continue;
    if (columns[j].step > col.step) return j;
    lastOfSource = j;
  }
  return lastOfSource >= 0 ? lastOfSource + 1 : columns.length;
}

function count(m, j) {
  let holds = 0;
  let judged = 0;
  for (const row of m.cells) {
    if (row[j] !== null) judged++;
    if (row[j] === 'holds') holds++;
  }
  return { holds, judged };
}

/** '3 of 5 claims hold' + where + ' (2 not evaluated)' when some are not. */
function countText({ holds, judged }, total, where = '') {
  const text = `${holds} of ${total} claim${total === 1 ? '' : 's'} hold${total === 1 ? 's' : ''}${where}`;
  return judged < total ? `${text} (${total - judged} not evaluated)` : text;
}

function sourceName(source) {
  return SOURCES[source] ?? source;
}

/** 'step 239', or when it is not plain which timeline: 'step 20 of your run'. */
function stepName(c, multi) {
  return multi || c.source !== 'pretrained' ? `step ${c.step} of ${OF_SOURCE[c.source] ?? c.source}` : `step ${c.step}`;
}

function cornerCell(text) {
  const th = document.createElement('th');
  th.className = 'tl-claims-corner';
  th.textContent = text;
  return th;
}

// A grid button at row r (0: the headings), column c (0: the labels); checkpoint `col` or none.
function button(cls, r, c, col) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.dataset.r = String(r);
  b.dataset.c = String(c);
  if (col) {
    b.dataset.source = col.source;
    b.dataset.step = String(col.step);
  }
  return b;
}
