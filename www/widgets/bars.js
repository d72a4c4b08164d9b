// <tl-bars>: grouped bars (one group a label, one bar a series), optional ± error bars,
// vertical or horizontal, a legend when there are several series, and the value on hover.
/**
 * @typedef {object} BarsData  `el.data` of <tl-bars>
 * @property {string[]} labels  one group of bars per label
 * @property {{name?: string, values: ArrayLike<number>, errors?: ArrayLike<number>}[]} series  one bar per label each; errors: ± half-widths
 * @property {boolean} [horizontal]
 * @property {string} [yLabel]
 * @property {string} [title]
 */
import d3 from './d3.js';
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { ChartFrame } from './frame.js';
import { categoryColor, fmt, textWidth, thinIndices } from './scales.js';

const HEIGHT = 260;
const BAR_PX = 14; // bar thickness of horizontal charts, which grow with their labels

export class Bars extends ToylensFigure {
  build(body) {
    this.frame = new ChartFrame(body);
    // Two layers, so error bars stay above the bars whatever the joins add.
    this.barLayer = this.frame.plot.append('g');
    this.errorLayer = this.frame.plot.append('g');
  }

  prepare(d) {
    check.object(d, 'data');
    const labels = check.labels(d.labels, 'labels');
    if (!labels) check.fail('labels: expected an array of strings, got nothing');
    if (!Array.isArray(d.series) || !d.series.length) check.fail(`series: expected a non-empty array, got ${check.describe(d.series)}`);
    const series = d.series.map((s, k) => {
      check.object(s, `series[${k}]`);
      const values = check.numbers(s.values, `series[${k}].values`, labels.length);
      const errors = s.errors == null ? null : check.numbers(s.errors, `series[${k}].errors`, labels.length);
      return { name: s.name == null ? `series ${k}` : String(s.name), values, errors, color: categoryColor(k) };
    });
    const bars = [];
    let lo = 0;
    let hi = 0;
    series.forEach((s, si) => {
      labels.forEach((_, i) => {
        const v = s.values[i];
        const e = Math.abs(s.errors?.[i] ?? 0);
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v - (e || 0));
          hi = Math.max(hi, v + (e || 0));
        }
        bars.push({ i, si, v, e });
      });
    });
    return {
      labels,
      series,
      bars,
      domain: [lo, hi === lo ? lo + 1 : hi],
      horizontal: Boolean(d.horizontal),
      yLabel: check.optionalString(d.yLabel, 'yLabel'),
      title: check.optionalString(d.title, 'title'),
    };
  }

  draw(m, width) {
    this.refs.title.textContent = m.title;
    const f = this.frame;
    f.setLegend(m.series);
    const val = d3.scaleLinear().domain(m.domain).nice();
    const idx = d3.range(m.labels.length);
    const pos = d3.scaleBand().domain(idx).padding(0.2);
    const inner = d3.scaleBand().domain(d3.range(m.series.length)).padding(0.05);
    let margin;
    let w;
    let h;
    if (m.horizontal) {
      margin = f.margins(m.labels, m.yLabel, '');
      w = Math.max(40, width - margin.left - margin.right);
      h = Math.max(80, m.labels.length * (m.series.length * BAR_PX + 8));
      val.range([0, w]);
      pos.range([0, h]);
      f.render({
        margin, w, h,
        xAxis: d3.axisBottom(val).ticks(Math.max(2, w / 80)).tickFormat(fmt),
        yAxis: d3.axisLeft(pos).tickFormat((i) => m.labels[i]).tickSizeOuter(0),
        gridAxis: d3.axisTop(val).ticks(Math.max(2, w / 80)).tickSize(-h),
        xLabel: m.yLabel,
      });
    } else {
      margin = f.margins(val.ticks(6).map(fmt), '', m.yLabel);
      w = Math.max(40, width - margin.left - margin.right);
      h = HEIGHT;
      val.range([h, 0]);
      pos.range([0, w]);
      const shown = thinIndices(idx.length, Math.floor(w / (textWidth(m.labels) + 8)));
      f.render({
        margin, w, h,
        xAxis: d3.axisBottom(pos).tickValues(shown).tickFormat((i) => m.labels[i]).tickSizeOuter(0),
        yAxis: d3.axisLeft(val).ticks(6).tickFormat(fmt),
        gridAxis: d3.axisLeft(val).ticks(6).tickSize(-w),
        yLabel: m.yLabel,
      });
    }
    inner.range([0, pos.bandwidth()]);
    const at = (b) => pos(b.i) + inner(b.si);
    const v0 = val(0);
    const rects = this.barLayer.selectAll('rect').data(m.bars.filter((b) => Number.isFinite(b.v))).join('rect')
      .attr('fill', (b) => m.series[b.si].color)
      .on('pointermove', (e, b) => this._hover(e, b))
      .on('pointerleave', () => this.tooltip.hide());
    const thick = inner.bandwidth();
    if (m.horizontal) {
      rects.attr('y', at).attr('height', thick)
        .attr('x', (b) => Math.min(v0, val(b.v))).attr('width', (b) => Math.abs(val(b.v) - v0));
    } else {
      rects.attr('x', at).attr('width', thick)
        .attr('y', (b) => Math.min(v0, val(b.v))).attr('height', (b) => Math.abs(val(b.v) - v0));
    }
    const cap = Math.min(4, thick / 3);
    const whisker = (b) => {
      const c = at(b) + thick / 2;
      const a = val(b.v - b.e);
      const z = val(b.v + b.e);
      return m.horizontal
        ? `M${a},${c}H${z}M${a},${c - cap}v${2 * cap}M${z},${c - cap}v${2 * cap}`
        : `M${c},${a}V${z}M${c - cap},${a}h${2 * cap}M${c - cap},${z}h${2 * cap}`;
    };
    this.errorLayer.selectAll('path').data(m.bars.filter((b) => b.e > 0 && Number.isFinite(b.v))).join('path')
      .attr('stroke', 'currentColor').attr('fill', 'none').attr('d', whisker);
  }

  /** CSV: one row per label, a column per series (and its ± when it has errors). */
  rows() {
    const m = this._model;
    const head = m.series.flatMap((s) => (s.errors ? [s.name, `${s.name} ±`] : [s.name]));
    return [['label', ...head], ...m.labels.map((l, i) => [l, ...m.series.flatMap((s) => (s.errors ? [s.values[i], s.errors[i]] : [s.values[i]]))])];
  }

  _hover(e, b) {
    const m = this._model;
    const err = b.e > 0 ? ` ± ${fmt(b.e)}` : '';
    this.tooltip.show([`${fmt(b.v)}${err}`, `${m.labels[b.i]} · ${m.series[b.si].name}`], e.clientX, e.clientY);
  }
}
