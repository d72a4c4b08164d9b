// addition: analysis JSON (as `toylens analyze` prints it) and training curves -> widget data
// and the numbers the text quotes. Pure functions: page.js declares which figure reads what.
import { labelsOf, sub } from '../common.js';

// The eval figures' sub-task blocks (Task::figures) and addition_examples' kinds, by the names
// the engine gives them.
export const CATEGORIES = ['BaseAdd', 'UseCarry1', 'UseSum9'];

const num = (v) => (v == null ? NaN : v);

/** A selected-checkpoint marker: a vertical segment at `step` spanning the figure's values. */
function marker(series, step, logY) {
  const span = spanOf(series, logY);
  if (step == null || !span) return [];
  return [{ name: 'selected checkpoint', x: [step, step], y: span }];
}

const spans = new WeakMap(); // series (as built by perLog) -> {linear, log}: [min, max] of their values
function spanOf(series, logY) {
  const key = logY ? 'log' : 'linear';
  const known = spans.get(series) ?? {};
  if (!(key in known)) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (const y of s.y) {
        if (Number.isFinite(y) && (!logY || y > 0)) {
          lo = Math.min(lo, y);
          hi = Math.max(hi, y);
        }
      }
    }
    known[key] = lo <= hi ? [lo, hi] : null;
    spans.set(series, known);
  }
  return known[key];
}

// A training log's figures follow the selected model only in their marker and title: their
// series are built once per state of the log, and the same arrays drawn again let <tl-lines>
// keep its paths (a timeline move redrew eight figures of 3000-step curves, ~50 ms each, while
// the reader waited for the three in view). A log grows by appends (a reader's run) or is
// replaced, so its arrays and their lengths name its state.
const logs = new WeakMap(); // curves.train -> {eval, state, built: Map(key -> value)}
function perLog(curves, key, build) {
  const state = `${curves.train.length}/${curves.eval.length}`;
  let log = logs.get(curves.train);
  if (!log || log.eval !== curves.eval || log.state !== state) {
    log = { eval: curves.eval, state, built: new Map() };
    logs.set(curves.train, log);
  }
  if (!log.built.has(key)) log.built.set(key, build());
  return log.built.get(key);
}

function withFigures(curves) {
  return curves.eval.filter((e) => e.figures && !e.figures.error);
}

// ---- every training batch: the notebook's curves (Task::step_figures, logged at each step) ----

/** The training points that carry their batch's figures (the pretrained log, a reader's run). */
function batches(curves) {
  return curves.train.filter((p) => p.figures);
}

// A sub-task's per-digit fields in the step figures (tasks::addition::NotebookLosses).
const PREFIX = { BaseAdd: 'ba', UseCarry1: 'uc1', UseSum9: 'us9' };

const lossTitle = (what, logY) => `${what}${logY ? ', log scale' : ''}`;

function lineFigure(series, model, logY, title) {
  return { series: [...series, ...marker(series, model?.step, logY)], xLabel: 'step', yLabel: logY ? 'loss (log scale)' : 'loss', logY, title };
}

/** Each answer digit's loss on every training batch (the notebook's "tok 0" … "tok 5"), with the batch's loss. */
export function batchDigitCurves(curves, model, { logY = false } = {}) {
  const series = perLog(curves, 'batch digits', () => {
    const pts = batches(curves);
    const x = pts.map((p) => p.step);
    const names = digitNames(pts[0]?.figures.per_token.length ?? 0);
    const all = [{ name: 'all digits (the training loss)', x, y: pts.map((p) => p.loss) }];
    names.forEach((d, k) => all.push({ name: `digit ${d}`, x, y: pts.map((p) => num(p.figures.per_token[k])) }));
    return all;
  });
  return lineFigure(series, model, logY, lossTitle(`Loss per answer digit, every training batch (${model?.label ?? ''})`, logY));
}

/**
 * One sub-task's loss in column `d` (0 = units) on every batch; a batch without a case of it
 * keeps the last value, as the notebook draws it (NaN before the first case).
 */
