// The min_of_two notebook page as data: every figure once (see ../declare.js for the fields).
// Analyses read the raw weights (the notebook processes nothing); the prose and the
// figures' places are in index.html.
import { correlationWithIndex, sub } from '../common.js';
import { standardFigures } from '../declare.js';
import * as v from './views.js';

const TASK = 'min';
export const EQUALS = 200; // the '=' token
const FROM_EQUALS = { analysis: 'attention_from', request: { opts: { query: -1 } } };

export default {
  task: TASK,
  title: 'The smaller of two numbers',
  example: [137, 42, EQUALS],
  // The URL's tokens= is a pair: a, b (numbers) and the = (see ../permalink.js).
  state: {
    tokens: ([a, b, eq, ...rest]) => (rest.length || eq !== EQUALS || !(a < EQUALS && b < EQUALS) ? `a pair is three tokens: a, b (0 to ${EQUALS - 1}) and = (${EQUALS})` : ''),
  },
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
      reads: { labels: { op: 'task_label' }, probs: { analysis: 'probs' } },
      show: ({ labels, probs }, { tokens }) => v.predictionText(probs, labels[2], tokens),
      claim: 'The model outputs min(a, b) at the = sign.',
      checks: 'example-prediction',
    },
    {
      view: `${TASK}/attention-example`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: { analysis: 'attention_pattern' } },
      show: ({ pattern }, { info, tokens }) => ({ tokens: tokens.map((t) => info.vocab[t]), patterns: sub(pattern, 0), headLabels: ['L0 H0'] }),
      claim: 'On the reader’s pair, = looks at the smaller number.',
    },
    {
      view: `${TASK}/attention-example-bars`,
      widget: 'bars',
      follows: 'input',
      reads: { from: FROM_EQUALS },
      show: ({ from }, { tokens: [a, b] }) => v.attentionBars(from, [`a = ${a}`, `b = ${b}`, '='], `Attention from = on [${a}, ${b}, =]`),
      claim: 'On the reader’s pair, most of the attention of = goes to the smaller number.',
    },

    // ---- the model (cheapest first: the engine returns the big maps slowly) ----
    {
      view: `${TASK}/held-out`,
      widget: 'stats',
      follows: 'timeline',
      reads: { loss: { analysis: 'loss' } },
      show: ({ loss }) => ({
        rows: [
          ['held-out pairs', loss.n_scored],
          ['cross-entropy loss', loss.loss],
          ['accuracy', loss.accuracy, 'held-out-accuracy'],
          ['median P(correct)', loss.median_prob],
        ],
      }),
      live: ({ loss }) => ({ 'held-out-accuracy': loss.accuracy }),
      claim: 'On the 8000 held-out pairs the model is nearly always right.',
      checks: 'held-out-accuracy',
    },
    {
      view: `${TASK}/full-ov`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: { analysis: 'full_ov' } },
      show: ({ ov }) => v.squareHeatmap(ov, 'attended (source) token', 'output logit', 'Full OV circuit W_E·W_OV·W_U'),
      claim: 'The full OV circuit has a strong diagonal: it copies the attended number.',
      checks: 'ov-diag-fraction',
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
      checks: 'ov-diag-fraction',
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
      claim: 'Only the = row of the full QK circuit has structure.',
      checks: 'qk-spread-ratio',
    },
    {
      view: `${TASK}/qk-eq-row`,
      widget: 'lines',
      follows: 'timeline',
      reads: { qk: { analysis: 'full_qk' } },
      show: ({ qk }) => v.qkRowView(v.qkRow(qk, EQUALS)),
      live: ({ qk }) => ({ 'qk-corr': correlationWithIndex(v.qkRow(qk, EQUALS)) }),
      claim: 'From =, the attention score falls as the number grows, so the smaller number wins the softmax.',
      checks: 'qk-corr',
    },
    {
      view: `${TASK}/attention-mean`,
      widget: 'bars',
      follows: 'timeline',
      reads: { from: FROM_EQUALS },
      show: ({ from }) => v.attentionBars(from, ['a', 'b', '='], 'Mean attention from = over the held-out pairs'),
      live: ({ from }) => {
        const [toA, toB, toEq] = sub(from, 0).values;
        return { 'mean-to-a': toA, 'mean-to-b': toB, 'mean-to-eq': toEq };
      },
      claim: 'Averaged over the held-out pairs, = attends to a and b about equally and hardly to itself.',
      checks: 'mean-to-eq',
    },
    {
      view: `${TASK}/attention-to-a`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { grid: { analysis: 'min_attention_grid' } },
      show: ({ grid }) => v.gridView(grid, 'a'),
      live: ({ grid }) => ({ 'min-attended': v.minAttendedShare(grid) }),
      claim: 'Over all 40 000 pairs, = looks at a above the diagonal (a < b).',
      checks: 'min-attended',
    },
    {
      view: `${TASK}/attention-to-b`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { grid: { analysis: 'min_attention_grid' } },
      show: ({ grid }) => v.gridView(grid, 'b'),
      claim: 'Over all 40 000 pairs, = looks at b below the diagonal (b < a).',
      checks: 'min-attended',
    },
  ],
};
