// majority: analysis JSON (as `toylens analyze` prints it) -> widget data and the numbers the
// text quotes. Pure functions: page.js declares which figure reads what.
import { labelsOf, predictionsOf, sub } from '../common.js';

const xs = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * The engine's predictions against the running majority (the task's targets) -> {predicted,
 * labels, right, n, pLast: P(the majority of the whole sequence) at the last position}.
 */
export function predictions(pred) {
  const rows = predictionsOf(pred);
  return { predicted: rows.map((r) => r.predicted), labels: rows.map((r) => r.target), right: rows.filter((r) => r.right).length, n: rows.length, pLast: rows.at(-1).p };
}

/** The value the overlays follow: the reader's pick, else the sequence's majority. */
export function chosenValue(picks, labels) {
  return picks.value === 'auto' || picks.value == null ? labels.at(-1) : Number(picks.value);
}

/** The sentence under the editor (<tl-text> data). */
export function predictionText(pred) {
  const p = predictions(pred);
  const last = p.labels.at(-1);
  const ok = p.predicted[p.n - 1] === last;
  return {
    className: ok ? 'pass' : 'fail',
    parts: [
      `Majority of all ${p.n} values: ${last}. The model says `,
      { value: p.predicted[p.n - 1] },
      ` at the last position (P(${last}) `,
      { value: p.pLast },
      `), and matches the running majority at `,
      { value: p.right, key: 'example-right' },
      ` of ${p.n} positions.`,
    ],
  };
}

/** The running majority and the model's answer, position by position (<tl-lines>). */
export function runningView(pred) {
  const p = predictions(pred);
  return {
    series: [
      { name: 'running majority (the label)', x: xs(p.n), y: p.labels },
      { name: 'model’s prediction', x: xs(p.n), y: p.predicted },
    ],
    xLabel: 'position',
    yLabel: 'value',
    yDomain: [0, 9],
    title: 'The majority so far, and what the model says',
  };
}

export function attentionView(pattern, vocab, tokens) {
  return { tokens: tokens.map((t) => vocab[t]), patterns: sub(pattern, 0), headLabels: labelsOf(pattern, 'head').map((h) => `L0 ${h}`) };
}

const COMPONENTS = [
  ['embed', 'token embedding'],
  ['0_attn_out', 'attention'],
  ['0_mlp_out', 'MLP'],
];

/**
 * dla_centred [component, 1, pos, vocab] (centred over the vocabulary by the engine, as the
 * notebook does) -> each component's logit for the true token (the running majority) at each
 * position.
 */
export function logitContributions(dla, labels) {
  const comps = labelsOf(dla, 'component');
  const [, , n, k] = dla.shape;
  return COMPONENTS.map(([key, name]) => {
    const c = comps.indexOf(key);
    if (c < 0) throw new Error(`dla has no component ${key} (it has ${comps.join(', ')})`);
    const m = sub(dla, c, 0).values;
    return { name, x: xs(n), y: labels.map((t, p) => m[p * k + t]) };
  });
}

export function logitContributionsView(series) {
  return { series, xLabel: 'position', yLabel: 'logit of the running majority (centred)', title: 'Direct logit contribution of each component to the true token' };
}

export const meanOf = (ys) => ys.reduce((a, b) => a + b, 0) / ys.length;

/**
 * The notebook's line of the MLP's logit contribution (dla_centred): at each position p ≥ 1,
 * the MLP's centred logit of the value just before it (the notebook plots the logits at 1..n−1 of the
 * input's tokens 0..n−2); and where it spikes: two standard deviations above its mean, with
 * what the input holds around there and the running majority.
 */
