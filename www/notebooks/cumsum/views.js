// cumsum: analysis JSON (as `toylens analyze` prints it) -> widget data and the numbers the
// text quotes. Pure functions: page.js declares which figure reads what and shows it how.
import { column, correlationWithIndex, labelsOf, predictionsOf, sub, transpose } from '../common.js';


/**
 * Where task_info's vocab_out puts each class: {neg, zero, pos} -> index. The views reason
 * about signs, so they look the classes up by name instead of assuming an order.
 */
export function classIndex(vocabOut) {
  const at = (name) => {
    const i = vocabOut.indexOf(name);
    if (i < 0) throw new Error(`cumsum's output classes [${vocabOut.join(', ')}] have no ${name}`);
    return i;
  };
  return { neg: at('neg'), zero: at('zero'), pos: at('pos') };
}

/** Token strings with their position, as the heatmaps' column ticks. */
export function positionLabels(vocab, tokens) {
  return tokens.map((t, p) => `${vocab[t]} (${p})`);
}

/** probs [1, pos, out] -> heatmap rows = output class, columns = position. */
export function probsView(probs, vocab, tokens) {
  return {
    values: transpose(sub(probs, 0)),
    rowLabels: labelsOf(probs, 'output_token'),
    colLabels: positionLabels(vocab, tokens),
    scale: 'sequential',
    domain: [0, 1],
    xLabel: 'token (position)',
    yLabel: 'class',
    title: 'Predicted probability of each class at each position',
  };
}

/** The label row under the editor from the engine's predictions: label, prediction, P(label). */
export function predictionRows(pred, vocabOut) {
  return predictionsOf(pred).map((r) => ({ label: vocabOut[r.target], predicted: vocabOut[r.predicted], p: r.p, right: r.right }));
}

export function attentionView(pattern, vocab, tokens) {
  return {
    tokens: tokens.map((t) => vocab[t]),
    patterns: sub(pattern, 0),
    headLabels: labelsOf(pattern, 'head').map((h) => `L0 ${h}`),
  };
}

/** dla_by_label -> one bars figure per component: x = output class, one series per true label. */
export function dlaView(dla, component) {
  const comps = labelsOf(dla.mean, 'component');
  const c = comps.indexOf(component);
  if (c < 0) throw new Error(`dla_by_label has no component ${component} (it has ${comps.join(', ')})`);
  const outs = labelsOf(dla.mean, 'output_token');
  const series = labelsOf(dla.mean, 'label').map((label, l) => ({
    name: `true label ${label} (n=${dla.counts[l]})`,
    values: Array.from(sub(dla.mean, c, l).values),
    errors: Array.from(sub(dla.std, c, l).values),
  }));
  return { labels: outs, series, yLabel: 'direct logit attribution', title: `${component}: DLA to each class, split by the true label (mean ± std)` };
}

/** A spectrum's singular values as bars. */
export function singularValuesView(values, title) {
  return {
    labels: values.map((_, i) => `σ${i + 1}`),
    series: [{ name: 'singular value', values: Array.from(values) }],
    yLabel: 'singular value',
    title,
  };
}

/** Column 0 of a [token, sv] projection as bars over the tokens. */
export function projectionView(proj, axis, title) {
  return {
    labels: labelsOf(proj, axis),
    series: [{ name: 'projection on the first direction', values: column(proj, 0) }],
    yLabel: 'projection',
    title,
  };
}

/** A [thing, sv>=2] projection as a labelled 2-D scatter. */
export function planeView(proj, labels, title, group = () => '') {
  const k = proj.shape.at(-1);
  const points = labels.map((label, i) => ({ x: proj.values[i * k], y: proj.values[i * k + 1], label, group: group(label, i) }));
  // Colours go to groups in order of first appearance: negative first, positive next, as the bars.
  const order = ['negative', 'zero', 'positive'];
  const rank = (p) => (order.includes(p.group) ? order.indexOf(p.group) : order.length);
  return {
    points: points.sort((a, b) => rank(a) - rank(b)),
    xLabel: '1st singular direction of W_U',
    yLabel: '2nd singular direction of W_U',
    title,
  };
}

