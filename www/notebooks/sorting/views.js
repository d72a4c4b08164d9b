// sorting: analysis JSON -> widget data and the numbers the text quotes (pure functions;
// page.js declares which figure reads what). A sequence is START, 20 values, STOP and the 20
// values sorted; positions STOP .. the second-to-last predict the 1st .. 20th smallest.
import { labelsOf, sub } from '../common.js';

export const LIST_LEN = 20;
export const START = 30;
export const STOP = 31;
export const N_VALUES = 30; // values 0..29
const STOP_POS = LIST_LEN + 1;
/** The positions whose next token is scored: STOP .. 40. */
const SCORED = Array.from({ length: LIST_LEN }, (_, k) => STOP_POS + k);
const RANKS = SCORED.map((_, k) => String(k + 1));

/** The page's sequence for a list of 20 values: START, the values, STOP, the values sorted. */
export function sequenceOf(values) {
  return [START, ...values, STOP, ...[...values].sort((a, b) => a - b)];
}

/** The 20 values of a sequence (what the editor shows). */
export function valuesOf(tokens) {
  return tokens.slice(1, STOP_POS);
}

// ---- per-example figures ----

/** Row `b` of a [batch, pos] tensor at the scored positions. */
function scoredRow(t, b = 0) {
  const p = t.shape[1];
  return SCORED.map((i) => t.values[b * p + i]);
}

/** predictions -> {predicted, target, right}: the 20 scored positions of example `b`. */
export function predictedVsTarget(pred, b = 0) {
  const predicted = scoredRow(pred.predicted, b);
  const target = scoredRow(pred.target, b);
  return { predicted, target, right: predicted.filter((p, k) => p === target[k]).length };
}

/** The notebook's "predicted vs actual next token" plot, over the 20 sorted slots. */
export function predictionLines(pred) {
  const { predicted, target } = predictedVsTarget(pred);
  const x = RANKS.map(Number);
  return {
    series: [
      { name: 'true next token', x, y: target },
      { name: 'predicted (argmax)', x, y: predicted },
    ],
    xLabel: 'k: the slot predicting the k-th smallest value',
    yLabel: 'token value',
    title: 'Predicted vs actual next token',
  };
}

/** The sentence under the editor: the sorted list, and how many slots the model gets right. */
export function sortedText(pred) {
  const { predicted, target, right } = predictedVsTarget(pred);
  const wrong = target.map((t, k) => (predicted[k] === t ? null : `slot ${k + 1} (${predicted[k]} for ${t})`)).filter(Boolean);
  const parts = [`Sorted: ${target.join(' ')}. The model predicts `, { value: right, key: 'example-right' }, ` of the ${LIST_LEN} sorted tokens`];
  parts.push(wrong.length ? `; wrong at ${wrong.join(', ')}.` : ': all right.');
  return { className: wrong.length ? 'fail' : 'pass', parts };
}

/** attention_pattern [batch, head, query, key] of one sequence as <tl-attention> data. */
export function attentionView(pattern, vocab, tokens) {
  return { tokens: tokens.map((t) => vocab[t]), patterns: sub(pattern, 0), headLabels: ['L0 H0'] };
}

/**
 * Of the attention the 20 scored queries pay to the unsorted half, the share that goes to
 * values strictly greater than the query's own token (STOP's query counts every value).
 */
export function attentionAboveShare(pattern, tokens) {
  const n = tokens.length;
  const a = sub(pattern, 0, 0).values; // [query, key]
  let above = 0;
  let inInput = 0;
  for (const q of SCORED) {
    for (let k = 1; k < STOP_POS; k++) {
      const w = a[q * n + k];
      inInput += w;
      if (q === STOP_POS || tokens[k] > tokens[q]) above += w;
    }
  }
  return inInput ? above / inInput : 0;
}

/** logit_attrs [component, batch, pos] -> heatmap of each component over the 20 slots. */
export function dlaView(attrs) {
  const comps = labelsOf(attrs, 'component');
  const p = attrs.shape[2];
  const values = new Float32Array(comps.length * LIST_LEN);
  comps.forEach((_, c) => SCORED.forEach((i, k) => (values[c * LIST_LEN + k] = attrs.values[c * attrs.shape[1] * p + i])));
  return {
    values: { shape: [comps.length, LIST_LEN], values },
    rowLabels: comps,
    colLabels: RANKS,
    xLabel: 'k: the slot predicting the k-th smallest value',
    yLabel: 'component',
    title: 'Direct logit attribution to the correct next token',
  };
}

/** The head's share of the summed direct attribution to the correct token, over the 20 slots. */
export function headShare(attrs) {
  const comps = labelsOf(attrs, 'component');
  const h = comps.findIndex((c) => /^L0H/.test(c));
  const p = attrs.shape[2];
  let head = 0;
  let all = 0;
  comps.forEach((_, c) => SCORED.forEach((i) => {
    const v = attrs.values[c * attrs.shape[1] * p + i];
    all += Math.abs(v);
    if (c === h) head += Math.abs(v);
  }));
  return all ? head / all : 0;
}

// ---- held-out batch figures ----

/**
 * One of next_token_predictions' [batch, pos] fields as a heatmap: examples × every position
 * that predicts a token (all but the last), as the notebook draws them; the sorted half's
 * columns are marked s1 … s20 (the slot predicting the k-th smallest value).
 */
