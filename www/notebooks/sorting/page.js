// The sorting notebook page as data: every figure once (see ../declare.js for the fields).
// Analyses read the raw weights (the notebook processes nothing); the prose and the figures'
// places are in index.html. The edited input is one whole sequence (sorting.js builds it
// from the 20 values the reader types); the batch figures read the first 16 held-out
// sequences, the notebook's batch size, which the example picker steps through.
import { heldOutFigure, standardFigures } from '../declare.js';
import { holds } from '../claims.js';
import * as v from './views.js';

const TASK = 'sorting';
export const BATCH = 16;
// Every position's next token as its target, as the notebook's heatmaps have them (the task
// scores only the sorted half; the claims read that half).
const HELD_OUT_BATCH = { analysis: 'next_token_predictions', request: { limit: BATCH } };
// Every figure of the reader's list reads this one analysis: one engine call per edit.
const EXAMPLE = { ex: { analysis: 'sorting_example' } };

// The pretrained run's training log, recorded by `toylens train sorting` (models/sorting/).
let log = null;
function pretrainedLog() {
  log ??= fetch(new URL(`../../models/${TASK}/metrics.jsonl`, import.meta.url)).then(async (r) => {
    if (!r.ok) throw new Error(`metrics.jsonl: HTTP ${r.status}`);
    return v.trainingLog(await r.text());
  });
  return log;
}