export function mlpSpikes(dla, tokens, labels) {
  const comps = labelsOf(dla, 'component');
  const c = comps.indexOf(COMPONENTS.at(-1)[0]);
  const [, , n, k] = dla.shape;
  const m = sub(dla, c, 0).values;
  const y = [];
  for (let p = 1; p < n; p++) y.push(m[p * k + tokens[p - 1]]);
  const mu = meanOf(y);
  const sd = Math.sqrt(meanOf(y.map((v) => (v - mu) ** 2)));
  const at = y.map((v, i) => i + 1).filter((p) => y[p - 1] >= mu + 2 * sd);
  const around = (p) => [p - 1, p, p + 1].map((q) => (q < 0 || q >= tokens.length ? '·' : String(tokens[q]))).join(' ');
  return {
    line: { name: 'MLP', x: y.map((v, i) => i + 1), y },
    at,
    around: at.map(around),
    value: at.map((p) => y[p - 1]),
    majority: at.map((p) => labels[p]),
    changed: at.filter((p) => tokens[p] !== tokens[p - 1]),
    isMajority: at.filter((p) => tokens[p - 1] === labels[p]),
  };
}

/** mlpSpikes -> a table: a column per spike. */
export function mlpSpikesView(s) {
  if (!s.at.length) return { rows: [{ head: 'spikes', cells: ['none: no position is two standard deviations above the mean'] }] };
  return {
    className: 'nb-labels',
    rows: [
      { head: 'position', cells: s.at.map(String), classes: s.at.map(() => 'muted') },
      { head: 'values p−1, p, p+1', cells: s.around },
      { head: 'value at p differs from p−1', cells: s.at.map((p) => (s.changed.includes(p) ? 'yes' : 'no')) },
      { head: 'running majority at p', cells: s.majority.map(String) },
      { head: 'value at p−1 is the majority', cells: s.at.map((p) => (s.isMajority.includes(p) ? 'yes' : 'no')) },
      { head: 'MLP logit of the value at p−1', cells: s.value },
    ],
  };
}

/** neuron_acts [pos, neuron] as a heatmap: positions down, neurons across. */
export function neuronActsView(acts) {
  return {
    values: acts,
    scale: 'diverging',
    yLabel: 'position',
    xLabel: 'neuron',
    title: 'MLP neuron activations (hook_post) at every position',
  };
}

/** Column `n` of a [rows, cols] matrix. */
const col = (m, n) => {
  const [r, c] = m.shape;
  return Array.from({ length: r }, (_, i) => m.values[i * c + n]);
};

/**
 * The picked neurons' activations along the sequence, their sum (neuron_sum [1, pos]) and the
 * running count of `value` (how often it occurred before each position) on the same axis,
 * the count scaled to fit.
 */
export function neuronLinesView(acts, counts, neurons, value, sum) {
  const [n] = acts.shape;
  const series = neurons.map((k) => ({ name: `neuron ${k}`, x: xs(n), y: col(acts, k) }));
  series.push({ name: `sum of neurons ${neurons.join(', ')}`, x: xs(n), y: Array.from(sub(sum, 0).values) });
  const count = col(sub(counts, 0), value);
  const top = Math.max(1e-9, ...series.flatMap((s) => s.y.map(Math.abs)));
  const scale = niceScale(top / Math.max(1, ...count));
  series.push({ name: `count of ${value} so far × ${scale}`, x: xs(n), y: count.map((c) => c * scale) });
  return { series, xLabel: 'position', yLabel: 'activation', title: `Picked neurons and the running count of ${value}` };
}

/** A round factor (1, 2 or 5 × 10^k) at most `x`. */
function niceScale(x) {
  const e = 10 ** Math.floor(Math.log10(x));
  return [5, 2, 1].map((m) => m * e).find((s) => s <= x) ?? e;
}

