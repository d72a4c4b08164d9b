// addition: analysis JSON (as `toylens analyze` prints it) and training curves -> widget data
// and the numbers the text quotes. Pure functions: page.js declares which figure reads what.
import { labelsOf, sub } from '../common.js';

// The eval figures' sub-task blocks (Task::figures) and addition_examples' kinds, by the names
// the engine gives them.
export const CATEGORIES = ['BaseAdd', 'UseCarry1', 'UseSum9'];

const num = (v) => (v == null ? NaN : v);

/** A selected-checkpoint marker: a vertical segment at `step` spanning the figure's values. */
function marker(series, step, logY) {
  const ys = series.flatMap((s) => s.y).filter((y) => Number.isFinite(y) && (!logY || y > 0));
  if (step == null || !ys.length) return [];
  return [{ name: 'selected checkpoint', x: [step, step], y: [Math.min(...ys), Math.max(...ys)] }];
}

function withFigures(curves) {
  return curves.eval.filter((e) => e.figures && !e.figures.error);
}

/**
 * Training loss of every batch, and each answer digit's held-out loss at every evaluation
 * (the eval figures' digit_loss, reading order: the carry digit first).
 */
export function digitCurves(curves, model, { logY = false } = {}) {
  const ev = withFigures(curves);
  const names = ev[0]?.figures.digits ?? [];
  const series = [{ name: 'training loss (each batch)', x: curves.train.map((p) => p.step), y: curves.train.map((p) => p.loss) }];
  names.forEach((d, k) => series.push({ name: `digit ${d}`, x: ev.map((e) => e.step), y: ev.map((e) => num(e.figures.digit_loss[k])) }));
  return {
    series: [...series, ...marker(series, model?.step, logY)],
    xLabel: 'step',
    yLabel: logY ? 'loss (log scale)' : 'loss',
    logY,
    title: `Loss per answer digit, held-out${logY ? ', log scale' : ''} (${model?.label ?? ''})`,
  };
}

/** One sub-task's held-out loss per column (units first), over training. */
export function categoryCurves(curves, model, category) {
  const ev = withFigures(curves);
  const columns = ev[0]?.figures.columns ?? [];
  const series = [];
  columns.forEach((c, k) => {
    const y = ev.map((e) => num(e.figures[category].loss[k]));
    if (y.some(Number.isFinite)) series.push({ name: `${c} column`, x: ev.map((e) => e.step), y });
  });
  return {
    series: [...series, ...marker(series, model?.step, true)],
    xLabel: 'step',
    yLabel: 'loss (log scale)',
    logY: true,
    title: `${category}: held-out loss per column`,
  };
}

/** The three sub-tasks' held-out loss for one column, over training. */
export function columnCurves(curves, model, column) {
  const ev = withFigures(curves);
  const k = ev[0]?.figures.columns.indexOf(column) ?? -1;
  const series = [];
  if (k >= 0) {
    for (const c of CATEGORIES) {
      const y = ev.map((e) => num(e.figures[c].loss[k]));
      if (y.some(Number.isFinite)) series.push({ name: c, x: ev.map((e) => e.step), y });
    }
  }
  return {
    series: [...series, ...marker(series, model?.step, true)],
    xLabel: 'step',
    yLabel: 'loss (log scale)',
    logY: true,
    title: `The ${column} column: held-out loss of each sub-task`,
  };
}

/** The first evaluation at which a sub-task's loss in `column` is below `below` (null: not yet). */
export function firstBelow(curves, category, column, below) {
  const ev = withFigures(curves);
  const k = ev[0]?.figures.columns.indexOf(column) ?? -1;
  return ev.find((e) => num(e.figures[category].loss[k]) < below)?.step ?? null;
}

/** The names of `n` answer digits, the carry first: "100000s" … "1s" (as the engine names them). */
export function digitNames(n) {
  return Array.from({ length: n }, (_, k) => `${10 ** (n - 1 - k)}s`);
}

/** The answer digits' names, carry first ("100000s" … "1s"), from an addition_* table. */
export function digitsOf(table) {
  return labelsOf(table.loss, 'digit');
}

/**
 * addition_losses -> per answer digit (reading order): the loss over all sums and over each
 * sub-task's cases (the leading carry digit has no column, so no sub-task).
 */
