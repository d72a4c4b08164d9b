// <tl-lines>: many line series with a legend and a hover readout (the nearest point of
// each series), and live appends for training curves: append()/appendMany() add points in
// place and redraw at most once per animation frame.
/**
 * @typedef {object} LinesData  `el.data` of <tl-lines> (append()/appendMany() add points later)
 * @property {{name?: string, x: ArrayLike<number>, y: ArrayLike<number>}[]} series  names unique; x and y equally long;
 *   read when set (new values come in new arrays: a series set again with the same arrays keeps its drawn path)
 * @property {string} [xLabel]
 * @property {string} [yLabel]
 * @property {string} [title]
 * @property {boolean} [logY]
 * @property {[number, number]} [yDomain]
 */
import d3 from './d3.js';
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { ChartFrame } from './frame.js';
import { categoryColor, extent, fmt } from './scales.js';

const HEIGHT = 260;

export class Lines extends ToylensFigure {
  build(body) {
    this._paths = new WeakMap(); // a caller's y array -> {x, n, scales, d}: its series' last path
    this.frame = new ChartFrame(body);
    this.pathLayer = this.frame.plot.append('g').attr('class', 'tl-series').attr('fill', 'none').attr('stroke-width', 1.5);
    this.hit = this.frame.plot.append('rect').attr('fill', 'transparent')
      .on('pointermove', (e) => this._hover(e))
      .on('pointerleave', () => this._unhover());
    this._frameRequest = 0;
  }

  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.series)) check.fail(`series: expected an array, got ${check.describe(d.series)}`);
    const model = emptyModel({
      xLabel: check.optionalString(d.xLabel, 'xLabel'),
      yLabel: check.optionalString(d.yLabel, 'yLabel'),
      title: check.optionalString(d.title, 'title'),
      logY: Boolean(d.logY),
      yDomain: check.domain(d.yDomain, 'yDomain'),
    });
    d.series.forEach((s, k) => {
      check.object(s, `series[${k}]`);
      const name = s.name == null ? `series ${k}` : String(s.name);
      if (model.byName.has(name)) check.fail(`series[${k}]: the name ${JSON.stringify(name)} is used twice`);
      const x = check.numbers(s.x, `series[${k}].x`);
      const y = check.numbers(s.y, `series[${k}].y`, x.length);
      // Copied into plain arrays: appends grow them, and the caller's arrays stay untouched.
      const series = addSeries(model, name);
      series.x = Array.from(x);
      series.y = Array.from(y);
      series.from = { x: s.x, y: s.y }; // the caller's arrays: the same again, the same path
    });
    return model;
  }

  /** Appends one point to series `name` (created if new); drawn on the next animation frame. */
  append(name, x, y) {
    this.appendMany(name, [x], [y]);
  }

  /** Appends points xs[k], ys[k] to series `name` (created if new). */
  appendMany(name, xs, ys) {
    if (xs.length !== ys.length) {
      this.setError(`appendMany(${JSON.stringify(name)}): ${xs.length} x values but ${ys.length} y values`);
      return;
    }
    this._skeleton();
    this._model ??= emptyModel({});
    const key = String(name);
    const s = this._model.byName.get(key) ?? addSeries(this._model, key);
    for (let k = 0; k < xs.length; k++) {
      s.x.push(xs[k]);
      s.y.push(ys[k]);
    }
    this._schedule();
  }

  /** Removes every series (axis titles stay); appends start afresh. */
  clear() {
    if (!this._model) return;
    this._model.series = [];
    this._model.byName.clear();
    this._schedule();
  }

  /** Points in series `name` (0 when there is none). */
  pointCount(name) {
    return this._model?.byName.get(String(name))?.x.length ?? 0;
  }

  _schedule() {
    this._frameRequest ||= requestAnimationFrame(() => {
      this._frameRequest = 0;
      this.redraw();
    });
  }

  draw(m, width) {
    this.refs.title.textContent = m.title;
    const f = this.frame;
    f.setLegend(m.series);
    const keep = m.logY ? (v) => v > 0 : Number.isFinite;
    const xs = m.series.flatMap((s) => extent(s.x) ?? []);
    const ys = m.series.flatMap((s) => extent(s.y.filter(keep)) ?? []);
    const x = d3.scaleLinear().domain(padded(d3.extent(xs), 0));
    const y = (m.logY ? d3.scaleLog() : d3.scaleLinear()).domain(m.yDomain ?? padded(d3.extent(ys), m.logY ? 1 : 0)).nice();
    const yTicks = m.logY ? logTicks(y) : y.ticks(6);
    const margin = f.margins(yTicks.map(fmt), m.xLabel, m.yLabel);
    const w = Math.max(40, width - margin.left - margin.right);
    const h = HEIGHT;
    x.range([0, w]);
    y.range([h, 0]).clamp(Boolean(m.yDomain));
    f.render({
      margin, w, h,
      xAxis: d3.axisBottom(x).ticks(Math.max(2, w / 80)).tickFormat(fmt),
      yAxis: d3.axisLeft(y).tickValues(yTicks).tickFormat(fmt),
      gridAxis: d3.axisLeft(y).tickValues(yTicks).tickSize(-w),
      xLabel: m.xLabel,
      yLabel: m.yLabel,
    });
    // A series set again from the same arrays, under the same scales, keeps its path: a figure
    // of a training log redrawn for another checkpoint changes only its marker (addition's
    // curves of 3000 steps: two thirds of such a redraw, ~13 of 20 ms, went to their paths).
    const scales = [x.domain(), x.range(), y.domain(), y.range(), m.logY].join(' ');
    const pathOf = (s) => {
      const known = s.from && this._paths.get(s.from.y);
      if (known && known.x === s.from.x && known.n === s.x.length && known.scales === scales) return known.d;
      const d = seriesPath(s, x, y, keep, w);
      if (s.from && s.from.x.length === s.x.length) this._paths.set(s.from.y, { x: s.from.x, n: s.x.length, scales, d });
      return d;
    };
    this.pathLayer.selectAll('path').data(m.series, (s) => s.name).join('path')
      .attr('stroke', (s) => s.color)
      .each(function (s) {
        const d = pathOf(s); // null for a series with no point drawn: no path (as d3's attr)
        if (d == null) this.removeAttribute('d');
        else if (this.getAttribute('d') !== d) this.setAttribute('d', d);
      });
    this.hit.attr('width', w).attr('height', h);
    this.scales = { x, y, keep };
  }

  /** CSV: one row per point of each series. */
  rows() {
    const m = this._model;
    return [['series', m.xLabel || 'x', m.yLabel || 'y'], ...m.series.flatMap((s) => s.x.map((x, k) => [s.name, x, s.y[k]]))];
  }

  _hover(e) {
    const m = this._model;
    if (!m || !this.scales) return;
    const { x, y, keep } = this.scales;
    const [px] = d3.pointer(e, this.hit.node());
    const at = x.invert(px);
    const near = [];
    for (const s of m.series) {
      let best = -1;
      for (let k = 0; k < s.x.length; k++) {
        if (keep(s.y[k]) && (best < 0 || Math.abs(s.x[k] - at) < Math.abs(s.x[best] - at))) best = k;
      }
      if (best >= 0) near.push({ s, k: best });
    }
    if (!near.length) return this._unhover();
    this.frame.overlay.selectAll('circle').data(near).join('circle')
      .attr('r', 3.5).attr('fill', ({ s }) => s.color)
      .attr('cx', ({ s, k }) => x(s.x[k])).attr('cy', ({ s, k }) => y(s.y[k]));
    const lines = near.map(({ s, k }) => `${s.name}: ${fmt(s.y[k])}  (x ${fmt(s.x[k])})`);
    this.tooltip.show([`${m.xLabel || 'x'} ≈ ${fmt(at)}`, ...lines], e.clientX, e.clientY);
  }

  _unhover() {
    this.tooltip.hide();
    this.frame.overlay.selectAll('circle').remove();
  }
}

