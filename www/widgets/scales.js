// Number formatting, colour scales and colour lookup tables shared by the widgets.
import d3 from './d3.js';

const fmt4 = d3.format('.4~g');

/** Default value format: 4 significant digits, NaN and ±∞ spelled out. */
export function fmt(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  return fmt4(v);
}

/** How a token reads on a chip: spaces, tabs and newlines made visible. */
export function visibleToken(t) {
  return t.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '⇥') || '∅';
}

/** Category colours, in order (series, groups). */
export const CATEGORY = d3.schemeTableau10;

export function categoryColor(k) {
  return CATEGORY[k % CATEGORY.length];
}

/** The interpolator of a named scale: diverging is RdBu reversed (positive = red). */
export function interpolator(kind) {
  if (kind === 'diverging') return (t) => d3.interpolateRdBu(1 - t);
  if (kind === 'blues') return d3.interpolateBlues;
  return d3.interpolateViridis;
}

const tables = new Map();

/** The colour table of a named scale, built once per page. */
export function namedTable(kind) {
  if (!tables.has(kind)) tables.set(kind, colorTable(interpolator(kind)));
  return tables.get(kind);
}

/** [min, max] of the finite values, or null when there is none. */
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // NaN never wins a comparison; ±∞ would, and is dropped here.
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = Infinity;
    hi = -Infinity;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The colour domain of a heatmap: symmetric around 0 (diverging) or min..max (sequential). */
export function autoDomain(values, kind) {
  const e = extent(values) ?? [0, 1];
  if (kind === 'diverging') {
    const m = Math.max(Math.abs(e[0]), Math.abs(e[1])) || 1;
    return [-m, m];
  }
  return e[0] < e[1] ? e : [e[0] - 0.5, e[1] + 0.5];
}

const LUT_SIZE = 256;

/**
 * A lookup table of LUT_SIZE packed RGBA pixels (Uint32, the byte order of ImageData on
 * this machine) for an interpolator, so a canvas cell costs one table read.
 */
export function colorTable(interp) {
  const table = new Uint32Array(LUT_SIZE);
  const bytes = new Uint8Array(table.buffer);
  for (let k = 0; k < LUT_SIZE; k++) {
    const c = d3.rgb(interp(k / (LUT_SIZE - 1)));
    bytes.set([c.r, c.g, c.b, 255], k * 4);
  }
  return table;
}

/** One packed RGBA pixel of a CSS colour (same byte order as colorTable). */
export function packColor(css) {
  const c = d3.rgb(css);
  const px = new Uint32Array(1);
  new Uint8Array(px.buffer).set([c.r, c.g, c.b, 255]);
  return px[0];
}

/** Index into a colour table for v in [lo, hi] (clamped). */
export function lutIndex(v, lo, hi) {
  const t = (v - lo) / (hi - lo);
  return t <= 0 ? 0 : t >= 1 ? LUT_SIZE - 1 : Math.round(t * (LUT_SIZE - 1));
}

/** Black or white text, whichever reads on background `css`. */
export function textOn(css) {
  const c = d3.rgb(css);
  const lum = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
  return lum > 140 ? '#111' : '#fff';
}

/** Up to `max` evenly spread indices of 0..n-1 (thinned tick positions). */
export function thinIndices(n, max) {
  const step = Math.max(1, Math.ceil(n / Math.max(1, max)));
  return d3.range(0, n, step);
}

/** Rough pixel width of the longest string (11px sans-serif), for margins and tick thinning. */
export function textWidth(strings, max = 150) {
  let n = 0;
  for (const s of strings) n = Math.max(n, s.length);
  return Math.min(max, n * 6.4);
}
