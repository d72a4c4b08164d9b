// "Your model": analysis JSON and cached activations -> widget data (pure functions; page.js
// declares which figure reads what). The reader's picks (layer, head, position, logits, the
// ablated head or neurons, the browsed hook) are checked against the model here: a pick the
// model does not have is the figure's error, not a wrong figure.
import { labelsOf, sub } from '../common.js';

/** The picked position (absent: the last; past the input's end, now shorter: its last). */
export function positionOf(picks, tokens) {
  return picks.pos == null ? tokens.length - 1 : Math.min(picks.pos, tokens.length - 1);
}

/** The reader's picks, each checked against the model `info` and the input `tokens`. */
export function picked(picks, { info, tokens }) {
  const cfg = info.config;
  const layer = picks.layer ?? 0;
  const head = picks.head ?? 0;
  if (!(layer < cfg.n_layers)) throw new Error(`layer ${layer}: the model has ${cfg.n_layers} layers (0 to ${cfg.n_layers - 1})`);
  if (!(head < cfg.n_heads)) throw new Error(`head ${head}: the model has ${cfg.n_heads} heads per layer`);
  const pos = positionOf(picks, tokens);
  const nOut = info.vocab_out.length;
  const logits = picks.logit ?? null;
  const badLogit = logits?.find((t) => !(t < nOut));
  if (badLogit !== undefined) throw new Error(`logit ${badLogit}: the model has ${nOut} output tokens`);
  const neurons = picks.neurons ?? [];
  if (neurons.length && cfg.attn_only) throw new Error('neurons: this model is attention-only (no MLP)');
  const badNeuron = neurons.find((n) => !(n < cfg.d_mlp));
  if (badNeuron !== undefined) throw new Error(`neuron ${badNeuron}: the MLP has ${cfg.d_mlp} neurons`);
  return { layer, head, pos, logits, neurons, ablation: picks.ablation ?? 'zero' };
}

const tokenAt = (info, tokens, pos) => info.vocab[tokens[pos]];

/** The model at a glance (<tl-stats> rows) and where it came from. */
export function configRows(rows, model) {
  const loaded = model?.loadMs == null ? [] : [['loaded in (ms, CPU engine: parse and build)', Math.round(model.loadMs), 'load-ms']];
  return { rows: [['checkpoint', model?.label ?? '…'], ...rows, ...loaded] };
}

/** attention_pattern [1, head, query, key] of the picked layer -> <tl-attention>. */
export function attentionView(pattern, { info, tokens }, { layer }) {
  return {
    tokens: tokens.map((t) => info.vocab[t]),
    patterns: sub(pattern, 0),
    headLabels: labelsOf(pattern, 'head').map((h) => `L${layer} ${h}`),
  };
}

/** full_ov / full_qk [head, rows, cols] of the picked head -> <tl-heatmap>. */
export function circuitView(t, { info }, { layer, head }, kind) {
  const [, rows, cols] = t.shape;
  const ov = kind === 'ov';
  return {
    values: { shape: [rows, cols], values: sub(t, head).values },
    rowLabels: info.vocab.slice(0, rows),
    colLabels: (ov ? info.vocab_out : info.vocab).slice(0, cols),
    scale: 'diverging',
    yLabel: ov ? 'attended (source) token' : 'destination (query) token',
    xLabel: ov ? 'output logit' : 'source (key) token',
    title: ov ? `Full OV circuit of L${layer} H${head}: W_E·W_OV·W_U` : `Full QK circuit of L${layer} H${head}: W_E·W_QK·W_Eᵀ`,
  };
}

/** ov_svd and qk_svd S [head, sv] of the picked head -> <tl-lines>. */
export function svdView(ovSvd, qkSvd, { layer, head }) {
  const series = [
    ['OV = W_V·W_O', ovSvd],
    ['QK = W_Q·W_Kᵀ', qkSvd],
  ].map(([name, s]) => {
    const y = Array.from(sub(s, head).values);
    return { name, x: y.map((_, i) => i), y };
  });
  return { series, xLabel: 'singular value (index)', yLabel: 'singular value', logY: false, title: `Singular values of L${layer} H${head}’s OV and QK circuits` };
}

