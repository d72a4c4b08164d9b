// The five-digit addition notebook page as data: every figure once (see ../declare.js for the
// fields). Analyses read the raw weights; the prose and the figures' places are in index.html.
import { labelsOf, sub } from '../common.js';
import { standardFigures } from '../declare.js';
import { oneOf } from '../permalink.js';
import * as v from './views.js';

const TASK = 'addition';
// The held-out sums (1000, fixed): the first 200 for the per-digit losses, the examples and
// the logit lens (a forward each), the first 64 for the ablations (a forward per part).
const HELD = { limit: 200 };
const FEW = { limit: 64 };
const a = (analysis, request) => ({ analysis, request });
const ABLATE = (ablation, request = {}) => a('addition_digit_ablation', { ...request, opts: { ablation } });
const CURVES = { op: 'curves' };
const EXAMPLES = a('addition_examples', HELD);

// The notebook's example, 77426 + 17611 = 095037.
const EXAMPLE = [7, 7, 4, 2, 6, 10, 1, 7, 6, 1, 1, 11, 0, 9, 5, 0, 3, 7];

const right = (labels, tokens, abl) => `${v.sumRight(tokens, labels, abl)} of ${v.digitsOf(abl).length}`;

export default {
  task: TASK,
  title: 'Five-digit addition',
  example: EXAMPLE,
  picks: { column: '100s' },
  // The URL: tokens= is a sum XXXXX+YYYYY=ZZZZZZ (digits, + and = in their places; the answer
  // digits need not be the true sum), column= the column of the per-column curves.
  state: {
    tokens: (ids) =>
      ids.length === 18 && ids[5] === 10 && ids[11] === 11 && ids.every((t, k) => k === 5 || k === 11 || t < 10)
        ? ''
        : 'a sum is 18 tokens: five digits, + (10), five digits, = (11), six digits',
    picks: { column: oneOf(['10s', '100s', '1000s', '10000s'], '[data-ref="column"]') },
  },
  // A smaller model for a CPU without the patience for the full one (offered by the training
  // panel with its estimate): a quarter of the width, the same four heads, a higher lr.
  smaller: {
    label: 'the smaller model (d_model 128, 4 heads of 32, 512 neurons)',
    config: { d_model: 128, d_head: 32, d_mlp: 512 },
    settings: { steps: 1200, lr: 2e-3, batch: 64 },
  },
  test: {
    edit: '1 9 9 9 9 + 0 0 0 0 1 = 0 2 0 0 0 0',
    number: { key: 'digit-loss-1000s', args: ['--what', 'addition_losses', '--limit', '200'], value: (j) => j.per_token[2] },
    // The in-page run of the test: a few small steps (the full model trains at ~1.6 steps/s on the CPU).
    train: { steps: 6, batch: 8 },
  },
  figures: [
    // ---- static ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The sum every input figure reads: XXXXX+YYYYY=ZZZZZZ; edit it.' },
    ...standardFigures(TASK, { config: 'One block: four attention heads of 128 and 2048 ReLU neurons, no LayerNorm.' }),

    // ---- the reader's sum (cheapest first) ----
    {
      view: `${TASK}/sum`,
      widget: 'table',
      follows: 'input',
      reads: { labels: { op: 'task_label' }, abl: ABLATE('zero'), losses: a('addition_losses') },
      show: ({ labels, abl, losses }, { tokens }) => v.sumTable(tokens, labels, abl, losses),
      live: ({ labels, abl }, { tokens }) => ({ 'sum-right': right(labels, tokens, abl) }),
      claim: 'The trained model gets every digit of a sum right, carries and cascades included.',
      checks: 'sum-right',
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: a('attention_pattern') },
      show: ({ pattern }, { info, tokens }) => ({ tokens: tokens.map((t) => info.vocab[t]), patterns: sub(pattern, 0), headLabels: labelsOf(pattern, 'head').map((h) => `L0${h}`) }),
      claim: 'From each position that predicts an answer digit, each head looks at the two operand digits of one column.',
    },
    {
      view: `${TASK}/ablation-sum`,
      widget: 'table',
      follows: 'input',
      reads: { labels: { op: 'task_label' }, abl: ABLATE('zero') },
      show: ({ labels, abl }, { tokens }) => v.ablationAnswers(abl, labels, tokens),
      live: ({ labels, abl }, { tokens }) => ({
        'sum-attn-right': `${v.rowRight(abl, labels, tokens, 'L0 attn')} of ${v.digitsOf(abl).length}`,
      }),
      claim: 'Without its attention output the model cannot answer the sum; without one head it gets some digits wrong.',
      checks: 'sum-attn-right',
    },

    // ---- the selected model's training run (one fetch for the pretrained, recorded for yours) ----
    {
      view: `${TASK}/loss-curves`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.digitCurves(curves, model),
      claim: 'The answer digits are not learned together: each digit’s loss drops at its own step.',
      checks: 'digit-steps',
    },
    {
      view: `${TASK}/loss-curves-log`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.digitCurves(curves, model, { logY: true }),
      live: ({ curves }) => ({ 'digit-steps': v.digitSteps(curves), 'sum9-cases': v.sum9Cases(curves) }),
      claim: 'On a log scale the plateau at ln 10 and each digit’s drop stand apart.',
      checks: 'digit-steps',
    },
    {
      view: `${TASK}/curves-baseadd`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.categoryCurves(curves, model, 'BaseAdd'),
      claim: 'BaseAdd (no carry into the column) is learned column by column, each with its own drop.',
      checks: 'digit-steps',
    },
    {
      view: `${TASK}/curves-usecarry1`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.categoryCurves(curves, model, 'UseCarry1'),
      claim: 'Using a carry (UseCarry1) drops with BaseAdd in the same column.',
      checks: 'carry-learned',
    },
    {
      view: `${TASK}/curves-usesum9`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.categoryCurves(curves, model, 'UseSum9'),
      claim: 'UseSum9 has the fewest cases and the noisiest curves.',
      checks: 'sum9-cases',
    },
    {
      view: `${TASK}/curves-column`,
      widget: 'lines',
      follows: 'timeline',
      picks: ['column'],
      reads: { curves: CURVES },
      show: ({ curves }, { model, picks }) => v.columnCurves(curves, model, picks.column),
      live: ({ curves }, { picks }) => ({
        'picked-column': picks.column,
        'base-learned': v.firstBelow(curves, 'BaseAdd', picks.column, 0.5) ?? 'never',
        'carry-learned': v.firstBelow(curves, 'UseCarry1', picks.column, 0.5) ?? 'never',
        'sum9-learned': v.firstBelow(curves, 'UseSum9', picks.column, 0.5) ?? 'never',
      }),
      claim: 'In one column the three sub-tasks drop within an evaluation of each other: the column is learned with its carry.',
      checks: 'carry-learned',
    },

    // ---- the selected checkpoint on the held-out sums ----
    {
      view: `${TASK}/held-out`,
      widget: 'stats',
      follows: 'timeline',
      reads: { l: a('addition_losses', HELD) },
      show: ({ l }) => ({
        rows: [
          ['held-out sums', l.categories.base_add_only.length],
          ...v.digitNames(l.per_token.length).map((d, k) => [`loss of the ${d} digit`, l.per_token[k], `digit-loss-${d}`]),
        ],
      }),
      live: ({ l }) => {
        const all = v.digitLosses(l).all;
        return { 'worst-digit-loss': Math.max(...all), 'mean-digit-loss': all.reduce((x, y) => x + y, 0) / all.length };
      },
      claim: 'On 200 held-out sums every answer digit has a small loss.',
      checks: 'digit-loss-1000s',
    },
    {
      view: `${TASK}/category-losses`,
      widget: 'bars',
      follows: 'timeline',
      reads: { l: a('addition_losses', HELD) },
      show: ({ l }) => v.categoryBars(l, v.digitNames(l.per_token.length)),
      claim: 'At a trained checkpoint every digit and every sub-task has a small loss.',
      checks: 'worst-digit-loss',
    },
    {
      view: `${TASK}/attention-mean`,
      widget: 'attention',
      follows: 'timeline',
      reads: { ex: EXAMPLES },
      show: ({ ex }) => ({ tokens: v.genericSum(), patterns: ex.mean_pattern, headLabels: labelsOf(ex.mean_pattern, 'head').map((h) => `L0${h}`) }),
      live: ({ ex }) => {
        const r = v.columnReaders(ex.mean_pattern);
        const list = (hs) => (hs.length ? hs.join(', ') : 'none');
        return { 'heads-own': list(r.own), 'heads-next': list(r.next), 'own-share': r.ownShare, 'next-share': r.nextShare };
      },
      claim: 'Three heads read the answer digit’s own column, one the column to its right, where a carry comes from.',
      checks: 'heads-next',
    },
    {
      view: `${TASK}/attention-random`,
      widget: 'attention',
      follows: 'timeline',
      reads: { ex: EXAMPLES },
      show: ({ ex }, { info }) => v.exampleAttention(ex, 'random', info.vocab),
      live: ({ ex }, { info }) => ({ 'random-sum': v.sumText(ex.tokens[0], info.vocab) }),
      claim: 'On a random held-out sum the heads read the same columns as on average.',
    },
    {
      view: `${TASK}/attention-baseadd`,
      widget: 'attention',
      follows: 'timeline',
      reads: { ex: EXAMPLES },
      show: ({ ex }, { info }) => v.exampleAttention(ex, 'BaseAdd only', info.vocab),
      live: ({ ex }) => ({ 'count-baseadd': ex.counts[ex.categories.indexOf('BaseAdd only')] ?? 0 }),
      claim: 'A sum without carries looks the same: each answer digit reads its own column.',
      checks: 'count-baseadd',
    },
    {
      view: `${TASK}/attention-usecarry1`,
      widget: 'attention',
      follows: 'timeline',
      reads: { ex: EXAMPLES },
      show: ({ ex }, { info }) => v.exampleAttention(ex, 'UseCarry1, no UseSum9', info.vocab),
      live: ({ ex }) => ({ 'count-usecarry1': ex.counts[ex.categories.indexOf('UseCarry1, no UseSum9')] ?? 0 }),
      claim: 'A sum with carries has the same pattern: the heads fetch columns, whatever their digits.',
      checks: 'count-usecarry1',
    },
    {
      view: `${TASK}/attention-usesum9`,
      widget: 'attention',
      follows: 'timeline',
      reads: { ex: EXAMPLES },
      show: ({ ex }, { info }) => v.exampleAttention(ex, 'UseSum9', info.vocab),
      live: ({ ex }) => ({ 'count-usesum9': ex.counts[ex.categories.indexOf('UseSum9')] ?? 0 }),
      claim: 'A sum with a carry through a 9 has the same pattern too: no head reads two columns over.',
      checks: 'count-usesum9',
    },
    {
      view: `${TASK}/logit-lens`,
      widget: 'bars',
      follows: 'timeline',
      reads: { lens: a('addition_logit_lens', HELD) },
      show: ({ lens }) => v.lensBars(lens),
      live: ({ lens }) => {
        const acc = (p) => v.rowMean(lens.accuracy, p);
        const loss = (p) => v.rowMean(lens.loss, p);
        return {
          'lens-embed-acc': acc('0_pre'),
          'lens-attn-acc': acc('0_mid'),
          'lens-out-acc': acc('final_post'),
          'lens-attn-loss': loss('0_mid'),
          'lens-out-loss': loss('final_post'),
          'lens-attn-logit': v.rowMean(lens.logit, '0_mid') - v.rowMean(lens.logit, '0_pre'),
          'lens-mlp-logit': v.rowMean(lens.logit, 'final_post') - v.rowMean(lens.logit, '0_mid'),
        };
      },
      claim: 'Read through the unembedding, the residual stream knows the answer only after the MLP: after attention it is still near chance.',
      checks: 'lens-attn-acc',
    },
    {
      view: `${TASK}/ablation-zero`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { abl: ABLATE('zero', FEW) },
      show: ({ abl }) => v.ablationHeatmap(abl, 'zero'),
      live: ({ abl }) => ({
        'zero-none': v.rowMean(abl.loss, 'none'),
        'zero-attn': v.rowMean(abl.loss, 'L0 attn'),
        'zero-mlp': v.rowMean(abl.loss, 'L0 mlp'),
        'zero-worst-head': v.worstHead(abl.loss),
        'zero-worst-head-loss': v.rowMean(abl.loss, v.worstHead(abl.loss)),
      }),
      claim: 'Zero-ablating the attention output or the MLP destroys every digit; single heads hurt some digits more than others.',
      checks: 'zero-attn',
    },
    {
      view: `${TASK}/ablation-mean`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { abl: ABLATE('mean', FEW) },
      show: ({ abl }) => v.ablationHeatmap(abl, 'mean'),
      live: ({ abl }) => ({
        'mean-attn': v.rowMean(abl.loss, 'L0 attn'),
        'mean-worst-head': v.worstHead(abl.loss),
        'mean-worst-head-loss': v.rowMean(abl.loss, v.worstHead(abl.loss)),
      }),
      claim: 'Mean ablation, which keeps the activations in distribution, tells the same story.',
      checks: 'mean-attn',
    },
    {
      view: `${TASK}/head-ablation`,
      widget: 'bars',
      follows: 'timeline',
      reads: { zero: ABLATE('zero', FEW), mean: ABLATE('mean', FEW) },
      show: ({ zero, mean }) => v.headAblation(zero, mean),
      live: ({ zero }) => ({ 'head-base-loss': v.rowMean(zero.loss, 'none'), 'head-zero-max': v.rowMean(zero.loss, v.worstHead(zero.loss)) }),
      claim: 'Yet ablating a head costs a lot: the heads matter through what the MLP reads from them.',
      checks: 'head-zero-max',
    },
    {
      view: `${TASK}/head-dla`,
      widget: 'bars',
      follows: 'timeline',
      reads: { h: a('head_attribution', { limit: 32 }) },
      show: ({ h }) => v.headDla(h),
      live: ({ h }) => ({ 'head-dla-max': Math.max(...h.dla.values) }),
      claim: 'No head writes the answer directly: each adds well under one logit to the right digit.',
      checks: 'head-dla-max',
    },
  ],
};