export function digitLosses(l) {
  const n = l.per_token.length;
  const cat = (values, cases) => Array.from({ length: n }, (_, k) => (k === 0 || !cases[n - 1 - k] ? NaN : values[n - 1 - k]));
  return {
    all: l.per_token,
    BaseAdd: cat(l.ba_perdigit, l.ba_perdigit_cases),
    UseCarry1: cat(l.uc1_perdigit, l.uc1_perdigit_cases),
    UseSum9: cat(l.us9_perdigit, l.us9_perdigit_cases),
  };
}

export function categoryBars(l, digits) {
  const d = digitLosses(l);
  return {
    labels: digits,
    series: [{ name: 'all sums', values: d.all }, ...CATEGORIES.map((c) => ({ name: c, values: d[c] }))],
    yLabel: 'held-out loss',
    title: 'Loss per answer digit, by sub-task of its column',
  };
}

/** Each column's sub-task in one sum (addition_losses.categories, column 0 = most significant). */
export function columnKinds(l, row = 0) {
  const c = l.categories;
  return [
    'carry out',
    ...c.use_carry1s[row].map((use, col) => (!use ? 'BaseAdd' : c.sum9s[row][col] ? 'UseSum9' : 'UseCarry1')),
  ];
}

/** The reader's sum: right answer, the model's digits and loss, and each column's sub-task. */
export function sumTable(tokens, labels, abl, losses) {
  const digits = digitsOf(abl);
  const n = digits.length;
  const first = tokens.length - n - 1;
  const right = Array.from(labels.slice(first, first + n));
  const said = Array.from(sub(abl.predicted, 0).values);
  const loss = Array.from(sub(abl.loss, 0).values);
  return {
    className: 'nb-labels',
    rows: [
      { head: 'answer digit', cells: digits, classes: digits.map(() => 'muted') },
      { head: 'sub-task', cells: columnKinds(losses) },
      { head: 'right digit', cells: right.map(String) },
      { head: 'model says', cells: said.map(String), classes: said.map((d, k) => (d === right[k] ? 'pass' : 'fail')) },
      { head: 'loss', cells: loss },
    ],
  };
}

export function sumRight(tokens, labels, abl) {
  const n = digitsOf(abl).length;
  const first = tokens.length - n - 1;
  const said = Array.from(sub(abl.predicted, 0).values);
  return said.filter((d, k) => d === labels[first + k]).length;
}

/** addition_digit_ablation on one sum: the answer the model gives with each part ablated. */
export function ablationAnswers(abl, labels, tokens) {
  const digits = digitsOf(abl);
  const n = digits.length;
  const first = tokens.length - n - 1;
  const right = Array.from(labels.slice(first, first + n));
  const rows = labelsOf(abl.predicted, 'ablated');
  return {
    className: 'nb-labels',
    rows: [
      { head: 'ablated', cells: digits, classes: digits.map(() => 'muted') },
      ...rows.map((r, i) => {
        const said = Array.from(sub(abl.predicted, i).values);
        return { head: r === 'none' ? 'nothing (the model)' : r, cells: said.map(String), classes: said.map((d, k) => (d === right[k] ? 'pass' : 'fail')) };
      }),
    ],
  };
}

/** Digits right (of n) in one ablated row of a one-sum table. */
export function rowRight(abl, labels, tokens, row) {
  const n = digitsOf(abl).length;
  const first = tokens.length - n - 1;
  const i = labelsOf(abl.predicted, 'ablated').indexOf(row);
  return Array.from(sub(abl.predicted, i).values).filter((d, k) => d === labels[first + k]).length;
}

/** addition_digit_ablation -> heatmap: rows = what is ablated, columns = answer digit. */
export function ablationHeatmap(abl, what) {
  const rows = labelsOf(abl.loss, 'ablated').map((r) => (r === 'none' ? 'nothing' : r));
  return {
    values: abl.loss,
    rowLabels: rows,
    colLabels: digitsOf(abl),
    scale: 'sequential',
    // One colour range for the zero and the mean figure (wider only when a loss is beyond it).
    domain: [0, Math.max(6, ...Array.from(abl.loss.values).filter(Number.isFinite))],
    xLabel: 'answer digit',
    yLabel: `${what}-ablated`,
    title: `Held-out loss per answer digit, ${what}-ablating each part`,
  };
}

