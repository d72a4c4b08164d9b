// The five-digit addition notebook page as data: every figure once (see ../declare.js for the
// fields). Analyses read the raw weights; the prose and the figures' places are in index.html.
import { labelsOf, sub } from '../common.js';
import { standardFigures } from '../declare.js';
import { holds } from '../claims.js';
import { upTo } from '../metrics.js';
import { oneOf } from '../permalink.js';
import * as v from './views.js';

const TASK = 'addition';
// The held-out sums (1000, fixed): the first 200 for the per-digit losses, the examples and
// the logit lens (one forward), the first 64 for the ablations (the MLP again per part).
// After a timeline move each is drawn first from an eighth to a tenth of its sums (said on
// the figure), then from all of them: the exact figures take seconds on a 2-core CPU.
const HELD = { limit: 200 };
const FEW = { limit: 64 };
const SAMPLE = { 200: 20, 64: 8, 32: 4 };
const a = (analysis, request) => ({ analysis, request, ...(request?.limit ? { sample: SAMPLE[request.limit] } : {}) });
const ABLATE = (ablation, request = {}) => a('addition_digit_ablation', { ...request, opts: { ablation } });
const CURVES = { op: 'curves' };
// The examples' first pass reads the first 60 sums: the first with three sums of every kind
// (sums without any carry are rare: none among the first 40), so every kind's figure has a
// first pass, showing the same sums as the exact one; the mean pattern is over those 60 (the
// figure says it is a first pass). Its forward is the start of the 200-sum one, which then
// runs only the rest.
const EXAMPLES = { ...a('addition_examples', HELD), sample: 60 };

// The notebook's example, 77426 + 17611 = 095037.
const EXAMPLE = [7, 7, 4, 2, 6, 10, 1, 7, 6, 1, 1, 11, 0, 9, 5, 0, 3, 7];

// The part of the training log the model on screen had seen (its step and before).
const seen = (curves, model) => upTo(curves, model?.step ?? Infinity);
// addition_examples' kinds of sum (the engine's names), each shown as its own figure.
const EXAMPLE_KINDS = [
  { name: 'random', kind: 'random', claim: 'On a random held-out sum the heads read the same columns as on average.' },
  { name: 'baseadd', kind: 'BaseAdd only', claim: 'A sum without carries looks the same as the average.' },
  { name: 'usecarry1', kind: 'UseCarry1, no UseSum9', claim: 'A sum with carries has the same pattern: the heads fetch columns, whatever their digits.' },
  { name: 'usesum9', kind: 'UseSum9', claim: 'A sum with a carry through a 9 has the same pattern too: no head reads two columns over.' },
];


const CATEGORY_CLAIMS = {
  BaseAdd: 'BaseAdd (no carry into the column) is learned in every column by this checkpoint, the 1s included.',
  UseCarry1: 'Using a carry (UseCarry1) is learned in every column that can receive one by this checkpoint.',
  UseSum9: 'UseSum9 (a carry through a column summing to 9) has the fewest cases, yet by this checkpoint it is learned in every column too.',
};

const right = (labels, tokens, abl) => `${v.sumRight(tokens, labels, abl)} of ${v.digitsOf(abl).length}`;

