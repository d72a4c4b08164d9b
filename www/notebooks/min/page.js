// The min_of_two notebook page as data: every figure once (see ../declare.js for the fields).
// Analyses read the raw weights (the notebook processes nothing); the prose and the
// figures' places are in index.html.
import { correlationWithIndex, sub } from '../common.js';
import { heldOutFigure, standardFigures } from '../declare.js';
import { holds } from '../claims.js';
import * as v from './views.js';

const TASK = 'min';
export const EQUALS = 200; // the '=' token
const FROM_EQUALS = { analysis: 'attention_from', request: { opts: { query: -1 } } };

export default {
  task: TASK,
  title: 'The smaller of two numbers',
  example: [137, 42, EQUALS],
  // The URL's tokens= is a pair: a, b (numbers) and the = (see ../permalink.js); the engine's
  // labeller says what is wrong with any other.
  test: {
    edit: '5 180 =',
    number: { key: 'ov-diag-fraction', args: ['--what', 'ov_diag_top1'], value: (j) => j.values[0] },
  },
  figures: [
    // ---- static ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The pair (a, b) every example figure reads; the = stays put.' },
    ...standardFigures(TASK, { config: 'One attention head and nothing else: no MLP, no LayerNorm.' }),

    // ---- the reader's pair (cheapest first) ----
    {
      view: `${TASK}/prediction`,
      widget: 'text',
      follows: 'input',
      reads: { pred: { analysis: 'predictions' } },
      show: ({ pred }, { tokens }) => v.predictionText(pred, tokens),
      live: ({ pred }) => ({ 'example-p-true': v.prediction(pred).p }),
      claim: 'The model outputs min(a, b) at the = sign.',
      check: holds('example-p-true', '>', 0.5, 'P(min(a, b))'),
    },
    {
      view: `${TASK}/attention-example`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: { analysis: 'attention_pattern' } },
      show: ({ pattern }, { info, tokens }) => ({ tokens: tokens.map((t) => info.vocab[t]), patterns: sub(pattern, 0), headLabels: ['L0 H0'] }),
      live: ({ pattern }, { tokens }) => {
        const [toA, toB] = sub(pattern, 0, 0, 2).values;
        const [a, b] = tokens;
        return { 'example-smaller-minus-larger': a === b ? Math.abs(toA - toB) + Math.min(toA, toB) : a < b ? toA - toB : toB - toA };
      },
      claim: 'On the reader’s pair, = looks at the smaller number more than at the larger one.',
      check: holds('example-smaller-minus-larger', '>', 0, 'attention to the smaller − to the larger'),
    },
    {
      view: `${TASK}/attention-example-bars`,
      widget: 'bars',
      follows: 'input',
      reads: { from: FROM_EQUALS },
      show: ({ from }, { tokens: [a, b] }) => v.attentionBars(from, [`a = ${a}`, `b = ${b}`, '='], `Attention from = on [${a}, ${b}, =]`),
      live: ({ from }, { tokens: [a, b] }) => {
        const [toA, toB] = sub(from, 0).values;
        return { 'example-to-smaller': a === b ? toA + toB : a < b ? toA : toB };
      },
      claim: 'On the reader’s pair, most of the attention of = goes to the smaller number.',
      check: holds('example-to-smaller', '>', 0.5, 'attention to the smaller'),
    },

    // ---- the model (cheapest first: the engine returns the big maps slowly) ----
    // The whole held-out set (8000 pairs), first from its first 1000 (an eighth of them).
    heldOutFigure(TASK, { request: { limit: 8000 }, sample: 1000, what: 'the 8000 held-out pairs', scored: 'held-out pairs' }),
    {
      view: `${TASK}/full-ov`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: { analysis: 'full_ov' }, diag: { analysis: 'ov_diag_top1' } },
      show: ({ ov }) => v.squareHeatmap(ov, 'attended (source) token', 'output logit', 'Full OV circuit W_E·W_OV·W_U'),
      live: ({ diag }) => ({ 'ov-diag': diag.values[0] }),
      claim: 'The full OV circuit has a diagonal: in most rows the attended number’s own logit is the largest, so the head copies what it attends to.',
      check: holds('ov-diag', '>', 0.5, 'rows with the diagonal largest, share'),
    },
    {
      view: `${TASK}/ov-diagonal`,
      widget: 'stats',
      follows: 'timeline',
      reads: { diag: { analysis: 'ov_diag_top1' } },
      show: ({ diag }) => ({
        rows: [
          ['rows checked (the numbers; = is left out)', diag.n_rows],
          ['rows whose largest logit is on the diagonal', diag.values[0], 'ov-diag-fraction'],
        ],
      }),
      live: ({ diag }) => ({ 'ov-diag': diag.values[0] }),
      claim: 'Nearly every row of the full OV circuit has its largest logit on the diagonal.',
      notebook: 'rows with the diagonal largest: 0.995.',
      check: holds('ov-diag', '>=', 0.95, 'rows with the diagonal largest, share'),
    },
    {
      view: `${TASK}/full-qk`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { qk: { analysis: 'full_qk' } },
      show: ({ qk }) => v.squareHeatmap(qk, 'destination token', 'source token', 'Full QK circuit W_E·W_QK·W_Eᵀ'),
      live: ({ qk }) => {
        const spreads = v.rowSpreads(qk);
        return { 'qk-spread-ratio': spreads[EQUALS] / v.median(spreads.slice(0, EQUALS)) };
      },
      claim: 'Only the = row of the full QK circuit has structure: its spread is several times the other rows’.',
      check: holds('qk-spread-ratio', '>', 5, 'spread of the = row / median row’s'),
    },
    {
      view: `${TASK}/qk-eq-row`,
      widget: 'lines',
      follows: 'timeline',
      reads: { qk: { analysis: 'full_qk' } },
      show: ({ qk }) => v.qkRowView(v.qkRow(qk, EQUALS)),
      live: ({ qk }) => ({ 'qk-corr': correlationWithIndex(v.qkRow(qk, EQUALS)) }),
      claim: 'From =, the attention score falls as the number grows, so the smaller number wins the softmax.',
      check: holds('qk-corr', '<', -0.9, 'correlation of the score with the number'),
    },
    {
      view: `${TASK}/attention-mean`,
      widget: 'bars',
      follows: 'timeline',
      reads: { from: FROM_EQUALS },
      show: ({ from }) => v.attentionBars(from, ['a', 'b', '='], 'Mean attention from = over the held-out pairs'),
      live: ({ from }) => {
        const [toA, toB, toEq] = sub(from, 0).values;
        return { 'mean-to-a': toA, 'mean-to-b': toB, 'mean-to-eq': toEq, 'mean-imbalance': Math.abs(toA - toB) + toEq };
      },
      claim: 'Averaged over the held-out pairs, = attends to a and b about equally and hardly to itself.',
      check: holds('mean-imbalance', '<', 0.1, '|to a − to b| + to ='),
    },
    {
      view: `${TASK}/attention-mean-all`,
      widget: 'bars',
      follows: 'timeline',
      reads: { grid: { analysis: 'min_attention_grid' } },
      show: ({ grid }) => ({
        labels: ['a', 'b', '='],
        series: [{ name: 'attention from =', values: v.gridMeans(grid) }],
        yLabel: 'attention',
        title: 'Mean attention from = over all 40 000 pairs',
      }),
      live: ({ grid }) => {
        const [toA, toB, toEq] = v.gridMeans(grid);
        return { 'all-to-a': toA, 'all-to-b': toB, 'all-to-eq': toEq, 'all-imbalance': Math.abs(toA - toB) + toEq };
      },
      claim: 'Over all 40 000 pairs, as the notebook averages, = attends to a and b about equally and hardly to itself.',
      check: holds('all-imbalance', '<', 0.1, '|to a − to b| + to ='),
    },
    {
      view: `${TASK}/attention-to-a`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { grid: { analysis: 'min_attention_grid' } },
      show: ({ grid }) => v.gridView(grid, 'a'),
      live: ({ grid }) => ({ 'min-attended': v.minAttendedShare(grid), 'min-attended-a': v.minAttendedShare(grid, 'a') }),
      claim: 'Over all 40 000 pairs, = looks at a above the diagonal (a < b).',
      check: holds('min-attended-a', '>=', 0.95, 'pairs a < b with over half on a, share'),
    },
    {
      view: `${TASK}/attention-to-b`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { grid: { analysis: 'min_attention_grid' } },
      show: ({ grid }) => v.gridView(grid, 'b'),
      live: ({ grid }) => ({ 'min-attended-b': v.minAttendedShare(grid, 'b') }),
      claim: 'Over all 40 000 pairs, = looks at b below the diagonal (b < a).',
      check: holds('min-attended-b', '>=', 0.95, 'pairs b < a with over half on b, share'),
    },
  ],
};