export default {
  task: TASK,
  title: 'Sorting a list of 20 numbers',
  // Twenty values with three repeats (the hard case: the model must emit a value twice).
  example: v.sequenceOf([5, 3, 8, 1, 0, 29, 12, 12, 7, 4, 22, 17, 9, 2, 26, 15, 11, 6, 19, 3]),
  // The URL's tokens= is a whole sequence: START, 20 values (0 to 29), STOP, the values sorted
  // (a held-out pick is its list's sequence).
  state: {
    tokens: (ids) => {
      const values = v.valuesOf(ids);
      const ok = values.length === v.LIST_LEN && values.every((x) => x < v.N_VALUES) && v.sequenceOf(values).join() === ids.join();
      return ok ? '' : `a sequence is START (${v.START}), ${v.LIST_LEN} values from 0 to ${v.N_VALUES - 1}, STOP (${v.STOP}) and the values sorted`;
    },
  },
  test: {
    edit: '29 0 15 15 7 22 3 3 18 11 26 5 9 1 20 14 27 8 12 2',
    number: { key: 'held-out-accuracy', args: ['--what', 'loss'], value: (j) => j.accuracy },
  },
  figures: [
    // ---- static ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The 20 values every example figure reads; the sorted half follows them.' },
    ...standardFigures(TASK, { config: 'One attention head and nothing else: no MLP, no LayerNorm; 32 tokens, 42 positions.' }),
    {
      view: `${TASK}/pretrained-loss`,
      widget: 'lines',
      show: async () => v.curveView(await pretrainedLog(), 'loss', { title: 'Training loss of the pretrained run', yLabel: 'loss', logY: true }),
      claim: 'The pretrained run’s loss falls over 50 000 steps of batches of 16.',
    },
    {
      view: `${TASK}/pretrained-accuracy`,
      widget: 'lines',
      show: async () => v.curveView(await pretrainedLog(), 'accuracy', { title: 'Training accuracy of the pretrained run', yLabel: 'accuracy' }),
      claim: 'The pretrained run’s accuracy on its training batches climbs to nearly 1.',
      notebook: 'its printed log stops at epoch 2200 of 50 001: loss 0.90, accuracy 64% on its batch of 16.',
    },

    // ---- the reader's list (cheapest first) ----
    {
      view: `${TASK}/sorted`,
      widget: 'text',
      follows: 'input',
      reads: EXAMPLE,
      show: ({ ex }) => v.sortedText(ex.predictions),
      live: ({ ex }) => {
        const { right, target } = v.predictedVsTarget(ex.predictions);
        return { 'example-right': right, 'example-share': right / target.length };
      },
      claim: 'The model writes this list sorted, token by token.',
      check: holds('example-share', '>=', 1, 'slots right, share'),
    },
    {
      view: `${TASK}/prediction`,
      widget: 'lines',
      follows: 'input',
      reads: EXAMPLE,
      show: ({ ex }) => v.predictionLines(ex.predictions),
      live: ({ ex }) => {
        const { predicted } = v.predictedVsTarget(ex.predictions);
        return { 'example-rising': predicted.slice(1).filter((p, k) => p >= predicted[k]).length / (predicted.length - 1) };
      },
      claim: 'The predicted tokens rise step by step, as the true ones do.',
      check: holds('example-rising', '>=', 1, 'steps that do not fall, share'),
    },
    {
      view: `${TASK}/dla`,
      widget: 'heatmap',
      follows: 'input',
      reads: EXAMPLE,
      show: ({ ex }) => v.dlaView(ex.logit_attrs),
      live: ({ ex }) => ({ 'dla-head-share': v.headShare(ex.logit_attrs) }),
      claim: 'The head writes most of the correct token’s logit; embeddings and bias add less.',
      check: holds('dla-head-share', '>=', 0.6, 'head’s share of |attribution|'),
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: EXAMPLE,
      show: ({ ex }, { info, tokens }) => v.attentionView(ex.attention, info.vocab, tokens),
      live: ({ ex }, { tokens }) => ({ 'attention-above': v.attentionAboveShare(ex.attention, tokens) }),
      claim: 'From each sorted slot the head looks back mostly at the unsorted values above the last one written.',
      check: holds('attention-above', '>=', 0.7, 'attention on the input to values above, share'),
    },

    // ---- the model (cheapest first) ----
    // The whole held-out set (1000 lists), first from its first 125.
    heldOutFigure(TASK, {
      request: { limit: 1000 },
      sample: 125,
      what: 'the sorted tokens of 1000 held-out lists',
      scored: 'sorted tokens scored',
      first: ({ info }) => [['held-out sequences', info.held_out]],
    }),
    {
      view: `${TASK}/batch-logit`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { pred: HELD_OUT_BATCH },
      show: ({ pred }) => v.batchHeatmap(pred, 'logit', 'Logit of the correct next token'),
      live: ({ pred }) => {
        const m = v.slotMeans(pred, 'logit');
        return { 'logit-first': m[0], 'logit-middle': Math.min(...m), 'logit-first-margin': m[0] - Math.max(...m.slice(1)) };
      },
      claim: 'The correct token’s logit is largest at the first slot.',
      check: holds('logit-first-margin', '>', 0, 'first slot’s mean − the largest other'),
    },
    {
      view: `${TASK}/batch-centred`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { pred: HELD_OUT_BATCH },
      show: ({ pred }) => v.batchHeatmap(pred, 'centered_logit', 'Centred logit of the correct next token (minus the mean logit)'),
      live: ({ pred }) => ({ 'centred-min': Math.min(...v.slotMeans(pred, 'centered_logit')) }),
      claim: 'The correct token stands far above the mean logit at every slot.',
      check: holds('centred-min', '>', 5, 'smallest slot mean of the centred logit'),
    },
    {
      view: `${TASK}/batch-logprob`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { pred: HELD_OUT_BATCH },
      show: ({ pred }) => v.batchHeatmap(pred, 'log_prob', 'Log-probability of the correct next token'),
      live: ({ pred }) => {
        const n = pred.log_prob.shape[0] * v.LIST_LEN;
        return { 'unsure-count': v.unsureCount(pred), 'batch-n': n, 'unsure-share': v.unsureCount(pred) / n };
      },
      claim: 'Nearly every correct token gets a log-probability near 0; the few exceptions stand out.',
      check: holds('unsure-share', '<', 0.05, 'share with P(correct) < ½'),
    },
    {
      view: `${TASK}/full-qk-pos`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { qk: { analysis: 'full_qk_pos' } },
      show: ({ qk }) => v.qkView(qk),
      live: ({ qk }) => ({ 'qk-above': v.qkAboveShare(qk), 'qk-gap': v.qkMeanGap(qk) }),
      claim: 'In the token block, nearly every query value scores a key value above it highest.',
      check: holds('qk-above', '>=', 0.8, 'query values whose best key is above, share'),
    },
    {
      view: `${TASK}/full-ov-pos`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: { analysis: 'full_ov_pos' } },
      show: ({ ov }, { info }) => v.ovView(ov, info.vocab_out),
      live: ({ ov }) => {
        const s = v.ovSlopes(ov);
        return { 'ov-below': s.below, 'ov-above': s.above, 'ov-input-pos': s.inputPositions };
      },
      claim: 'An attended value raises the outputs up to itself: the logit climbs by more than one for each value below it.',
      check: holds('ov-below', '>', 1, 'mean slope below the value, logit per value'),
    },
  ],
};
