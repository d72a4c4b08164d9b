// The frame of the SVG charts (bars, lines, scatter): a swatch legend above, an svg with
// grid, plot group, axes, axis titles and an overlay for hover marks. Built once per
// element; each draw only resizes and re-calls the axes.
import d3 from './d3.js';
import { textWidth } from './scales.js';

export class ChartFrame {
  constructor(body) {
    this.legend = body.appendChild(document.createElement('div'));
    this.legend.className = 'tl-legend';
    this.legend.dataset.ref = 'legend';
    this.svg = d3.select(body).append('svg').attr('class', 'tl-svg');
    this.grid = this.svg.append('g').attr('class', 'tl-grid');
    this.plot = this.svg.append('g');
    this.xAxis = this.svg.append('g');
    this.yAxis = this.svg.append('g');
    this.xTitle = this.svg.append('text').attr('class', 'tl-axis-label').attr('text-anchor', 'middle');
    this.yTitle = this.svg.append('text').attr('class', 'tl-axis-label').attr('text-anchor', 'middle');
    this.overlay = this.svg.append('g').attr('pointer-events', 'none');
  }

  /** Margins around the plot: room for the left tick labels `leftText` and the axis titles. */
  margins(leftText, xLabel, yLabel) {
    return {
      top: 8,
      right: 16,
      bottom: 24 + (xLabel ? 16 : 0),
      left: Math.max(28, textWidth(leftText) + 12) + (yLabel ? 16 : 0),
    };
  }

  /**
   * Sizes everything for a plot of w×h inside `margin`; `xAxis`/`yAxis` are d3 axis
   * generators, `gridAxis` (optional) one whose ticks become grid lines across the plot.
   */
  render({ margin, w, h, xAxis, yAxis, gridAxis, xLabel, yLabel }) {
    const width = margin.left + w + margin.right;
    const height = margin.top + h + margin.bottom;
    this.svg.attr('width', width).attr('height', height);
    const at = `translate(${margin.left},${margin.top})`;
    this.plot.attr('transform', at);
    this.overlay.attr('transform', at);
    this.xAxis.attr('transform', `translate(${margin.left},${margin.top + h})`).call(xAxis);
    this.yAxis.attr('transform', at).call(yAxis);
    this.grid.attr('transform', at).selectAll('*').remove();
    if (gridAxis) this.grid.call(gridAxis.tickFormat(''));
    this.xTitle.attr('x', margin.left + w / 2).attr('y', height - 4).text(xLabel || '');
    this.yTitle.attr('transform', `translate(12,${margin.top + h / 2}) rotate(-90)`).text(yLabel || '');
  }

  /** The swatch legend: shown only when there are at least two `items` {name, color}. */
  setLegend(items) {
    this.legend.replaceChildren(
      ...(items.length > 1 ? items : []).map(({ name, color }) => {
        const s = document.createElement('span');
        s.style.setProperty('--swatch', color);
        s.textContent = name;
        return s;
      }),
    );
  }
}
