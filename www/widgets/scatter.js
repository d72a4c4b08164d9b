// <tl-scatter>: labelled points coloured by group; hovering shows the nearest point's label
// (Delaunay search); with at most LABELLED points the labels are drawn beside the points.
/**
 * @typedef {object} ScatterData  `el.data` of <tl-scatter>
 * @property {{x: number, y: number, label?: string, group?: string}[]} points  coloured by group, in order of first appearance
 * @property {string} [xLabel]
 * @property {string} [yLabel]
 * @property {string} [title]
 */
import d3 from './d3.js';
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { ChartFrame } from './frame.js';
import { categoryColor, fmt } from './scales.js';

const LABELLED = 60;
const HOVER_PX = 30;

export class Scatter extends ToylensFigure {
  build(body) {
    this.frame = new ChartFrame(body);
    this.dots = this.frame.plot.append('g').attr('class', 'tl-dots');
    this.names = this.frame.plot.append('g').attr('font-size', 10).attr('pointer-events', 'none');
    this.hit = this.frame.plot.append('rect').attr('fill', 'transparent')
      .on('pointermove', (e) => this._hover(e))
      .on('pointerleave', () => this._unhover());
  }

  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.points)) check.fail(`points: expected an array, got ${check.describe(d.points)}`);
    const groups = new Map();
    const points = d.points.map((p, k) => {
      check.object(p, `points[${k}]`);
      const group = p.group == null ? '' : String(p.group);
      if (!groups.has(group)) groups.set(group, categoryColor(groups.size));
      return {
        x: check.finiteNumber(p.x, `points[${k}].x`),
        y: check.finiteNumber(p.y, `points[${k}].y`),
        label: p.label == null ? String(k) : String(p.label),
        group,
      };
    });
    return {
      points,
      groups,
      xLabel: check.optionalString(d.xLabel, 'xLabel'),
      yLabel: check.optionalString(d.yLabel, 'yLabel'),
      title: check.optionalString(d.title, 'title'),
    };
  }

  draw(m, width) {
    this.refs.title.textContent = m.title;
    const f = this.frame;
    f.setLegend([...m.groups].map(([name, color]) => ({ name: name || '(no group)', color })));
    const x = d3.scaleLinear().domain(roomy(d3.extent(m.points, (p) => p.x))).nice();
    const y = d3.scaleLinear().domain(roomy(d3.extent(m.points, (p) => p.y))).nice();
    const margin = f.margins(y.ticks(6).map(fmt), m.xLabel, m.yLabel);
    const w = Math.max(40, width - margin.left - margin.right);
    const h = Math.max(200, Math.min(420, Math.round(w * 0.6)));
    x.range([0, w]);
    y.range([h, 0]);
    f.render({
      margin, w, h,
      xAxis: d3.axisBottom(x).ticks(Math.max(2, w / 80)).tickFormat(fmt),
      yAxis: d3.axisLeft(y).ticks(6).tickFormat(fmt),
      gridAxis: d3.axisLeft(y).ticks(6).tickSize(-w),
      xLabel: m.xLabel,
      yLabel: m.yLabel,
    });
    this.dots.selectAll('circle').data(m.points).join('circle')
      .attr('r', 3.5)
      .attr('cx', (p) => x(p.x))
      .attr('cy', (p) => y(p.y))
      .attr('fill', (p) => m.groups.get(p.group))
      .attr('fill-opacity', 0.85);
    this.names.selectAll('text').data(m.points.length <= LABELLED ? m.points : []).join('text')
      .attr('x', (p) => x(p.x) + 5)
      .attr('y', (p) => y(p.y) - 4)
      .text((p) => p.label);
    this.hit.attr('width', w).attr('height', h);
    this.delaunay = d3.Delaunay.from(m.points, (p) => x(p.x), (p) => y(p.y));
    this.scales = { x, y };
  }

  /** CSV: one row per point. */
  rows() {
    const m = this._model;
    return [['label', 'group', m.xLabel || 'x', m.yLabel || 'y'], ...m.points.map((p) => [p.label, p.group, p.x, p.y])];
  }

  _hover(e) {
    const m = this._model;
    if (!m?.points.length || !this.delaunay) return;
    const [px, py] = d3.pointer(e, this.hit.node());
    const p = m.points[this.delaunay.find(px, py)];
    const { x, y } = this.scales;
    if (Math.hypot(x(p.x) - px, y(p.y) - py) > HOVER_PX) return this._unhover();
    this.frame.overlay.selectAll('circle').data([p]).join('circle')
      .attr('class', 'tl-mark').attr('r', 6).attr('cx', x(p.x)).attr('cy', y(p.y));
    const where = `(${fmt(p.x)}, ${fmt(p.y)})${p.group ? ` · ${p.group}` : ''}`;
    this.tooltip.show([p.label, where], e.clientX, e.clientY);
  }

  _unhover() {
    this.tooltip.hide();
    this.frame.overlay.selectAll('circle').remove();
  }
}

// Points never sit on the frame: 5% room on each side (and some around a lone value).
function roomy([lo, hi]) {
  if (lo === undefined) return [0, 1];
  const pad = (hi - lo) * 0.05 || Math.abs(lo) * 0.1 || 1;
  return [lo - pad, hi + pad];
}
