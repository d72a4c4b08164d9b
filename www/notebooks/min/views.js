// min_of_two: analysis JSON -> widget data and the numbers the text quotes (pure functions;
// page.js declares which figure reads what).
import { labelsOf, predictionsOf, sub } from '../common.js';

/** attention_from's mean [head, key] (head 0) as bars over a, b, =. */
export function attentionBars(from, keyNames, title) {
  return {
    labels: keyNames,
    series: [{ name: 'attention from =', values: Array.from(sub(from, 0).values) }],
    yLabel: 'attention',
    title,
  };
}

/** min_attention_grid [head, key, a, b] -> heatmap of attention to `key` over every (a, b). */
export function gridView(grid, key) {
  const k = labelsOf(grid, 'key').indexOf(key);
  return {
    values: sub(grid, 0, k),
    rowLabels: labelsOf(grid, 'a'),
    colLabels: labelsOf(grid, 'b'),
    scale: 'sequential',
    domain: [0, 1],
    yLabel: 'a',
    xLabel: 'b',
    title: `Attention from = to ${key}, for every pair (a, b)`,
  };
}

/**
 * Of the pairs with a ≠ b, the share where = pays more than half its attention to the smaller;
 * `side` 'a' or 'b' counts only the pairs where that one is the smaller.
 */
export function minAttendedShare(grid, side = null) {
  const [, , n] = grid.shape;
  const toA = sub(grid, 0, 0).values;
  const toB = sub(grid, 0, 1).values;
  let hits = 0;
  let pairs = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b || (side === 'a' && a > b) || (side === 'b' && b > a)) continue;
      pairs++;
      hits += (a < b ? toA : toB)[a * n + b] > 0.5;
    }
  }
  return hits / pairs;
}

/** min_attention_grid's mean over every pair (a, b): attention from = to [a, b, =] (head 0). */
export function gridMeans(grid) {
  const mean = (k) => {
    const v = sub(grid, 0, k).values;
    return v.reduce((s, x) => s + x, 0) / v.length;
  };
  const [toA, toB] = [mean(0), mean(1)];
  return [toA, toB, 1 - toA - toB]; // the attention of = sums to 1 over a, b and itself
}

export function squareHeatmap(t, yLabel, xLabel, title) {
  const [, rows, cols] = t.shape;
  return {
    values: { shape: [rows, cols], values: t.values },
    rowLabels: labelsOf(t, t.axes[1]),
    colLabels: labelsOf(t, t.axes[2]),
    scale: 'diverging',
    yLabel,
    xLabel,
    title,
  };
}

/** The full QK row of destination `row` over the number keys (the last key, =, left out). */
export function qkRow(qk, row) {
  const n = qk.shape[2];
  return Array.from(qk.values.slice(row * n, row * n + n - 1));
}

export function qkRowView(scores) {
  return {
    series: [{ name: '= row of the full QK circuit', x: scores.map((_, i) => i), y: scores }],
    xLabel: 'source token (number)',
    yLabel: 'attention score',
    title: 'How much = wants to attend to each number',
  };
}

/** Standard deviation of each row of the [1, rows, cols] QK: how much a destination discriminates. */
export function rowSpreads(qk) {
  const [, rows, cols] = qk.shape;
  return Array.from({ length: rows }, (_, r) => {
    const row = qk.values.slice(r * cols, r * cols + cols);
    const m = row.reduce((a, b) => a + b, 0) / cols;
    return Math.sqrt(row.reduce((a, b) => a + (b - m) ** 2, 0) / cols);
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** The engine's prediction at = (predictions, position 2): {predicted, target, p: P(target), right}. */
export function prediction(pred) {
  return predictionsOf(pred)[2];
}

/** The sentence under the pair: the right answer, the model's, and how sure it is (<tl-text> data). */
export function predictionText(pred, [a, b]) {
  const p = prediction(pred);
  const parts = [`min(${a}, ${b}) = ${p.target}. The model predicts `, { value: p.predicted, key: 'example-prediction' }];
  if (p.right) parts.push(': right, with probability ', { value: p.p }, '.');
  else parts.push(`: wrong (it gives ${p.target} probability `, { value: p.p }, ').');
  return { className: p.right ? 'pass' : 'fail', parts };
}