/** The row of a [c, 1, 1, n] analysis (one example, the picked position only) as [c, n]. */
function atPosition(t) {
  const [c, , , n] = t.shape;
  return { shape: [c, n], values: t.values };
}

/** The output token the components push most at the position (the logit shown by default). */
export function topLogit(dla) {
  const { shape, values } = atPosition(dla);
  const [c, n] = shape;
  let best = 0;
  const sum = (j) => Array.from({ length: c }, (_, i) => values[i * n + j]).reduce((a, b) => a + b, 0);
  for (let j = 1; j < n; j++) if (sum(j) > sum(best)) best = j;
  return best;
}

/** dla [component, 1, 1, d_vocab_out] -> bars: each component's direct effect on a logit or a difference. */
export function dlaView(dla, { info, tokens }, { pos, logits }) {
  const [a, b] = logits ?? [topLogit(dla)];
  const { shape, values } = atPosition(dla);
  const n = shape[1];
  const components = labelsOf(dla, 'component');
  const effect = components.map((_, i) => values[i * n + a] - (b === undefined ? 0 : values[i * n + b]));
  const out = info.vocab_out;
  const what = b === undefined ? `the logit of ${JSON.stringify(out[a])}` : `logit ${JSON.stringify(out[a])} − logit ${JSON.stringify(out[b])}`;
  return {
    labels: components,
    series: [{ name: what, values: effect }],
    yLabel: 'direct effect on the logit',
    title: `Direct logit attribution at position ${pos} (${JSON.stringify(tokenAt(info, tokens, pos))}): ${what}${logits ? '' : ' (the top logit)'}`,
  };
}

/** decompose_resid [component, 1, 1, d_model] -> heatmap of the final residual stream by component. */
export function decomposeView(resid, { info, tokens }, { pos }) {
  return {
    values: atPosition(resid),
    rowLabels: labelsOf(resid, 'component'),
    scale: 'diverging',
    yLabel: 'component',
    xLabel: 'd_model',
    title: `The final residual stream at position ${pos} (${JSON.stringify(tokenAt(info, tokens, pos))}), by component`,
  };
}

/** logit_lens [point, 1, 1, d_vocab_out] -> heatmap: what each point of the residual stream would predict. */
export function logitLensView(lens, { info, tokens }, { pos }) {
  return {
    values: atPosition(lens),
    rowLabels: labelsOf(lens, 'component'),
    colLabels: info.vocab_out,
    scale: 'diverging',
    yLabel: 'residual stream at',
    xLabel: 'output token',
    title: `Logit lens at position ${pos} (${JSON.stringify(tokenAt(info, tokens, pos))}): the accumulated residual through the final LN and W_U`,
  };
}

/**
 * The input and `n` seeded random sequences of its length: what a mean ablation averages over
 * (the engine takes the batch mean at each position; over the input alone it would change nothing).
 */
export function referenceBatch(tokens, nVocab, n = 63) {
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % nVocab;
  };
  return [tokens, ...Array.from({ length: n }, () => tokens.map(next))];
}

/** Bars show at most this many output tokens (the largest changes) so a big vocabulary stays readable. */
export const MAX_BARS = 40;

/** ablated_logits {baseline, ablated, change} [1, pos, d_vocab_out] -> bars at the picked position. */
export function ablationView(r, { info, tokens }, { pos, layer, head, neurons, ablation }) {
  const n = r.change.shape[2];
  const row = (t) => t.values.slice(pos * n, pos * n + n);
  const change = row(r.change);
  let ids = Array.from({ length: n }, (_, j) => j);
  if (n > MAX_BARS) ids = ids.sort((x, y) => Math.abs(change[y]) - Math.abs(change[x])).slice(0, MAX_BARS);
  const what = neurons.length ? `L${layer} neurons ${neurons.join(', ')}` : `L${layer} H${head}`;
  const series = [
    ['logits', row(r.baseline)],
    [`${what} ${ablation}-ablated`, row(r.ablated)],
    ['change', change],
  ].map(([name, v]) => ({ name, values: ids.map((j) => v[j]) }));
  return {
    labels: ids.map((j) => info.vocab_out[j]),
    series,
    yLabel: 'logit',
    title: `${what} ${ablation}-ablated: the logits at position ${pos} (${JSON.stringify(tokenAt(info, tokens, pos))})${n > MAX_BARS ? `, the ${MAX_BARS} largest changes` : ''}`,
  };
}

