// <tl-heatmap>: a matrix as coloured cells (canvas, one pixel a cell), d3 axes with thinned
// row/column labels, a colour legend, and a tooltip with row, column and value.
/**
 * @typedef {object} HeatmapData  `el.data` of <tl-heatmap>
 * @property {{shape: [number, number], values: ArrayLike<number>}} values  [rows, cols], row-major (NaN drawn grey)
 * @property {string[]} [rowLabels]  one per row (default: indices)
 * @property {string[]} [colLabels]  one per column
 * @property {'diverging'|'sequential'} [scale]  default 'diverging' (symmetric about 0)
 * @property {[number, number]} [domain]  colour range (default: from the values)
 * @property {(v: number) => string} [format]  tooltip number format
 * @property {string} [xLabel]
 * @property {string} [yLabel]
 * @property {string} [title]
 */
import d3 from './d3.js';
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { autoDomain, fmt, namedTable, packColor, textWidth, thinIndices } from './scales.js';
import { cellAt, paintCells, place } from './raster.js';

export const NAN_COLOR = '#9a9a9a';
const LEGEND_STEPS = 64;

export class Heatmap extends ToylensFigure {
  build(body) {
    this.svg = d3.select(body).append('svg').attr('class', 'tl-svg');
    this.canvas = body.appendChild(document.createElement('canvas'));
    this.canvas.className = 'tl-raster';
    this.legendCanvas = body.appendChild(document.createElement('canvas'));
    this.legendCanvas.className = 'tl-raster tl-smooth';
    this.mark = body.appendChild(document.createElement('div'));
    this.mark.className = 'tl-cell-mark';
    this.mark.hidden = true;
    this.canvas.addEventListener('pointermove', (e) => this._hover(e));
    this.canvas.addEventListener('pointerleave', () => {
      this.tooltip.hide();
      this.highlight(null);
    });
  }

  prepare(d) {
    check.object(d, 'data');
    const values = check.tensor(d.values, 'values', 2);
    const [rows, cols] = values.shape;
    const scale = check.oneOf(d.scale, 'scale', ['diverging', 'sequential'], 'diverging');
    if (d.format !== undefined && typeof d.format !== 'function') check.fail('format: expected a function');
    const [lo, hi] = check.domain(d.domain, 'domain') ?? autoDomain(values.values, scale);
    return {
      rows,
      cols,
      values: values.values,
      rowLabels: check.labels(d.rowLabels, 'rowLabels', rows) ?? d3.range(rows).map(String),
      colLabels: check.labels(d.colLabels, 'colLabels', cols) ?? d3.range(cols).map(String),
      xLabel: check.optionalString(d.xLabel, 'xLabel'),
      yLabel: check.optionalString(d.yLabel, 'yLabel'),
      title: check.optionalString(d.title, 'title'),
      format: d.format ?? fmt,
      lo,
      hi,
      table: namedTable(scale),
    };
  }

  draw(m, width) {
    this.refs.title.textContent = m.title;
    const margin = {
      top: 8,
      right: 64,
      bottom: 22 + (m.xLabel ? 16 : 0),
      left: Math.max(24, textWidth(m.rowLabels) + 10) + (m.yLabel ? 16 : 0),
    };
    const plotW = Math.max(40, width - margin.left - margin.right);
    const maxH = Math.max(160, Math.min(480, plotW));
    // Square cells where they fit; rows never thinner than 16px unless that would pass maxH.
    const cellH = Math.min(maxH / m.rows, Math.max(plotW / m.cols, Math.min(16, maxH / m.rows)));
    const plotH = cellH * m.rows;
    const height = margin.top + plotH + margin.bottom;
    this.layout = { margin, plotW, plotH };

    const paint = { table: m.table, lo: m.lo, hi: m.hi, nan: packColor(NAN_COLOR) };
    paintCells(this.canvas, m.rows, m.cols, m.values, 0, paint);
    place(this.canvas, margin.left, margin.top, plotW, plotH);
    const ramp = Float32Array.from({ length: LEGEND_STEPS }, (_, k) => m.hi - ((k + 0.5) / LEGEND_STEPS) * (m.hi - m.lo));
    paintCells(this.legendCanvas, LEGEND_STEPS, 1, ramp, 0, paint);
    place(this.legendCanvas, margin.left + plotW + 12, margin.top, 12, plotH);

    const svg = this.svg.attr('width', width).attr('height', height);
    svg.selectAll('*').remove();
    const x = d3.scaleBand(d3.range(m.cols), [0, plotW]);
    const y = d3.scaleBand(d3.range(m.rows), [0, plotH]);
    const xTicks = thinIndices(m.cols, Math.floor(plotW / (textWidth(m.colLabels) + 8)));
    const yTicks = thinIndices(m.rows, Math.floor(plotH / 13));
    svg.append('g')
      .attr('transform', `translate(${margin.left},${margin.top + plotH})`)
      .call(d3.axisBottom(x).tickValues(xTicks).tickFormat((i) => m.colLabels[i]).tickSizeOuter(0));
    svg.append('g')
      .attr('transform', `translate(${margin.left},${margin.top})`)
      .call(d3.axisLeft(y).tickValues(yTicks).tickFormat((i) => m.rowLabels[i]).tickSizeOuter(0));
    const legend = d3.scaleLinear([m.lo, m.hi], [plotH, 0]);
    svg.append('g')
      .attr('transform', `translate(${margin.left + plotW + 24},${margin.top})`)
      .call(d3.axisRight(legend).ticks(Math.max(2, Math.floor(plotH / 40))).tickFormat(fmt));
    if (m.xLabel) {
      svg.append('text').attr('class', 'tl-axis-label').attr('text-anchor', 'middle')
        .attr('x', margin.left + plotW / 2).attr('y', height - 4).text(m.xLabel);
    }
    if (m.yLabel) {
      svg.append('text').attr('class', 'tl-axis-label').attr('text-anchor', 'middle')
        .attr('transform', `translate(12,${margin.top + plotH / 2}) rotate(-90)`).text(m.yLabel);
    }
    if (this._marked) this.highlight(...this._marked);
  }

  /** CSV: a header of the column labels, then each matrix row after its label. */
  rows() {
    const m = this._model;
    const row = (i) => Array.prototype.slice.call(m.values, i * m.cols, (i + 1) * m.cols);
    return [[`${m.yLabel || 'row'} \\ ${m.xLabel || 'col'}`, ...m.colLabels], ...m.rowLabels.map((r, i) => [r, ...row(i)])];
  }

  /** Outlines cell (row, col); highlight(null) clears it. */
  highlight(row, col) {
    const m = this._model;
    if (row === null || row === undefined || !m || !(row >= 0 && row < m.rows && col >= 0 && col < m.cols)) {
      this._marked = null;
      if (this.mark) this.mark.hidden = true;
      return;
    }
    this._marked = [row, col];
    const { margin, plotW, plotH } = this.layout;
    const w = plotW / m.cols;
    const h = plotH / m.rows;
    place(this.mark, margin.left + col * w - 1, margin.top + row * h - 1, w + 2, h + 2);
    this.mark.hidden = false;
  }

  _hover(e) {
    const m = this._model;
    const at = m && cellAt(this.canvas, m.rows, m.cols, e.clientX, e.clientY);
    if (!at) return;
    const [r, c] = at;
    this.highlight(r, c);
    this.tooltip.show(
      [m.format(m.values[r * m.cols + c]), `${m.yLabel || 'row'}: ${m.rowLabels[r]}`, `${m.xLabel || 'col'}: ${m.colLabels[c]}`],
      e.clientX,
      e.clientY,
    );
  }
}
