// The widget test page: every element of the kit on synthetic data (seeded, so a test can
// recompute what a hover must show), plus the hooks the browser test and the redraw
// benchmark use, on window.__widgets.
import './index.js';
import { fmt } from './scales.js';

const $ = (id) => document.getElementById(id);

/** A seeded uniform [0, 1) generator (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function heatmapData(rows, cols, seed = 1, extra = {}) {
  const r = random(seed);
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) values[i * cols + j] = Math.sin(i / 3 + seed) * Math.cos(j / 4) + (r() - 0.5) * 0.4;
  }
  values[rows * cols - 1] = NaN;
  return {
    values: { shape: [rows, cols], values },
    rowLabels: Array.from({ length: rows }, (_, i) => `r${i}`),
    colLabels: Array.from({ length: cols }, (_, j) => `c${j}`),
    yLabel: 'row',
    xLabel: 'col',
    format: (v) => v.toFixed(3),
    ...extra,
  };
}

/** Causal attention: each query's weights over keys 0..q sum to 1; later keys are 0. */
export function attentionData(heads, n, seed = 1) {
  const r = random(seed);
  const values = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < n; q++) {
      const row = (h * n + q) * n;
      let sum = 0;
      for (let k = 0; k <= q; k++) sum += values[row + k] = Math.exp(3 * r() + (k === q - h ? 2 : 0));
      for (let k = 0; k <= q; k++) values[row + k] /= sum;
    }
  }
  const words = ['The', ' cat', ' sat', ' on', ' the', ' mat', '.', '\n'];
  return {
    tokens: Array.from({ length: n }, (_, k) => words[k % words.length]),
    patterns: { shape: [heads, n, n], values },
    headLabels: Array.from({ length: heads }, (_, h) => `L0H${h}`),
  };
}

export function barsData(seed = 1, horizontal = false) {
  const r = random(seed);
  const labels = ['embed', 'L0 attn', 'L0 mlp', 'L1 attn', 'L1 mlp', 'unembed'];
  const series = ['clean', 'corrupted'].map((name) => ({
    name,
    values: labels.map(() => (r() - 0.3) * 4),
    errors: labels.map(() => r() * 0.5),
  }));
  return { labels, series, yLabel: 'logit difference', title: horizontal ? 'direct logit attribution' : '', horizontal };
}

export function linesData(points = 500, seed = 1) {
  const r = random(seed);
  const series = ['train', 'test', 'train (no wd)'].map((name, s) => {
    const x = Array.from({ length: points }, (_, k) => k * 10);
    const y = x.map((step) => 3 * Math.exp(-step / (800 + 600 * s)) + 0.02 + r() * 0.05 * (s + 1));
    return { name, x, y };
  });
  return { series, xLabel: 'step', yLabel: 'loss', logY: true };
}

/** Points on a jittered grid, so no two overlap (a hover finds the one it aims at). */
export function scatterData(n = 40, seed = 1) {
  const r = random(seed);
  const points = Array.from({ length: n }, (_, k) => ({
    x: (k % 10) + r() * 0.4,
    y: Math.floor(k / 10) + r() * 0.4,
    label: `tok ${k}`,
    group: k % 3 ? 'digit' : 'operator',
  }));
  return { points, xLabel: 'PC 1', yLabel: 'PC 2', title: 'embeddings' };
}

export const VOCAB = ['0', '1', '2', '3', '4', '='];

/** The steps of the pretrained min model's checkpoints (the emergence view's columns). */
export const CLAIM_STEPS = [0, 1, 2, 3, 5, 7, 11, 16, 25, 37, 55, 81, 122, 181, 271, 404, 602, 899, 1341, 2000];

/**
 * Four claims over CLAIM_STEPS: claim k holds from column from[k] on (the third fails once
 * after; the last never holds, and is not evaluated at the last three steps).
 */