export default {
  task: TASK,
  title: 'Five-digit addition',
  // Its timeline moves read forwards of several batches (see declare.js).
  engines: 2,
  example: EXAMPLE,
  picks: { column: '100s', scale: 'log', example: '1' },
  // The URL: tokens= is a sum XXXXX+YYYYY=ZZZZZZ (digits, + and = in their places; the answer
  // digits need not be the true sum), column= the column of the per-column curves, scale= their
  // y axis, example= which of the three sums of each kind the attention examples show.
  state: {
    // The engine's labeller checks the layout and takes a sum without all its answer digits;
    // this page's figures read all six.
    tokens: (ids) => (ids.length === 18 ? '' : 'a sum is 18 tokens: five digits, + (10), five digits, = (11), six digits'),
    picks: {
      column: oneOf(['1s', '10s', '100s', '1000s', '10000s'], '[data-ref="column"]'),
      scale: oneOf(['linear', 'log'], '[data-ref="scale"]'),
      example: oneOf(['1', '2', '3'], '[data-ref="example"]'),
    },
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
    // A point per training step for every answer digit, on the pretrained run and on the reader's.
    perStep: { view: `${TASK}/loss-curves`, series: v.digitNames(6).map((d) => `digit ${d}`) },
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
      live: ({ labels, abl }, { tokens }) => ({ 'sum-right': right(labels, tokens, abl), 'sum-right-share': v.sumRight(tokens, labels, abl) / v.digitsOf(abl).length }),
      claim: 'The model gets every digit of this sum right (on held-out sums it is not perfect: see the digit losses below).',
      check: holds('sum-right-share', '>=', 1, 'answer digits right, share'),
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: a('attention_pattern') },
      show: ({ pattern }, { info, tokens }) => ({ tokens: tokens.map((t) => info.vocab[t]), patterns: sub(pattern, 0), headLabels: labelsOf(pattern, 'head').map((h) => `L0${h}`) }),
      live: ({ pattern }) => ({ 'column-focus': v.columnFocus(pattern) }),
      claim: 'From each position that predicts an answer digit, each head looks mostly at the two operand digits of one column.',
      check: holds('column-focus', '>=', 0.5, 'mean attention on the best column’s two digits'),
    },
    {
      view: `${TASK}/ablation-sum`,
      widget: 'table',
      follows: 'input',
      reads: { labels: { op: 'task_label' }, abl: ABLATE('zero') },
      show: ({ labels, abl }, { tokens }) => v.ablationAnswers(abl, labels, tokens),
      live: ({ labels, abl }, { tokens }) => {
        const digits = v.digitsOf(abl).length;
        const right = (row) => v.rowRight(abl, labels, tokens, row);
        return {
          'sum-attn-right': `${right('L0 attn')} of ${digits}`,
          'sum-none-right': right('none'),
          // Digits lost, not digits right: an untrained model gets few right with or without attention.
          'sum-attn-lost-share': (right('none') - right('L0 attn')) / digits,
        };
      },
      claim: 'The model needs its attention output to answer the sum: zeroing it loses at least half the digits.',
      check: holds('sum-attn-lost-share', '>=', 0.5, 'digits right unablated − right with attention zeroed, share'),
    },

    // ---- the selected model's training run (one fetch for the pretrained, recorded for yours) ----
    {
      view: `${TASK}/loss-curves`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.batchDigitCurves(curves, model),
      live: ({ curves }, { model }) => {
        const drops = v.batchDigitDrops(seen(curves, model));
        return { 'digit-drop-spread': v.dropSpread(drops), 'digit-batch-steps': v.stepsText(drops, v.digitNames(drops.length)) };
      },
      claim: 'The answer digits are not learned together: by this checkpoint their training-batch losses have settled under 0.5 at steps hundreds apart.',
      check: holds('digit-drop-spread', '>=', 200, 'steps between the first and the last digit’s drop'),
    },
    {
      view: `${TASK}/loss-curves-log`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.batchDigitCurves(curves, model, { logY: true }),
      live: ({ curves }, { model }) => ({ 'worst-batch-digit': Math.max(...v.recentDigitLosses(seen(curves, model))) }),
      claim: 'On a log scale each digit’s drop from the plateau at ln 10 stands apart, and by this checkpoint every digit is far below it.',
      check: holds('worst-batch-digit', '<', 0.2, 'worst digit’s mean loss over the last 20 batches'),
    },
    {
      view: `${TASK}/loss-curves-held-out`,
      widget: 'lines',
      follows: 'timeline',
      reads: { curves: CURVES },
      show: ({ curves }, { model }) => v.digitCurves(curves, model, { logY: true }),
      live: ({ curves }, { model }) => ({
        'digit-drops': v.distinctDrops(v.digitDropSteps(seen(curves, model))),
        'digit-steps': v.digitSteps(curves),
      }),
      claim: 'The held-out sums tell the same story: by this checkpoint the digits’ held-out losses have dropped under 0.5 at several different evaluations.',
      check: holds('digit-drops', '>=', 3, 'distinct evaluations of a digit’s drop'),
    },
    {
      view: `${TASK}/curves-aggregate`,
      widget: 'lines',
      follows: 'timeline',
      picks: ['scale'],
      reads: { curves: CURVES },
      show: ({ curves }, { model, picks }) => v.aggregateCurves(curves, model, { logY: picks.scale === 'log' }),
      live: ({ curves }, { model }) => {
        const n = v.caseCounts(curves);
        const order = v.aggregateDrops(seen(curves, model));
        return {
          'share-baseadd': n.share.BaseAdd,
          'share-usecarry1': n.share.UseCarry1,
          'share-usesum9': n.share.UseSum9,
          'sums-one-nine': n.oneNine,
          'sums-two-nines': n.twoNines,
          'aggregate-steps': order.text,
          'usesum9-last': order.sum9Last,
        };
      },
      claim: 'Sums that need a carry through a 9 are learned last: by this checkpoint their loss has settled under 0.5, after the sums without one.',
      check: holds('usesum9-last', '>=', 1, 'UseSum9 sums settled, and not before the others (1 = yes)'),
    },
    ...v.CATEGORIES.map((category) => ({
      view: `${TASK}/curves-${category.toLowerCase()}`,
      widget: 'lines',
      follows: 'timeline',
      picks: ['scale'],
      reads: { curves: CURVES },
      show: ({ curves }, { model, picks }) => v.categoryBatchCurves(curves, model, category, { logY: picks.scale === 'log' }),
      live: ({ curves }, { model }) => {
        const steps = v.batchColumnDrops(seen(curves, model), category);
        return { [`${category.toLowerCase()}-learned`]: steps.filter((s) => s != null).length / steps.length };
      },
      claim: CATEGORY_CLAIMS[category],
      check: holds(`${category.toLowerCase()}-learned`, '>=', 1, 'columns whose loss settled under 0.5, share'),
    })),
    {
      view: `${TASK}/curves-column`,
      widget: 'lines',
      follows: 'timeline',
      picks: ['column', 'scale'],
      reads: { curves: CURVES },
      show: ({ curves }, { model, picks }) => v.columnBatchCurves(curves, model, picks.column, { logY: picks.scale === 'log' }),
      live: ({ curves }, { picks, model }) => {
        const drops = v.columnDrops(seen(curves, model), picks.column);
        const all = v.columnDrops(curves, picks.column);
        const text = (c) => (c in all ? all[c] ?? 'never' : 'no case (no carry reaches it)');
        return {
          'column-learned': Object.values(drops).filter((s) => s != null).length / Object.keys(drops).length,
          'picked-column': picks.column,
          'base-learned': text('BaseAdd'),
          'carry-learned': text('UseCarry1'),
          'sum9-learned': text('UseSum9'),
        };
      },
      claim: 'In the picked column every sub-task it has is learned (its batch loss settled under 0.5) by this checkpoint: the column is learned with its carry.',
      check: holds('column-learned', '>=', 1, 'its sub-tasks learned, share'),
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
      check: holds('worst-digit-loss', '<', 0.1, 'worst digit’s loss'),
    },
    {
      view: `${TASK}/category-losses`,
      widget: 'bars',
      follows: 'timeline',
      reads: { l: a('addition_losses', HELD) },
      show: ({ l }) => v.categoryBars(l, v.digitNames(l.per_token.length)),
      live: ({ l }) => {
        const d = v.digitLosses(l);
        return { 'worst-category-loss': Math.max(...v.CATEGORIES.flatMap((c) => d[c].filter(Number.isFinite))) };
      },
      claim: 'Every sub-task of every digit has a small loss.',
      check: holds('worst-category-loss', '<', 0.3, 'worst sub-task’s loss'),
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
        return { 'heads-own': list(r.own), 'heads-next': list(r.next), 'own-share': r.ownShare, 'next-share': r.nextShare, 'heads-next-count': r.next.length, 'heads-column-count': r.own.length + r.next.length };
      },
      claim: 'Every head reads one column on average: the answer digit’s own or the one to its right, where a carry comes from.',
      check: holds('heads-column-count', '>=', 4, 'heads with over half their attention on one column'),
    },
    // The notebook's three sums of each kind (the reader steps through them), against the mean pattern.
    ...EXAMPLE_KINDS.map(({ name, kind, claim }) => ({
      view: `${TASK}/attention-${name}`,
      widget: 'attention',
      follows: 'timeline',
      picks: ['example'],
      reads: { ex: EXAMPLES },
      show: ({ ex }, { info, picks }) => v.exampleAttention(ex, kind, info.vocab, Number(picks.example) - 1),
      live: ({ ex }, { info, picks }) => ({
        [`${name}-sum`]: v.exampleSum(ex, kind, info.vocab, Number(picks.example) - 1),
        [`count-${name}`]: ex.counts[ex.categories.indexOf(kind)] ?? 0,
        [`${name}-vs-mean`]: v.sameColumns(ex, kind, Number(picks.example) - 1),
      }),
      claim,
      check: holds(`${name}-vs-mean`, '>=', 0.8, 'head × answer digit pairs reading the mean’s column, share'),
    })),
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
          'lens-mlp-gain': acc('final_post') - acc('0_mid'),
        };
      },
      claim: 'Read through the unembedding, the residual stream knows the answer only after the MLP: the MLP adds most of the accuracy.',
      check: holds('lens-mlp-gain', '>=', 0.6, 'accuracy after the MLP − after attention'),
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
        'zero-parts-rise': Math.min(v.rowRiseMin(abl.loss, 'L0 attn'), v.rowRiseMin(abl.loss, 'L0 mlp')),
      }),
      claim: 'Zero-ablating the attention output or the MLP destroys every digit; single heads hurt some digits more than others.',
      check: holds('zero-parts-rise', '>=', 1, 'smallest rise of a digit’s loss with attention or MLP zeroed'),
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
        'mean-attn-rise': v.rowRiseMin(abl.loss, 'L0 attn', 1),
      }),
      claim: 'Mean ablation, which keeps the activations in distribution, tells the same story: without attention every digit but the leading carry is lost.',
      check: holds('mean-attn-rise', '>=', 1, 'smallest rise of the loss of digits 2–6 with attention mean-ablated'),
    },
    {
      view: `${TASK}/head-ablation`,
      widget: 'bars',
      follows: 'timeline',
      reads: { zero: ABLATE('zero', FEW), mean: ABLATE('mean', FEW) },
      show: ({ zero, mean }) => v.headAblation(zero, mean),
      live: ({ zero }) => ({ 'head-base-loss': v.rowMean(zero.loss, 'none'), 'head-zero-max': v.rowMean(zero.loss, v.worstHead(zero.loss)), 'head-zero-rise': v.rowMean(zero.loss, v.worstHead(zero.loss)) - v.rowMean(zero.loss, 'none') }),
      claim: 'Yet ablating a head costs a lot: the heads matter through what the MLP reads from them.',
      check: holds('head-zero-rise', '>=', 0.5, 'costliest head’s mean loss rise'),
    },
    {
      view: `${TASK}/head-dla`,
      widget: 'bars',
      follows: 'timeline',
      reads: { h: a('head_dla', { limit: 32 }) },
      show: ({ h }) => v.headDla(h),
      live: ({ h }) => ({ 'head-dla-max': Math.max(...h.dla.values) }),
      claim: 'No head writes the answer directly: each adds well under one logit to the right digit.',
      check: holds('head-dla-max', '<', 1, 'largest head’s direct logit'),
    },
  ],
};
