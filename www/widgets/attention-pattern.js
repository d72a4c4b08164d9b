// <tl-attention>: attention patterns [heads, query, key] as small heatmaps side by side
// (0..1, causal mask in the theme's line grey, not as zero) and a token view as in
// CircuitsVis: hovering a token (the query) colours every token by the attention it pays to it
// under the selected head. Hovering a head's heatmap selects that head.
/**
 * @typedef {object} AttentionData  `el.data` of <tl-attention>
 * @property {string[]} tokens  the sequence, one string a position
 * @property {{shape: [number, number, number], values: ArrayLike<number>}} patterns  [heads, query, key], rows sum to 1
 * @property {string[]} [headLabels]  one per head (default 'head 0', …)
 */
import d3 from './d3.js';
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { fmt, namedTable, packColor, textOn, visibleToken } from './scales.js';
import { cellAt, paintCells, place } from './raster.js';
import { NAN_COLOR } from './heatmap.js';

const GAP = 10;

export class AttentionPattern extends ToylensFigure {
  build(body) {
    const controls = body.appendChild(document.createElement('div'));
    controls.className = 'tl-controls';
    const label = controls.appendChild(document.createElement('label'));
    label.append('head ');
    this.select = label.appendChild(document.createElement('select'));
    this.select.dataset.ref = 'head';
    this.select.addEventListener('change', () => this.selectHead(Number(this.select.value)));
    controls.append(' · hover or tap a token to see where it attends');
    this.heads = body.appendChild(document.createElement('div'));
    this.heads.className = 'tl-heads';
    this.chips = body.appendChild(document.createElement('div'));
    this.chips.className = 'tl-chips';
    this.chips.dataset.ref = 'tokens';
    this.chips.addEventListener('pointerover', (e) => {
      const pos = e.target.closest?.('.tl-chip')?.dataset.pos;
      if (pos !== undefined) this.showQuery(Number(pos));
    });
    this.chips.addEventListener('pointerleave', () => this.showQuery(null));
    this.selected = 0;
    this.query = null;
  }

  prepare(d) {
    check.object(d, 'data');
    const tokens = check.labels(d.tokens, 'tokens');
    if (!tokens) check.fail('tokens: expected an array of strings, got nothing');
    const patterns = check.tensor(d.patterns, 'patterns', 3);
    const [heads, q, k] = patterns.shape;
    if (q !== tokens.length || k !== tokens.length) {
      check.fail(`patterns.shape [${patterns.shape.join(', ')}] does not fit ${tokens.length} tokens: expected [heads, ${tokens.length}, ${tokens.length}]`);
    }
    const headLabels = check.labels(d.headLabels, 'headLabels', heads) ?? d3.range(heads).map((h) => `head ${h}`);
    return { tokens, heads, n: q, values: patterns.values, headLabels, table: namedTable('blues') };
  }

  draw(m, width) {
    this.selected = Math.min(this.selected, m.heads - 1);
    this.select.replaceChildren(...m.headLabels.map((name, h) => new Option(name, String(h), false, h === this.selected)));
    const size = Math.max(96, Math.min(260, Math.floor((width - GAP * (m.heads - 1)) / m.heads)));
    const paint = {
      table: m.table,
      lo: 0,
      hi: 1,
      nan: packColor(NAN_COLOR),
      masked: packColor(this.cssColor('--tl-line', '#d9dce1')),
    };
    const panels = m.headLabels.map((name, h) => {
      const fig = document.createElement('figure');
      fig.className = 'tl-head';
      fig.dataset.head = String(h);
      const cap = fig.appendChild(document.createElement('figcaption'));
      cap.textContent = name;
      const box = fig.appendChild(document.createElement('div'));
      box.style.width = box.style.height = `${size}px`;
      const canvas = box.appendChild(document.createElement('canvas'));
      canvas.className = 'tl-raster';
      canvas.setAttribute('aria-label', `attention pattern of ${name}`);
      paintCells(canvas, m.n, m.n, m.values, h * m.n * m.n, paint);
      place(canvas, 0, 0, size, size);
      canvas.addEventListener('pointermove', (e) => this._hoverCell(e, h, canvas));
      canvas.addEventListener('pointerleave', () => {
        this.tooltip.hide();
        this.showQuery(null);
      });
      return fig;
    });
    this.heads.replaceChildren(...panels);
    this.chips.replaceChildren(
      ...m.tokens.map((t, k) => {
        const chip = document.createElement('span');
        chip.className = 'tl-chip';
        chip.dataset.pos = String(k);
        chip.title = `position ${k}: ${JSON.stringify(t)}`;
        chip.textContent = visibleToken(t);
        return chip;
      }),
    );
    this.selectHead(this.selected);
  }

  /** CSV: one row per head, query and key (masked keys are 0, as in the data). */
  rows() {
    const m = this._model;
    const out = [['head', 'query', 'key', 'query token', 'key token', 'attention']];
    for (let h = 0; h < m.heads; h++) {
      for (let q = 0; q < m.n; q++) for (let k = 0; k < m.n; k++) out.push([m.headLabels[h], q, k, m.tokens[q], m.tokens[k], this.weight(h, q, k)]);
    }
    return out;
  }

  /** The attention of query position q to key position k under head h. */
  weight(h, q, k) {
    const m = this._model;
    return m.values[(h * m.n + q) * m.n + k];
  }

  get selectedHead() {
    return this.selected;
  }

  selectHead(h) {
    const m = this._model;
    if (!m || !(h >= 0 && h < m.heads)) return;
    this.selected = h;
    this.select.value = String(h);
    for (const fig of this.heads.children) fig.classList.toggle('tl-selected', fig.dataset.head === String(h));
    this.showQuery(this.query);
  }

  /** Colours the token chips by the attention query position q pays them; null clears. */
  showQuery(q) {
    const m = this._model;
    this.query = m && q !== null && q >= 0 && q < m.n ? q : null;
    for (const chip of this.chips.children) {
      const k = Number(chip.dataset.pos);
      const future = this.query !== null && k > this.query;
      const w = this.query === null || future ? null : this.weight(this.selected, this.query, k);
      const bg = w === null ? '' : Number.isNaN(w) ? NAN_COLOR : d3.interpolateBlues(Math.max(0, Math.min(1, w)));
      chip.style.background = bg;
      chip.style.color = bg ? textOn(bg) : '';
      chip.classList.toggle('tl-query', k === this.query);
      chip.classList.toggle('tl-future', future);
      if (w === null) delete chip.dataset.weight;
      else chip.dataset.weight = String(w);
    }
  }

  _hoverCell(e, h, canvas) {
    const m = this._model;
    const at = m && cellAt(canvas, m.n, m.n, e.clientX, e.clientY);
    if (!at) return;
    const [q, k] = at;
    if (h !== this.selected) this.selectHead(h);
    this.showQuery(q);
    const text = k > q ? 'masked (a query sees no later key)' : fmt(this.weight(h, q, k));
    this.tooltip.show(
      [`${m.tokens[q]} → ${m.tokens[k]}: ${text}`, `query ${q} → key ${k} · ${m.headLabels[h]}`],
      e.clientX,
      e.clientY,
    );
  }
}