export function batchHeatmap(pred, field, title) {
  const t = pred[field];
  const [n, p] = t.shape;
  const cols = p - 1;
  const values = new Float32Array(n * cols);
  for (let b = 0; b < n; b++) for (let i = 0; i < cols; i++) values[b * cols + i] = t.values[b * p + i];
  return {
    values: { shape: [n, cols], values },
    rowLabels: Array.from({ length: n }, (_, b) => `#${b}`),
    colLabels: Array.from({ length: cols }, (_, i) => (i < STOP_POS ? String(i) : `${i} s${i - STOP_POS + 1}`)),
    xLabel: `position (the unsorted half: 0–${STOP_POS - 1}; the sorted half, scored: s1–s${LIST_LEN})`,
    yLabel: 'held-out example',
    title,
  };
}

/** How many of the batch's sorted-half tokens get under half the probability (log-prob < ln ½). */
export function unsureCount(pred) {
  const n = pred.log_prob.shape[0];
  let count = 0;
  for (let b = 0; b < n; b++) count += scoredRow(pred.log_prob, b).filter((v) => Number.isFinite(v) && v < Math.log(0.5)).length;
  return count;
}

/** Mean of a [batch, pos] field at slot k over the batch, for each slot. */
export function slotMeans(pred, field) {
  const t = pred[field];
  const n = t.shape[0];
  const sums = new Array(LIST_LEN).fill(0);
  for (let b = 0; b < n; b++) scoredRow(t, b).forEach((v, k) => (sums[k] += v / n));
  return sums;
}

// ---- circuits over token and position embeddings ----

/** The notebook's labels for the d_vocab + n_ctx inputs: tokens, then positions. */
export function inputLabels(n) {
  const tok = Array.from({ length: N_VALUES }, (_, i) => `tok ${i}`).concat(['START', 'STOP']);
  const pos = Array.from({ length: n - tok.length }, (_, p) => {
    if (p === 0) return 'pos START';
    if (p < STOP_POS) return `pos in ${p - 1}`;
    if (p === STOP_POS) return 'pos STOP';
    return `pos out ${p - STOP_POS - 1}`;
  });
  return tok.concat(pos);
}

/** full_qk_pos [head, query_input, key_input] -> heatmap, queries down, keys across. */
export function qkView(qk) {
  const [, rows, cols] = qk.shape;
  const labels = inputLabels(rows);
  return {
    values: { shape: [rows, cols], values: qk.values },
    rowLabels: labels,
    colLabels: labels,
    xLabel: 'key',
    yLabel: 'query',
    title: 'QK circuit over token and position embeddings',
  };
}

/** full_ov_pos [head, input, output_token] -> heatmap, outputs down, inputs across (as the notebook). */
export function ovView(ov, vocabOut) {
  const [, inputs, outs] = ov.shape;
  const values = new Float32Array(outs * inputs);
  for (let i = 0; i < inputs; i++) for (let o = 0; o < outs; o++) values[o * inputs + i] = ov.values[i * outs + o];
  return {
    values: { shape: [outs, inputs], values },
    rowLabels: vocabOut,
    colLabels: inputLabels(inputs),
    xLabel: 'input (attended token or position)',
    yLabel: 'output logit',
    title: 'OV circuit over token and position embeddings',
  };
}

/** For each query value 0..29, the key value (0..29) the QK circuit scores highest. */
export function qkBestKeys(qk) {
  const n = qk.shape[2];
  return Array.from({ length: N_VALUES }, (_, q) => {
    let best = 0;
    for (let k = 1; k < N_VALUES; k++) if (qk.values[q * n + k] > qk.values[q * n + best]) best = k;
    return best;
  });
}

/** Of the query values 0..28, the share whose best key value is above the query itself. */
export function qkAboveShare(qk) {
  const best = qkBestKeys(qk).slice(0, N_VALUES - 1);
  return best.filter((k, q) => k > q).length / best.length;
}

/** Mean gap (best key value − query value) over the query values 0..28. */
export function qkMeanGap(qk) {
  const best = qkBestKeys(qk).slice(0, N_VALUES - 1);
  return best.reduce((s, k, q) => s + (k - q), 0) / best.length;
}

/**
 * The full OV circuit's slopes (logit change per output value): a value row's mean slope
 * below the value and above it, and the input positions' rows' mean slope over all values.
 */
export function ovSlopes(ov) {
  const outs = ov.shape[2];
  const at = (i, o) => ov.values[i * outs + o];
  let below = 0;
  let nb = 0;
  let above = 0;
  let na = 0;
  for (let s = 1; s < N_VALUES - 1; s++) {
    below += (at(s, s) - at(s, 0)) / s;
    nb++;
    above += (at(s, N_VALUES - 1) - at(s, s)) / (N_VALUES - 1 - s);
    na++;
  }
  const firstPos = N_VALUES + 2; // rows after the 32 tokens
  let pos = 0;
  for (let p = 1; p < STOP_POS; p++) pos += (at(firstPos + p, N_VALUES - 1) - at(firstPos + p, 0)) / (N_VALUES - 1);
  return { below: below / nb, above: above / na, inputPositions: pos / LIST_LEN };
}

// ---- the pretrained run's recorded curves ----

/** metrics.jsonl text -> the training log's (step, loss, accuracy) rows (eval rows left out). */
export function trainingLog(text) {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((r) => typeof r.loss === 'number');
}

export function curveView(rows, field, { title, yLabel, logY = false }) {
  return {
    series: [{ name: `pretrained run: ${field}`, x: rows.map((r) => r.step), y: rows.map((r) => r[field]) }],
    xLabel: 'step',
    yLabel,
    title,
    logY,
  };
}