/** The sign group of a token string such as "-3", "+0", "+2". */
export function signOf(tok) {
  const v = Number(tok);
  return v < 0 ? 'negative' : v > 0 ? 'positive' : 'zero';
}

export function heatmapView(m, rowLabels, colLabels, xLabel, yLabel, title) {
  return { values: m, rowLabels, colLabels, xLabel, yLabel, title, scale: 'diverging' };
}

/** neurons_by_label -> bars: x = neuron, one series per true label, ± std. */
export function neuronsView(g) {
  return {
    labels: labelsOf(g.mean, 'neuron').map((n) => `n${n}`),
    series: labelsOf(g.mean, 'label').map((label, l) => ({
      name: `true label ${label}`,
      values: Array.from(sub(g.mean, l).values),
      errors: Array.from(sub(g.std, l).values),
    })),
    yLabel: 'mean activation',
    title: 'Neuron activations (post-ReLU), split by the true label (mean ± std)',
  };
}

// ---- numbers the text quotes -------------------------------------------------------------

/** σ1² / Σσ²: how much of the matrix the first direction carries. */
export function topShare(values) {
  const sq = Array.from(values, (s) => s * s);
  const total = sq.reduce((a, b) => a + b, 0);
  return total ? sq[0] / total : 0;
}

/** For the full OV [token, out]: on how many negative (positive) tokens does neg (pos) beat pos (neg). */
export function ovSigns(ov, vocab, vocabOut) {
  const c = classIndex(vocabOut);
  const k = ov.shape[1];
  let neg = 0;
  let nNeg = 0;
  let pos = 0;
  let nPos = 0;
  let zeroMax = 0;
  let allMax = 0;
  vocab.forEach((tok, i) => {
    const row = ov.values.slice(i * k, i * k + k);
    const lNeg = row[c.neg];
    const lPos = row[c.pos];
    const big = Math.max(...row.map(Math.abs));
    allMax = Math.max(allMax, big);
    if (signOf(tok) === 'negative') {
      nNeg++;
      neg += lNeg > lPos;
    } else if (signOf(tok) === 'positive') {
      nPos++;
      pos += lPos > lNeg;
    } else {
      zeroMax = big;
    }
  });
  return { neg, nNeg, pos, nPos, zeroRatio: allMax ? zeroMax / allMax : 0 };
}

/**
 * Sorts neurons by what they respond to: "negative" if their mean activation on neg-labelled
 * positions is more than twice that on pos-labelled ones, "positive" the other way round,
 * "quiet" if they never reach a tenth of the busiest neuron's mean.
 */
export function neuronKinds(g, vocabOut) {
  const c = classIndex(vocabOut);
  const [nLabels, nNeurons] = g.mean.shape;
  const at = (l, n) => g.mean.values[l * nNeurons + n];
  let busiest = 0;
  for (let l = 0; l < nLabels; l++) for (let n = 0; n < nNeurons; n++) busiest = Math.max(busiest, at(l, n));
  const kinds = { negative: [], positive: [], quiet: [], mixed: [] };
  for (let n = 0; n < nNeurons; n++) {
    const neg = at(c.neg, n);
    const pos = at(c.pos, n);
    if (Math.max(neg, pos, at(c.zero, n)) < 0.1 * busiest) kinds.quiet.push(n);
    else if (neg > 2 * pos) kinds.negative.push(n);
    else if (pos > 2 * neg) kinds.positive.push(n);
    else kinds.mixed.push(n);
  }
  return kinds;
}

/** How many neurons of `list` write more to `toward` than to `away` (neuron_logits [neuron, out]). */
export function neuronsPushing(logits, list, toward, away, vocabOut) {
  const k = logits.shape[1];
  const c = classIndex(vocabOut);
  const t = c[toward];
  const a = c[away];
  return list.filter((n) => logits.values[n * k + t] > logits.values[n * k + a]).length;
}