function emptyModel({ xLabel = '', yLabel = '', title = '', logY = false, yDomain = null }) {
  return { series: [], byName: new Map(), xLabel, yLabel, title, logY, yDomain };
}

function addSeries(model, name) {
  const s = { name, x: [], y: [], color: categoryColor(model.series.length) };
  model.series.push(s);
  model.byName.set(name, s);
  return s;
}

// The path d3.line() draws (linear curve, coordinates to 3 decimals, its default digits; a
// defined run of one point closed to a dot), written by this loop: d3.line's accessor calls and
// d3-path's per-point append took ~270 ms of addition's cold load, 8 figures of 3000-step
// curves (tests/e2e: widgets.test compares the two).
export function seriesPath(s, x, y, keep, w) {
  const defined = (k) => Number.isFinite(s.x[k]) && keep(s.y[k]);
  const points = s.x.length > 4 * w && ascending(s.x) ? perColumn(s, x, defined) : null;
  const n = points ? points.length : s.x.length;
  let d = '';
  let run = 0; // points in the current defined run
  for (let i = 0; i < n; i++) {
    const k = points ? points[i] : i;
    if (!defined(k)) {
      if (run === 1) d += 'Z';
      run = 0;
      continue;
    }
    d += `${run ? 'L' : 'M'}${round3(x(s.x[k]))},${round3(y(s.y[k]))}`;
    run++;
  }
  if (run === 1) d += 'Z';
  return d || null;
}

function round3(v) {
  return Math.round(v * 1000) / 1000;
}

// The points of a series with more points than pixel columns that draw the same line: per
// column its first, lowest, highest and last point (M4), in order; a point that is not drawn
// stays, so a gap stays a gap. A training log of thousands of steps becomes a path of a few
// hundred points (addition's 8 × 3000-step curves took ~100 ms to draw). No d3 function does this.
function perColumn(s, x, defined) {
  const out = [];
  let col = null;
  let first = 0;
  let lo = 0;
  let hi = 0;
  let last = 0;
  const flush = () => {
    if (col !== null) out.push(...[...new Set([first, lo, hi, last])].sort((a, b) => a - b));
    col = null;
  };
  for (let k = 0; k < s.x.length; k++) {
    if (!defined(k)) {
      flush();
      out.push(k);
      continue;
    }
    const c = Math.floor(x(s.x[k]));
    if (c !== col) {
      flush();
      col = c;
      first = lo = hi = k;
    }
    last = k;
    if (s.y[k] < s.y[lo]) lo = k; // the y scales are increasing (linear or log)
    if (s.y[k] > s.y[hi]) hi = k;
  }
  flush();
  return out;
}

function ascending(xs) {
  for (let k = 1; k < xs.length; k++) if (!(xs[k] >= xs[k - 1])) return false;
  return true;
}

// A log axis labels the powers of ten when its default ticks would crowd.
function logTicks(y) {
  const t = y.ticks(5);
  if (t.length < 8) return t;
  const decades = t.filter((v) => Number.isInteger(Math.log10(v)));
  return decades.length >= 2 ? decades : t.filter((_, k) => k % Math.ceil(t.length / 6) === 0);
}

// A domain that is never empty: a lone value gets room around it.
function padded([lo, hi], logFloor) {
  if (lo === undefined) return logFloor ? [1, 10] : [0, 1];
  if (lo < hi) return [lo, hi];
  return logFloor ? [lo / 2, lo * 2] : [lo - 1, hi + 1];
}