function columnSeries(pts, category, d) {
  // The field names once, not per batch: the loop runs over the whole log (3000 batches, for
  // 15 series), on a cold load before the JIT has warmed up.
  const cases = `${PREFIX[category]}_perdigit_cases`;
  const loss = `${PREFIX[category]}_perdigit`;
  let last = NaN;
  return pts.map(({ figures }) => {
    if (figures[cases][d] > 0) last = num(figures[loss][d]);
    return last;
  });
}

/** Each column (units first) where a sub-task has a case in some batch: its index and per-batch loss. */
function columnsWithCases(pts, category) {
  const columns = pts[0]?.figures[`${PREFIX[category]}_perdigit`].length ?? 0;
  return Array.from({ length: columns }, (_, d) => ({ d, y: columnSeries(pts, category, d) })).filter((c) => c.y.some(Number.isFinite));
}

/** Each sub-task with a case in `column` ("100s") in some batch: its name and per-batch loss. */
function subTasksWithCases(pts, column) {
  const d = Math.round(Math.log10(parseInt(column, 10)));
  return CATEGORIES.map((c) => ({ c, y: columnSeries(pts, c, d) })).filter(({ y }) => y.some(Number.isFinite));
}

/**
 * The training batches' cases of each sub-task, summed over every column and batch as the
 * notebook counts them, with their shares; and the sums with one and with two UseSum9 columns.
 */
export function caseCounts(curves) {
  const pts = batches(curves);
  const total = (key) => pts.reduce((a, p) => a + p.figures[key].reduce((x, y) => x + y, 0), 0);
  const c = Object.fromEntries(Object.entries(PREFIX).map(([name, k]) => [name, total(`${k}_perdigit_cases`)]));
  const all = c.BaseAdd + c.UseCarry1 + c.UseSum9;
  const share = Object.fromEntries(Object.entries(c).map(([name, n]) => [name, all ? n / all : NaN]));
  return {
    cases: c,
    share,
    oneNine: pts.reduce((a, p) => a + p.figures.us9_onedigit_cases, 0),
    twoNines: pts.reduce((a, p) => a + p.figures.us9_twodigits_cases, 0),
    batches: pts.length,
  };
}

const pct = (x) => `${Math.round(100 * x)}%`;

/** The notebook's whole-sum curves: BaseAdd over all digits, UseCarry1 over any, UseSum9 in one and in two columns. */
export function aggregateCurves(curves, model, { logY = false } = {}) {
  const series = perLog(curves, 'aggregate', () => {
    const pts = batches(curves);
    const x = pts.map((p) => p.step);
    const n = caseCounts(curves);
    const y = (key) => pts.map((p) => num(p.figures[key]));
    return [
      { name: `BaseAdd, all digits (${n.cases.BaseAdd} column cases, ${pct(n.share.BaseAdd)})`, x, y: y('ba_alldigits') },
      { name: `UseCarry1, any digit (${n.cases.UseCarry1}, ${pct(n.share.UseCarry1)})`, x, y: y('uc1_anydigits') },
      { name: `UseSum9 in one column (${n.oneNine} sums)`, x, y: y('us9_onedigit') },
      { name: `UseSum9 in two columns (${n.twoNines} sums)`, x, y: y('us9_twodigits') },
    ];
  });
  return lineFigure(series, model, logY, lossTitle('Sub-tasks over whole sums, every training batch', logY));
}

/** One sub-task's loss per column (units first) on every training batch. */
export function categoryBatchCurves(curves, model, category, { logY = true } = {}) {
  const series = perLog(curves, `category ${category}`, () => {
    const pts = batches(curves);
    const x = pts.map((p) => p.step);
    return columnsWithCases(pts, category).map(({ d, y }) => ({ name: `${10 ** d}s column`, x, y }));
  });
  const n = perLog(curves, 'case counts', () => caseCounts(curves));
  const none = category === 'BaseAdd' ? '' : '; the 1s column never receives a carry';
  return lineFigure(series, model, logY, lossTitle(`${category}: loss per column, every training batch (${n.cases[category]} cases, ${pct(n.share[category])}${none})`, logY));
}

/** The three sub-tasks' loss in one column on every training batch. */
export function columnBatchCurves(curves, model, column, { logY = true } = {}) {
  const series = perLog(curves, `column ${column}`, () => {
    const pts = batches(curves);
    const x = pts.map((p) => p.step);
    return subTasksWithCases(pts, column).map(({ c, y }) => ({ name: c, x, y }));
  });
  return lineFigure(series, model, logY, lossTitle(`The ${column} column: loss of each sub-task, every training batch`, logY));
}