/** The mean over the answer digits of one row of an [x, digit] table. */
export function rowMean(t, row) {
  const i = t.labels[t.axes[0]].indexOf(row);
  const v = Array.from(sub(t, i).values);
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** The head whose ablation costs the most (largest mean loss over the digits). */
export function worstHead(t) {
  const rows = t.labels[t.axes[0]].filter((r) => r !== 'none' && !/attn|mlp/.test(r));
  return rows.reduce((best, r) => (rowMean(t, r) > rowMean(t, best) ? r : best), rows[0]);
}

// logit_lens' point names -> what the residual stream holds there.
function pointName(p) {
  const m = /^(\d+)_(pre|mid)$/.exec(p);
  if (m && m[2] === 'pre') return Number(m[1]) === 0 ? 'embeddings' : `after block ${Number(m[1]) - 1}`;
  if (m) return `+ attention L${m[1]}`;
  return p === 'final_post' ? '+ MLP: the output' : p;
}

/** addition_logit_lens -> grouped bars: per answer digit, the lens' accuracy at each point. */
export function lensBars(lens, key = 'accuracy') {
  const points = labelsOf(lens[key], 'point');
  return {
    labels: digitsOf(lens),
    series: points.map((p, i) => ({ name: pointName(p), values: Array.from(sub(lens[key], i).values) })),
    yLabel: key === 'accuracy' ? 'accuracy of the lens' : 'logit of the right digit',
    title: key === 'accuracy' ? 'Logit lens: accuracy read from the residual stream at each point' : 'Logit lens: logit of the right digit at each point',
  };
}

/** head_attribution -> bars per head: direct logit attribution to the right digit. */
export function headDla(h) {
  return {
    labels: labelsOf(h.dla, 'head').map((x) => `L0${x}`),
    series: [{ name: 'direct logit attribution', values: Array.from(h.dla.values) }],
    yLabel: 'mean logit written to the right digit',
    title: 'Each head’s direct effect on the right digit’s logit',
  };
}

/** addition_digit_ablation (zero, mean) -> bars per head: the loss over the digits with it ablated. */
export function headAblation(zero, mean) {
  const heads = labelsOf(zero.loss, 'ablated').filter((r) => /^L\d+H\d+$/.test(r));
  return {
    labels: heads,
    series: [
      { name: 'zero-ablated', values: heads.map((h) => rowMean(zero.loss, h)) },
      { name: 'mean-ablated', values: heads.map((h) => rowMean(mean.loss, h)) },
      { name: 'nothing ablated', values: heads.map(() => rowMean(zero.loss, 'none')) },
    ],
    yLabel: 'held-out loss (mean over the digits)',
    title: 'The loss with each head ablated',
  };
}

/** addition_examples -> one kind's sum and its attention patterns. */
export function exampleAttention(ex, kind, vocab) {
  const i = ex.categories.indexOf(kind);
  if (i < 0) throw new Error(`the held-out sums have no ${kind} example (kinds: ${ex.categories.join(', ')})`);
  return {
    tokens: ex.tokens[i].map((t) => vocab[t]),
    patterns: sub(ex.pattern, i),
    headLabels: labelsOf(ex.pattern, 'head').map((h) => `L0${h}`),
  };
}

/** The sum as the notebook writes it: 77426+17611=095037. */
export function sumText(tokens, vocab) {
  return tokens.map((t) => vocab[t]).join('');
}

/**
 * addition_examples' mean pattern [head, query, key] -> which heads read the answer digit's own
 * column and which the column to its right, with their mean attention there (answer
 * positions that have such a column only).
 */
export function columnReaders(mean, digits = 5) {
  const [h, q, k] = mean.shape;
  const at = (head, qi, ki) => mean.values[(head * q + qi) * k + ki];
  const share = (head, shift) => {
    let sum = 0;
    let n = 0;
    for (let d = 1; d <= digits; d++) {
      const col = d - 1 + shift; // operand column read for answer digit d (0 = most significant)
      if (col >= digits) continue;
      const query = 2 * digits + 1 + d; // the position predicting answer digit d (the = predicts digit 0)
      sum += at(head, query, col) + at(head, query, digits + 1 + col);
      n++;
    }
    return sum / n;
  };
  const names = labelsOf(mean, 'head').map((x) => `L0${x}`);
  const own = [];
  const next = [];
  for (let head = 0; head < h; head++) {
    if (share(head, 0) > 0.5) own.push(head);
    else if (share(head, 1) > 0.5) next.push(head);
  }
  const avg = (hs, shift) => (hs.length ? hs.reduce((a, x) => a + share(x, shift), 0) / hs.length : NaN);
  return { own: own.map((x) => names[x]), next: next.map((x) => names[x]), ownShare: avg(own, 0), nextShare: avg(next, 1) };
}

/** Token names for a pattern averaged over sums: a1…a5 + b1…b5 = s1…s6 (most significant first). */
export function genericSum(digits = 5) {
  const seq = (c, n) => Array.from({ length: n }, (_, i) => `${c}${i + 1}`);
  return [...seq('a', digits), '+', ...seq('b', digits), '=', ...seq('s', digits + 1)];
}

/** The first step at which each answer digit's held-out loss is under `below`, as text. */
export function digitSteps(curves, below = 0.5) {
  const ev = withFigures(curves);
  const names = ev[0]?.figures.digits ?? [];
  return names.map((d, k) => `${d} ${ev.find((e) => num(e.figures.digit_loss[k]) < below)?.step ?? 'not yet'}`).join(', ') || 'no evaluations yet';
}

/** The held-out UseSum9 cases per column (the last evaluation's counts), as text. */
export function sum9Cases(curves) {
  const last = withFigures(curves).at(-1);
  return last ? last.figures.UseSum9.count.filter((c) => c > 0).join(', ') : '—';
}

/** The eval steps at which each answer digit's held-out loss first went under `below` (null: not yet). */
export function digitDropSteps(curves, below = 0.5) {
  const ev = withFigures(curves);
  const names = ev[0]?.figures.digits ?? [];
  return names.map((_, k) => ev.find((e) => num(e.figures.digit_loss[k]) < below)?.step ?? null);
}

/** The same for one sub-task, per column (columns without cases left out). */
export function categoryDropSteps(curves, category, below = 0.5) {
  const ev = withFigures(curves);
  const columns = ev[0]?.figures.columns ?? [];
  return columns
    .map((_, k) => (ev.some((e) => Number.isFinite(num(e.figures[category].loss[k]))) ? (ev.find((e) => num(e.figures[category].loss[k]) < below)?.step ?? null) : undefined))
    .filter((s) => s !== undefined);
}

/** How many distinct steps the learned ones of `steps` (null: not yet) dropped at. */
export function distinctDrops(steps) {
  return new Set(steps.filter((s) => s != null)).size;
}

/** The latest evaluation's held-out loss of each answer digit (NaN before any). */
export function lastDigitLosses(curves) {
  const last = withFigures(curves).at(-1);
  return last ? last.figures.digit_loss.map(num) : [NaN];
}

/**
 * addition_examples: of each head at each position that predicts an answer digit, the share
 * where the example of `kind` puts its most attention on the same column (its two operand
 * digits) as the mean pattern does.
 */
export function sameColumns(ex, kind, digits = 5) {
  const i = ex.categories.indexOf(kind);
  if (i < 0) return NaN;
  const [, h, q, k] = ex.pattern.shape;
  const one = sub(ex.pattern, i).values;
  const best = (values, head, qi) => {
    const at = (c) => values[(head * q + qi) * k + c] + values[(head * q + qi) * k + digits + 1 + c];
    let top = 0;
    for (let c = 1; c < digits; c++) if (at(c) > at(top)) top = c;
    return top;
  };
  let same = 0;
  let n = 0;
  for (let head = 0; head < h; head++) {
    for (let qi = 2 * digits + 1; qi < q - 1; qi++) {
      same += best(one, head, qi) === best(ex.mean_pattern.values, head, qi);
      n++;
    }
  }
  return same / n;
}

/**
 * attention_pattern [batch, head, query, key] of one sum: from each position that predicts an
 * answer digit, each head's largest attention on one column's two operand digits, averaged.
 */
export function columnFocus(pattern, digits = 5) {
  const [, h, q, k] = pattern.shape;
  let sum = 0;
  let n = 0;
  for (let head = 0; head < h; head++) {
    for (let qi = 2 * digits + 1; qi < q - 1; qi++) {
      let best = 0;
      for (let c = 0; c < digits; c++) best = Math.max(best, pattern.values[(head * q + qi) * k + c] + pattern.values[(head * q + qi) * k + digits + 1 + c]);
      sum += best;
      n++;
    }
  }
  return sum / n;
}

/** The smallest loss of a row of addition_digit_ablation's loss [ablated, digit], from digit `from`. */
export function rowMin(t, row, from = 0) {
  const i = t.labels[t.axes[0]].indexOf(row);
  return Math.min(...Array.from(sub(t, i).values).slice(from));
}