/** TransformerLens's axes of a cached activation, by its hook's name and rank. */
export function axisNames(name, rank) {
  if (/hook_(attn_scores|pattern)$/.test(name) && rank === 4) return ['batch', 'head', 'query', 'key'];
  const byRank = { 1: ['batch'], 2: ['batch', 'pos'], 3: ['batch', 'pos', 'd'], 4: ['batch', 'pos', 'head', 'd'] };
  return byRank[rank] ?? Array.from({ length: rank }, (_, k) => `axis ${k}`);
}

/** The hook the cache browser shows when the reader has picked none (or one this model lacks). */
export function defaultHook(names) {
  return names.includes('blocks.0.attn.hook_pattern') ? 'blocks.0.attn.hook_pattern' : names[0];
}

/**
 * The 2-D slice of `t` (row-major {shape, values}) along `axes` [rowAxis, colAxis], every other
 * axis at its index in `at` (in axis order; 0 for a missing index). A tensor of one axis is a row.
 */
export function slice2d(t, axes, at = []) {
  const rank = t.shape.length;
  if (rank === 1) return { shape: [1, t.shape[0]], values: Float32Array.from(t.values) };
  const [ra, ca] = axes;
  const others = t.shape.map((_, k) => k).filter((k) => k !== ra && k !== ca);
  const strides = t.shape.map((_, k) => t.shape.slice(k + 1).reduce((p, d) => p * d, 1));
  let base = 0;
  others.forEach((k, i) => {
    const idx = at[i] ?? 0;
    if (!(idx >= 0 && idx < t.shape[k])) throw new Error(`index ${idx} of axis ${k} is out of range (size ${t.shape[k]})`);
    base += idx * strides[k];
  });
  const [rows, cols] = [t.shape[ra], t.shape[ca]];
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = t.values[base + i * strides[ra] + j * strides[ca]];
  return { shape: [rows, cols], values: out };
}

/** One cached activation as a heatmap: {hook, axes, at} picked (defaults: the last two axes, index 0). */
export function cacheView(cache, picks) {
  const names = Object.keys(cache);
  const hook = picks.hook && cache[picks.hook] ? picks.hook : defaultHook(names);
  if (picks.hook && !cache[picks.hook]) throw new Error(`hook ${picks.hook}: this model has no such hook (it has ${names.length}, e.g. ${names.slice(0, 3).join(', ')})`);
  const t = cache[hook];
  const rank = t.shape.length;
  const names2 = axisNames(hook, rank);
  const axes = picks.axes ?? (rank === 1 ? [0, 0] : [rank - 2, rank - 1]);
  if (rank > 1 && (axes.length !== 2 || axes[0] === axes[1] || axes.some((a) => !(a < rank)))) throw new Error(`axes ${axes.join(',')}: pick two different axes of ${rank}`);
  const at = picks.at ?? [];
  const fixed = t.shape.map((_, k) => k).filter((k) => rank > 1 && !axes.includes(k));
  const where = fixed.map((k, i) => `${names2[k]} ${at[i] ?? 0}`).join(', ');
  const m = slice2d(t, axes, at);
  // Masked attention scores are -inf (or an older TL's -1e5): colour by the rest.
  const finite = Array.from(m.values).filter((v) => Number.isFinite(v) && v > -1e4);
  const lo = Math.min(...finite, 0);
  const hi = Math.max(...finite, 0);
  const reach = Math.max(-lo, hi) || 1;
  return {
    values: m,
    scale: lo >= 0 ? 'sequential' : 'diverging',
    domain: lo >= 0 ? [0, hi || 1] : [-reach, reach],
    yLabel: rank > 1 ? `${names2[axes[0]]} (axis ${axes[0]})` : '',
    xLabel: `${names2[rank > 1 ? axes[1] : 0]} (axis ${rank > 1 ? axes[1] : 0})`,
    title: `${hook} [${t.shape.join(', ')}]${where ? ` at ${where}` : ''}`,
  };
}
