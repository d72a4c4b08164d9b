// Pure helpers the notebook pages' views share (no DOM: page declarations import them, and
// node tests import the declarations): reading LabeledTensors and the config at a glance.

/** The sub-tensor of `t` at leading indices `idx` (row-major), as {shape, values}. */
export function sub(t, ...idx) {
  let offset = 0;
  let size = t.values.length;
  idx.forEach((i, k) => {
    size /= t.shape[k];
    offset += i * size;
  });
  return { shape: t.shape.slice(idx.length), values: t.values.slice(offset, offset + size) };
}

/** The tick labels of `axis` of LabeledTensor `t` (indices when it has none). */
export function labelsOf(t, axis) {
  const k = t.axes.indexOf(axis);
  if (k < 0) throw new Error(`no axis ${axis} in [${t.axes.join(', ')}]`);
  return t.labels?.[axis] ?? Array.from({ length: t.shape[k] }, (_, i) => String(i));
}

/** [rows, cols] matrix transposed (for heatmaps that want the other orientation). */
export function transpose(m) {
  const [r, c] = m.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = m.values[i * c + j];
  return { shape: [c, r], values: out };
}

/** Column `j` of a [rows, cols] matrix. */
export function column(m, j) {
  const [r, c] = m.shape;
  return Array.from({ length: r }, (_, i) => m.values[i * c + j]);
}

/** The model at a glance as <tl-stats> rows, from task_info (the engine counts the parameters). */
export function configRows(info) {
  const cfg = info.config;
  const mlp = cfg.attn_only ? 'none (attention only)' : `${cfg.d_mlp} neurons, ${cfg.act_fn}`;
  return [
    ['layers', cfg.n_layers],
    ['heads per layer', cfg.n_heads],
    ['d_model', cfg.d_model],
    ['d_head', cfg.d_head],
    ['MLP', mlp],
    ['normalization', cfg.normalization_type ?? 'none'],
    ['positional embedding', cfg.positional_embedding_type ?? 'standard'],
    ['vocabulary in / out', `${cfg.d_vocab} / ${cfg.d_vocab_out ?? cfg.d_vocab}`],
    ['context (n_ctx)', cfg.n_ctx],
    info.n_params_total == null
      ? ['parameters (TransformerLens’s n_params: the hidden weight matrices)', info.n_params]
      : ['parameters', `${info.n_params_total} in all (TransformerLens's n_params, the hidden weight matrices only: ${info.n_params})`],
  ];
}

/**
 * The facts a page reads about a model of no task (the shape of task_info): from its TL config
 * (TL's -1 for d_vocab_out means d_vocab) and the reader's token labels (ids when none; outputs
 * share them when the two vocabularies are one).
 */
export function readerInfo(config, labels = null) {
  const nIn = config.d_vocab;
  const nOut = config.d_vocab_out > 0 ? config.d_vocab_out : nIn;
  const ids = (n) => Array.from({ length: n }, (_, i) => String(i));
  const vocab = labels ?? ids(nIn);
  return { config, vocab, vocab_out: labels && nOut === nIn ? labels : ids(nOut), n_ctx: config.n_ctx, n_params: config.n_params };
}

/** Pearson correlation of `ys` with 0, 1, 2, … (e.g. evenly spaced token values). */
export function correlationWithIndex(ys) {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  ys.forEach((y, i) => {
    sxy += (i - mx) * (y - my);
    sxx += (i - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/**
 * The engine's `predictions` (per position: its argmax `predicted`, the task's `target`, the
 * target's `log_prob`; NaN where unscored) for batch row `b`, as one row per position:
 * {predicted, target, p: P(target), right}. The pages read predictions off the engine rather
 * than take an argmax of their own.
 */
export function predictionsOf(pred, b = 0) {
  const n = pred.predicted.shape[1];
  const at = (t, i) => t.values[b * n + i];
  return Array.from({ length: n }, (_, i) => {
    const [predicted, target] = [at(pred.predicted, i), at(pred.target, i)];
    return { predicted, target, p: Math.exp(at(pred.log_prob, i)), right: predicted === target };
  });
}