/**
 * The first step from which `window` batches in a row average under `below` (null: not yet):
 * when a noisy per-batch curve has dropped for good.
 */
export function settledBelow(x, y, below = 0.5, window = 20) {
  for (let i = 0; i + window <= y.length; i++) {
    let sum = 0;
    let n = 0;
    for (let j = i; j < i + window; j++) {
      if (Number.isFinite(y[j])) {
        sum += y[j];
        n++;
      }
    }
    if (n && sum / n < below) return x[i];
  }
  return null;
}

/** Per answer digit (carry first), the step its per-batch loss settled under `below` (null: not yet). */
export function batchDigitDrops(curves, below = 0.5) {
  const pts = batches(curves);
  const x = pts.map((p) => p.step);
  const n = pts[0]?.figures.per_token.length ?? 0;
  return Array.from({ length: n }, (_, k) => settledBelow(x, pts.map((p) => num(p.figures.per_token[k])), below));
}

/** Per column with cases (units first), the step a sub-task's per-batch loss settled under `below`. */
export function batchColumnDrops(curves, category, below = 0.5) {
  const pts = batches(curves);
  const x = pts.map((p) => p.step);
  return columnsWithCases(pts, category).map(({ y }) => settledBelow(x, y, below));
}

/** Named steps as text: "100000s 412, 10000s not yet, …". */
export function stepsText(steps, names) {
  return steps.map((s, k) => `${names[k]} ${s ?? 'not yet'}`).join(', ') || 'no training batches yet';
}

/** Each answer digit's mean loss over the last `n` training batches (NaN before any). */
export function recentDigitLosses(curves, n = 20) {
  const pts = batches(curves).slice(-n);
  const k = pts[0]?.figures.per_token.length ?? 0;
  if (!pts.length) return [NaN];
  return Array.from({ length: k }, (_, d) => pts.reduce((a, p) => a + num(p.figures.per_token[d]), 0) / pts.length);
}

/**
 * When the whole-sum curves settled under 0.5: BaseAdd over all digits, UseCarry1 over any,
 * UseSum9 in one column; and whether the UseSum9 one settled, not before the other two.
 */
export function aggregateDrops(curves, below = 0.5) {
  const pts = batches(curves);
  const x = pts.map((p) => p.step);
  const at = (key) => settledBelow(x, pts.map((p) => num(p.figures[key])), below);
  const [ba, uc1, us9] = [at('ba_alldigits'), at('uc1_anydigits'), at('us9_onedigit')];
  const text = `BaseAdd ${ba ?? 'not yet'}, UseCarry1 ${uc1 ?? 'not yet'}, UseSum9 ${us9 ?? 'not yet'}`;
  const sum9Last = us9 != null && ba != null && uc1 != null && us9 >= Math.max(ba, uc1) ? 1 : 0;
  return { text, sum9Last };
}

/** In `column` ("100s"), the step each sub-task it has settled under `below` (null: not yet). */
export function columnDrops(curves, column, below = 0.5) {
  const pts = batches(curves);
  const x = pts.map((p) => p.step);
  return Object.fromEntries(subTasksWithCases(pts, column).map(({ c, y }) => [c, settledBelow(x, y, below)]));
}

/** The steps between the first and the last of the learned ones of `steps` (null: not yet). */
export function dropSpread(steps) {
  const s = steps.filter((v) => v != null);
  return s.length ? Math.max(...s) - Math.min(...s) : 0;
}

// ---- the held-out evaluations ----

/**
 * Training loss of every batch, and each answer digit's held-out loss at every evaluation
 * (the eval figures' digit_loss, reading order: the carry digit first).
 */