/** bias_logits [bias, out]: the biases whose zero logit beats both neg and pos; sum: {neg, zero, pos}. */
export function biasesFavouringZero(b, vocabOut) {
  const c = classIndex(vocabOut);
  const names = labelsOf(b, 'bias');
  const k = b.shape[1];
  const rows = names.map((name, i) => ({ name, row: b.values.slice(i * k, i * k + k) }));
  const total = (j) => rows.reduce((s, r) => s + r.row[j], 0);
  const sum = { neg: total(c.neg), zero: total(c.zero), pos: total(c.pos) };
  const favouring = rows.filter((r) => r.row[c.zero] > r.row[c.neg] && r.row[c.zero] > r.row[c.pos]).map((r) => r.name);
  return { favouring, count: rows.length, sum };
}

/** Mean |DLA| of a component over every (label, class) cell: how loudly it speaks. */
export function meanAbsDla(dla, component) {
  const c = labelsOf(dla.mean, 'component').indexOf(component);
  const v = sub(dla.mean, c).values;
  return v.reduce((s, x) => s + Math.abs(x), 0) / v.length;
}

/** |correlation| of column 0 of a [token, sv] projection with the token order: a number line? */
export function lineCorrelation(proj) {
  return Math.abs(correlationWithIndex(column(proj, 0)));
}

/** The label row under the editor, as <tl-table> data. */
export function labelTable(tokens, rows) {
  const all = (f) => rows.map(f);
  return {
    className: 'nb-labels',
    rows: [
      { head: 'position', cells: tokens.map((_, i) => String(i)), classes: tokens.map(() => 'muted') },
      { head: 'token', cells: tokens },
      { head: 'label', cells: all((r) => r.label) },
      { head: 'model says', cells: all((r) => r.predicted), classes: all((r) => (r.right ? 'pass' : 'fail')) },
      { head: 'P(label)', cells: all((r) => r.p) },
    ],
  };
}

/**
 * How surely `component` pushes toward the true sign: of the mean DLA [component, label, out],
 * the smaller of (neg − pos on neg-labelled positions) and (pos − neg on pos-labelled ones).
 * Positive when it pushes the right way on both.
 */
export function dlaSignMargin(dla, component, vocabOut) {
  const c = classIndex(vocabOut);
  const comp = labelsOf(dla.mean, 'component').indexOf(component);
  const labels = labelsOf(dla.mean, 'label');
  const row = (label) => sub(dla.mean, comp, labels.indexOf(vocabOut[c[label]])).values;
  const onNeg = row('neg');
  const onPos = row('pos');
  return Math.min(onNeg[c.neg] - onNeg[c.pos], onPos[c.pos] - onPos[c.neg]);
}

/** The cosine of rows `i` and `j` of a [thing, sv] projection, in its first two directions. */
export function planeCosine(proj, i, j) {
  const k = proj.shape.at(-1);
  const [xi, yi, xj, yj] = [proj.values[i * k], proj.values[i * k + 1], proj.values[j * k], proj.values[j * k + 1]];
  return (xi * xj + yi * yj) / (Math.hypot(xi, yi) * Math.hypot(xj, yj));
}

/**
 * Of the sign detectors `kinds` (neuronKinds), the share whose output direction (unembed_directions'
 * w_out, in W_U's plane) is closer in angle to their own class's (w_u) than to the other sign's.
 */
export function pointingShare(dirs, kinds, vocabOut) {
  const c = classIndex(vocabOut);
  const k = dirs.w_out.shape.at(-1);
  const ku = dirs.w_u.shape.at(-1);
  const cos = (n, cls) => {
    const [x, y] = [dirs.w_out.values[n * k], dirs.w_out.values[n * k + 1]];
    const [u, w] = [dirs.w_u.values[cls * ku], dirs.w_u.values[cls * ku + 1]];
    return (x * u + y * w) / (Math.hypot(x, y) * Math.hypot(u, w));
  };
  const right = kinds.negative.filter((n) => cos(n, c.neg) > cos(n, c.pos)).length + kinds.positive.filter((n) => cos(n, c.pos) > cos(n, c.neg)).length;
  const all = kinds.negative.length + kinds.positive.length;
  return all ? right / all : NaN;
}