/** Pearson correlation of two equal-length arrays. */
export function correlation(a, b) {
  const ma = meanOf(a);
  const mb = meanOf(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  a.forEach((x, i) => {
    sab += (x - ma) * (b[i] - mb);
    saa += (x - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  });
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/** The picked neurons' sum (neuron_sum [1, pos]) correlated with the running count of `value`. */
export function sumCountCorrelation(sum, counts, value) {
  return correlation(Array.from(sub(sum, 0).values), col(sub(counts, 0), value));
}

/** ablated_predictions {baseline, ablated} [1, pos] next to the running majority. */
export function ablatedView(pred, labels, neurons) {
  const n = labels.length;
  return {
    series: [
      { name: 'running majority (the label)', x: xs(n), y: labels },
      { name: 'model', x: xs(n), y: Array.from(pred.baseline.values) },
      { name: `neurons ${neurons.join(', ')} ablated`, x: xs(n), y: Array.from(pred.ablated.values) },
    ],
    xLabel: 'position',
    yLabel: 'value',
    yDomain: [0, 9],
    title: 'Predictions with and without the picked neurons',
  };
}

/** ablate_neurons as <tl-stats> rows; keyed rows only when `key` is given. */
export function ablationRows(r, key) {
  return [
    ['positions scored', r.baseline.n_scored],
    ['loss, as trained', r.baseline.loss, key && `${key}-before`],
    ['loss, neurons ablated', r.ablated.loss, key && `${key}-loss`],
    ['accuracy, as trained', r.baseline.accuracy],
    ['accuracy, neurons ablated', r.ablated.accuracy, key && `${key}-accuracy`],
  ].map((row) => (row[2] ? row : row.slice(0, 2)));
}

/** neuron_ablation_scan -> the `top` neurons whose ablation costs most, as bars of the loss increase. */
export function scanView(scan, top) {
  const ns = scan.ranking.slice(0, top);
  return {
    labels: ns.map((n) => `n${n}`),
    series: [{ name: 'loss increase', values: ns.map((n) => scan.loss.values[n] - scan.baseline.loss) }],
    yLabel: 'loss increase',
    // The positions the scan scored (a first pass scores fewer sequences than the exact figure).
    title: `Each neuron zeroed alone: the ${top} costliest (${scan.baseline.n_scored} held-out positions)`,
  };
}

/** ov_to_neurons [head, token, neuron] -> one head's [token, neuron] heatmap. */
export function ovNeuronsView(ov, head) {
  return {
    values: sub(ov, head),
    rowLabels: labelsOf(ov, 'token'),
    scale: 'diverging',
    yLabel: 'attended value',
    xLabel: 'neuron',
    title: `Full OV circuit into the MLP, head ${head}: W_E·W_OV·W_in`,
  };
}

/** The picked neurons' columns of the OV-to-neuron circuit, per head, over the ten values. */
export function ovNeuronLinesView(ov, neurons) {
  const [h, v] = ov.shape;
  const series = [];
  for (let head = 0; head < h; head++) {
    const m = sub(ov, head);
    for (const n of neurons) series.push({ name: `H${head} → n${n}`, x: xs(v), y: col(m, n) });
  }
  return { series, xLabel: 'attended value', yLabel: 'input to the neuron', title: 'What each head, attending to a value, feeds the picked neurons' };
}

/** For each picked neuron, the value whose attention feeds it most (summed over the heads). */
export function neuronValues(ov, neurons) {
  const [h, v, m] = ov.shape;
  return neurons.map((n) => {
    const input = xs(v).map((t) => xs(h).reduce((s, head) => s + ov.values[(head * v + t) * m + n], 0));
    return { neuron: n, value: input.indexOf(Math.max(...input)) };
  });
}

export function qkView(qk, head) {
  return {
    values: sub(qk, head),
    rowLabels: labelsOf(qk, 'query_token'),
    colLabels: labelsOf(qk, 'key_token'),
    scale: 'diverging',
    yLabel: 'query value',
    xLabel: 'key value',
    title: `Full QK circuit, head ${head}: W_E·W_QK·W_Eᵀ`,
  };
}

/** The largest |entry| of a LabeledTensor (e.g. of the full QK circuit over both heads). */
export function maxAbs(t) {
  let m = 0;
  for (const x of t.values) m = Math.max(m, Math.abs(x));
  return m;
}

/** Attention from the last position of head `h`: {max, min, n} (uniform would be 1/n each). */
export function lastRowAttention(pattern, h) {
  const [, , n] = pattern.shape;
  const row = sub(pattern, 0, h).values.slice((n - 1) * n, n * n);
  return { max: Math.max(...row), min: Math.min(...row), n };
}

/** The pretrained run's metrics.jsonl -> training loss per step and held-out loss (<tl-lines>). */
export function pretrainedCurves(text) {
  const rows = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const train = rows.filter((r) => r.loss != null);
  const evals = rows.filter((r) => r.eval_loss != null);
  return {
    series: [
      { name: 'training loss (batch of 256)', x: train.map((r) => r.step), y: train.map((r) => r.loss) },
      { name: 'held-out loss (410 sequences)', x: evals.map((r) => r.step), y: evals.map((r) => r.eval_loss) },
    ],
    xLabel: 'step',
    yLabel: 'cross-entropy',
    logY: true,
    title: 'The pretrained run, as the CLI recorded it',
  };
}

/** Of the positions where the running majority changes hands, the share the model gets right. */
export function rightAtChanges(pred) {
  const p = predictions(pred);
  const at = xs(p.n).filter((i) => i > 0 && p.labels[i] !== p.labels[i - 1]);
  return at.length ? at.filter((i) => p.predicted[i] === p.labels[i]).length / at.length : NaN;
}

/** The least even of both heads' last rows: min / max attention over the keys (1 = uniform). */
export function lastRowEvenness(pattern) {
  const heads = pattern.shape[1];
  return Math.min(...xs(heads).map((h) => {
    const r = lastRowAttention(pattern, h);
    return r.min / r.max;
  }));
}

/**
 * neuron_acts [pos, neuron]: the share of neurons whose mean activation over the second half
 * of the sequence is under half their mean over its first eight positions (they quieten).
 */
export function quietening(acts) {
  const [n, m] = acts.shape;
  // A loop over the values, not an index array per neuron: this runs on every edit.
  const mean = (n0, n1, k) => {
    let s = 0;
    for (let p = n0; p < n1; p++) s += acts.values[p * m + k];
    return s / (n1 - n0);
  };
  const early = Math.min(8, n);
  let quiet = 0;
  for (let k = 0; k < m; k++) if (mean(n >> 1, n, k) < 0.5 * mean(0, early, k)) quiet++;
  return quiet / m;
}

/** The share of positions where the ablated prediction differs from the model's. */
export function changedShare(pred) {
  const b = pred.baseline.values;
  const a = pred.ablated.values;
  return xs(b.length).filter((i) => a[i] !== b[i]).length / b.length;
}

/**
 * ov_to_neurons [head, token, neuron] of one head: of each value's `k` neurons with the most
 * input, the share that no other value has in its top `k` (a set of its own).
 */
export function ownNeuronShare(ov, head, k = 10) {
  const [, v, m] = ov.shape;
  const tops = xs(v).map((t) => {
    const row = Array.from(ov.values.slice((head * v + t) * m, (head * v + t + 1) * m));
    return xs(m).sort((x, y) => row[y] - row[x]).slice(0, k);
  });
  let own = 0;
  tops.forEach((top, t) => {
    own += top.filter((n) => !tops.some((o, u) => u !== t && o.includes(n))).length;
  });
  return own / (v * k);
}

/** The correlation of two heads' [token, neuron] OV-to-neuron maps. */
export function headCorrelation(ov, h0, h1) {
  return correlation(Array.from(sub(ov, h0).values), Array.from(sub(ov, h1).values));
}

/**
 * For the picked neurons: how much one value dominates each one's input (summed over heads),
 * (largest − second) / (largest − smallest), the smallest over the neurons.
 */
export function valueDominance(ov, neurons) {
  const [h, v, m] = ov.shape;
  return Math.min(...neurons.map((n) => {
    const input = xs(v).map((t) => xs(h).reduce((s, head) => s + ov.values[(head * v + t) * m + n], 0)).sort((a, b) => b - a);
    return (input[0] - input[1]) / (input[0] - input.at(-1));
  }));
}