export function digitCurves(curves, model, { logY = false } = {}) {
  const series = perLog(curves, 'held-out digits', () => {
    const ev = withFigures(curves);
    const names = ev[0]?.figures.digits ?? [];
    const all = [{ name: 'training loss (each batch)', x: curves.train.map((p) => p.step), y: curves.train.map((p) => p.loss) }];
    names.forEach((d, k) => all.push({ name: `digit ${d}`, x: ev.map((e) => e.step), y: ev.map((e) => num(e.figures.digit_loss[k])) }));
    return all;
  });
  return {
    series: [...series, ...marker(series, model?.step, logY)],
    xLabel: 'step',
    yLabel: logY ? 'loss (log scale)' : 'loss',
    logY,
    title: `Loss per answer digit, held-out${logY ? ', log scale' : ''} (${model?.label ?? ''})`,
  };
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

/**
 * The notebook generator's attributes of each column of one sum (addition_losses.categories):
 * its digit sum (BaseAdd), MakeCarry1, Sum9, UseCarry1 and UseSum9, under the answer digits.
 */
export function generatorRows(l, row = 0) {
  const c = l.categories;
  const line = (head, values, flag = true) => ({ head, cells: ['', ...values[row].map((v) => (flag ? (v ? 'yes' : '·') : String(v)))] });
  return [
    line('BaseAdd (digit sum)', c.base_adds, false),
    line('MakeCarry1', c.make_carry1s),
    line('Sum9', c.sum9s),
    line('UseCarry1', c.use_carry1s),
    line('UseSum9', c.use_sum9s),
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
      ...generatorRows(losses),
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

/** One row of an [x, digit] table, by its label, as an array. */
function rowOf(t, row) {
  return Array.from(sub(t, t.labels[t.axes[0]].indexOf(row)).values);
}

/** The mean over the answer digits of one row of an [x, digit] table. */
export function rowMean(t, row) {
  const v = rowOf(t, row);
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

/** head_dla -> bars per head: direct logit attribution to the right digit. */
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

/** addition_examples -> the `j`-th sum of one kind and its attention patterns. */
export function exampleAttention(ex, kind, vocab, j = 0) {
  const i = ex.categories.indexOf(kind);
  if (i < 0) throw new Error(`the held-out sums have no ${kind} example (kinds: ${ex.categories.join(', ')})`);
  const k = Math.min(j, ex.rows[i].length - 1);
  return {
    tokens: ex.tokens[i][k].map((t) => vocab[t]),
    patterns: sub(ex.pattern, i, k),
    headLabels: labelsOf(ex.pattern, 'head').map((h) => `L0${h}`),
  };
}

/** addition_examples: the `j`-th sum of a kind as the notebook writes it (empty when none). */
export function exampleSum(ex, kind, vocab, j = 0) {
  const i = ex.categories.indexOf(kind);
  return i < 0 ? '' : sumText(ex.tokens[i][Math.min(j, ex.rows[i].length - 1)], vocab);
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

/** The eval steps at which each answer digit's held-out loss first went under `below` (null: not yet). */
export function digitDropSteps(curves, below = 0.5) {
  const ev = withFigures(curves);
  const names = ev[0]?.figures.digits ?? [];
  return names.map((_, k) => ev.find((e) => num(e.figures.digit_loss[k]) < below)?.step ?? null);
}

/** How many distinct steps the learned ones of `steps` (null: not yet) dropped at. */
export function distinctDrops(steps) {
  return new Set(steps.filter((s) => s != null)).size;
}

/**
 * addition_examples: of each head at each position that predicts an answer digit, the share
 * where the example of `kind` puts its most attention on the same column (its two operand
 * digits) as the mean pattern does.
 */
export function sameColumns(ex, kind, j = 0, digits = 5) {
  const i = ex.categories.indexOf(kind);
  if (i < 0) return NaN;
  const [, , h, q, k] = ex.pattern.shape;
  const one = sub(ex.pattern, i, Math.min(j, ex.rows[i].length - 1)).values;
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

/** The smallest rise of a digit's loss, from digit `from` on, when `row` is ablated: its loss in
 * addition_digit_ablation's [ablated, digit] table minus the unablated ('none') loss of that
 * digit. A rise, not a level: an untrained model's loss is already high with nothing ablated,
 * and ablating cannot destroy what it has not learned. */
export function rowRiseMin(t, row, from = 0) {
  const none = rowOf(t, 'none');
  return Math.min(...rowOf(t, row).map((l, d) => l - none[d]).slice(from));
}