export function claimsData() {
  const views = ['min/full-ov', 'min/attention-to-min', 'min/logit-lens', 'min/position-blind'];
  const from = [6, 11, 14, Infinity];
  const columns = CLAIM_STEPS.map((step) => ({ source: 'pretrained', step }));
  const cells = views.map((_, k) => columns.map((_, j) => (k === 3 && j >= 17 ? null : j >= from[k] && !(k === 2 && j === 16) ? 'holds' : 'fails')));
  const values = views.map((_, k) => columns.map((_, j) => (cells[k][j] === null ? null : Math.round(1000 * (1 - Math.exp(-j / (3 + k)))) / 1000)));
  return {
    title: 'When does each claim become true?',
    rows: [
      { view: views[0], claim: 'The full OV circuit has a strong diagonal: each token mostly copies itself.', test: 'diagonal share ≥ 0.9' },
      { view: views[1], claim: 'The last position attends to the smallest token.', test: 'attention to the min ≥ 0.5' },
      { view: views[2], claim: 'The answer is readable after layer 0.', test: 'logit-lens accuracy ≥ 0.8' },
      { view: views[3], claim: 'The model ignores positions.' },
    ],
    columns,
    cells,
    values,
    current: { source: 'pretrained', step: 1341 },
    note: 'Synthetic: no engine.',
  };
}

function mount() {
  $('heatmap').data = heatmapData(12, 10, 1, { title: 'a 12×10 matrix' });
  $('heatmap-seq').data = { ...heatmapData(24, 24, 2), scale: 'sequential', format: undefined };
  $('attention').data = attentionData(2, 6, 1);
  $('bars').data = barsData(1);
  $('bars-h').data = barsData(2, true);
  $('lines').data = linesData(200, 1);
  $('lines-live').data = { series: [], xLabel: 'step', yLabel: 'loss' };
  $('scatter').data = scatterData(40, 1);
  const tokens = $('tokens');
  tokens.vocab = VOCAB;
  tokens.length = 4;
  tokens.fixed = { 2: '=' };
  tokens.tokens = [1, 2, 5, 3];
  tokens.addEventListener('change', (e) => hooks.changes.push(e.detail.tokens));
  $('stats').data = { rows: [['steps', 1200], ['loss', 0.0123456, 'loss'], ['backend', 'cpu']] };
  $('text').data = { className: 'pass', parts: ['min(3, 4) = ', { value: 3, key: 'answer' }, ': right.'] };
  $('table').data = { rows: [{ head: 'token', cells: ['a', 'b'] }, { head: 'P', cells: [0.123456, 1], classes: ['fail', 'pass'] }] };
  const claims = $('claims');
  claims.data = claimsData();
  claims.addEventListener('select', (e) => hooks.selects.push(e.detail));
  claims.addEventListener('reveal', (e) => hooks.reveals.push(e.detail));
  $('bad').data = { values: { shape: [2, 3], values: [1, 2, 3] } };
}

// The redraw benchmark's cases: make(i) builds the i-th data outside the timing,
// apply(el, d) hands it over (that is what lastRenderMs times).
const setData = (el, d) => {
  el.data = d;
};
const bench = [
  { name: 'heatmap 201×200', id: 'heatmap', make: (i) => heatmapData(201, 200, i), apply: setData },
  { name: 'heatmap 24×24', id: 'heatmap', make: (i) => heatmapData(24, 24, i), apply: setData },
  { name: 'attention 1 head 24×24', id: 'attention', make: (i) => attentionData(1, 24, i), apply: setData },
  { name: 'attention 4 heads 24×24', id: 'attention', make: (i) => attentionData(4, 24, i), apply: setData },
  { name: 'bars 6×2', id: 'bars', make: (i) => barsData(i), apply: setData },
  { name: 'lines 3×500', id: 'lines', make: (i) => linesData(500, i), apply: setData },
  { name: 'scatter 200', id: 'scatter', make: (i) => scatterData(200, i), apply: setData },
  {
    name: 'token-input 4 tokens',
    id: 'tokens',
    make: (i) => [i % 5, (i * 3) % 5, 5, (i * 7) % 5],
    apply: (el, ids) => {
      el.tokens = ids;
    },
  },
];

const hooks = { changes: [], selects: [], reveals: [], fmt, heatmapData, attentionData, scatterData, claimsData, bench, mounted: false };
window.__widgets = hooks;
mount();
hooks.mounted = true;
