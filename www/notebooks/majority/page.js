// The majority_element notebook page as data: every figure once (see ../declare.js for the
// fields). The notebook reads its circuits and runs its ablation on TL-processed weights
// (LayerNorm folded, writing weights and unembedding centred), so every analysis here asks for
// process 'tl'; the prose and the figures' places are in index.html.
import { heldOutFigure, standardFigures } from '../declare.js';
import { holds } from '../claims.js';
import { intList, oneOf } from '../permalink.js';
import * as v from './views.js';
import { sub } from '../common.js';

const TASK = 'majority';
const TL = { process: 'tl' };
// The held-out figures read the first SUBSET of the 410 held-out sequences (8192 positions):
// ranking all 256 neurons on them takes about a second in the page.
export const SUBSET = 64;
const HELD_OUT = { process: 'tl', limit: SUBSET };
// The neurons the engine ranks costliest on the pretrained model's final checkpoint
// (`toylens analyze majority --what neuron_ablation_scan --process tl --limit 64`): the page's
// default pick. The notebook's own model needed 93, 103, 117 and 206.
export const CRITICAL = [93, 216, 75, 135];
const a = (analysis, request = TL) => ({ analysis, request });
// The held-out reads whose forward and scan take most of a timeline move are drawn first from
// the first 8 sequences (said on the figure), then from all 64.
const FIRST = 8;
const picked = (analysis, base) => ({ analysis, request: ({ picks }) => ({ ...base, opts: { neurons: picks.neurons } }) });
const LABELS = { op: 'task_label' };

export default {
  task: TASK,
  title: 'Majority element: counting with uniform attention',
  // Its timeline moves read forwards of several batches (see declare.js).
  engines: 2,
  // The notebook's validation example (its batch index 5): 2 takes the lead at position 29.
  example: [
    1, 5, 3, 6, 0, 9, 6, 4, 2, 3, 7, 5, 2, 0, 6, 8, 8, 1, 1, 4, 0, 6, 1, 3, 9, 3, 2, 6, 2, 2, 5, 3, 7, 3, 2, 5, 0, 8, 2, 6, 8, 1, 0, 6, 3, 7, 4, 6,
    2, 2, 0, 5, 7, 6, 8, 2, 2, 3, 8, 9, 4, 0, 4, 6, 7, 5, 5, 5, 2, 3, 9, 2, 4, 9, 4, 6, 5, 8, 9, 1, 0, 7, 6, 4, 0, 1, 0, 9, 3, 6, 2, 0, 6, 1, 8, 2,
    9, 2, 7, 1, 9, 0, 0, 3, 7, 3, 3, 3, 9, 7, 1, 2, 4, 7, 1, 9, 8, 2, 6, 7, 8, 7, 1, 8, 8, 4, 0, 4,
  ],
  picks: { neurons: CRITICAL, value: 'auto' },
  // The URL: tokens= any sequence of digits up to n_ctx; neurons= the neurons followed and
  // ablated; value= the value whose running count is overlaid ('auto': the majority).
  state: {
    picks: {
      neurons: intList({ min: 0, max: 255, most: 32, what: 'neuron' }, '[data-ref="neurons"]'),
      value: oneOf(['auto', ...Array.from({ length: 10 }, (_, d) => String(d))], '[data-ref="value"]'),
    },
  },
  test: {
    // The notebook's first inference example (its majority is 5).
    edit:
      '6 7 3 5 9 8 0 7 1 5 3 0 9 4 2 5 4 6 5 9 9 0 6 2 7 1 3 5 8 4 5 5 8 7 7 4 5 7 1 9 1 7 9 7 1 5 4 9 9 0 4 0 4 7 5 1 0 4 5 6 1 1 8 7 7 9 5 4 9 3 0 2 ' +
      '8 7 0 9 1 3 2 0 1 0 4 5 9 3 8 1 6 6 9 2 5 4 1 5 5 8 2 4 1 6 5 0 3 1 7 6 7 0 7 9 8 2 6 6 0 6 5 6 4 1 2 9 3 6 0 4',
    number: {
      key: 'ablation-loss',
      args: ['--what', 'ablate_neurons', '--process', 'tl', '--limit', String(SUBSET), '--neurons', CRITICAL.join(',')],
      value: (j) => j.ablated.loss,
    },
  },
  figures: [
    // ---- static ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The sequence every input figure reads: up to 128 values 0..9; edit it.' },
    ...standardFigures(TASK, { config: 'One block: two heads of 32, 256 SoLU neurons with their LayerNorm, LayerNorm before each part.' }),
    {
      view: `${TASK}/pretrained-curves`,
      widget: 'lines',
      show: async () => {
        const r = await fetch(new URL('../../models/majority/metrics.jsonl', import.meta.url));
        if (!r.ok) throw new Error(`metrics.jsonl: HTTP ${r.status}`);
        return v.pretrainedCurves(await r.text());
      },
      claim: 'Training and held-out loss of the pretrained run fall together; at the end held-out sits a little above training.',
    },

    // ---- the edited sequence (cheapest first) ----
    {
      view: `${TASK}/prediction`,
      widget: 'text',
      follows: 'input',
      reads: { pred: a('predictions') },
      show: ({ pred }) => v.predictionText(pred),
      live: ({ pred }) => {
        const p = v.predictions(pred);
        return { 'example-share': p.right / p.n };
      },
      claim: 'The model tracks the running majority at nearly every position of this sequence.',
      check: holds('example-share', '>=', 0.9, 'positions right, share'),
    },
    {
      view: `${TASK}/running`,
      widget: 'lines',
      follows: 'input',
      reads: { pred: a('predictions') },
      show: ({ pred }) => v.runningView(pred),
      live: ({ pred }) => ({ 'changes-right': v.rightAtChanges(pred) }),
      claim: 'The prediction follows the running majority as it changes hands.',
      check: holds('changes-right', '>=', 0.5, 'positions where it changes hands, share right'),
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: a('attention_pattern') },
      show: ({ pattern }, { info, tokens }) => v.attentionView(pattern, info.vocab, tokens),
      live: ({ pattern }) => {
        const r = v.lastRowAttention(pattern, 0);
        return { 'attn-last-max': r.max, 'attn-last-min': r.min, 'attn-uniform': 1 / r.n, 'attn-evenness': v.lastRowEvenness(pattern) };
      },
      claim: 'From the last position both heads spread their attention evenly over every earlier position.',
      check: holds('attn-evenness', '>=', 0.5, 'least / most attention, worse head'),
    },
    {
      view: `${TASK}/logit-contributions`,
      widget: 'lines',
      follows: 'input',
      reads: { labels: LABELS, dla: a('dla_centred') },
      show: ({ labels, dla }) => v.logitContributionsView(v.logitContributions(dla, labels)),
      live: ({ labels, dla }) => {
        const [embed, attn, mlp] = v.logitContributions(dla, labels).map((s) => v.meanOf(s.y));
        return { 'dla-embed': embed, 'dla-attn': attn, 'dla-mlp': mlp, 'dla-mlp-share': mlp / (Math.abs(embed) + Math.abs(attn) + Math.abs(mlp)) };
      },
      claim: 'The MLP writes most of the true token’s logit; the embedding and attention add less directly.',
      check: holds('dla-mlp-share', '>=', 0.6, 'MLP / (|embed| + |attn| + |MLP|)'),
    },
    {
      view: `${TASK}/mlp-spikes`,
      widget: 'table',
      follows: 'input',
      reads: { labels: LABELS, dla: a('dla_centred') },
      show: ({ labels, dla }, { tokens }) => v.mlpSpikesView(v.mlpSpikes(dla, tokens, labels)),
      live: ({ labels, dla }, { tokens }) => {
        const s = v.mlpSpikes(dla, tokens, labels);
        return {
          'spike-count': s.at.length,
          'spike-positions': s.at.join(', ') || 'none',
          'spike-changed': `${s.changed.length} of ${s.at.length}`,
          'spike-majority': `${s.isMajority.length} of ${s.at.length}`,
          'spike-majority-share': s.at.length ? s.isMajority.length / s.at.length : NaN,
          'changed-share': tokens.slice(1).filter((t, p) => t !== tokens[p]).length / Math.max(1, tokens.length - 1),
        };
      },
      claim: 'The MLP’s line spikes where the value just before is the running majority: the MLP writes the majority’s logit, whatever the input holds.',
      notebook: 'on its example sequence the line spiked at positions 9, 56, 71, 82, 92, 101, 110 and 119, all but one where the value differs from the previous one.',
      check: holds('spike-majority-share', '>=', 0.8, 'spikes where the value before is the majority, share'),
    },
    {
      view: `${TASK}/neuron-acts`,
      widget: 'heatmap',
      follows: 'input',
      reads: { acts: a('neuron_acts') },
      show: ({ acts }) => v.neuronActsView(acts),
      live: ({ acts }) => ({ 'quiet-share': v.quietening(acts) }),
      claim: 'Most neurons quieten once one value leads; a few stay on.',
      check: holds('quiet-share', '>=', 0.5, 'neurons at under half their early activation later, share'),
    },
    {
      view: `${TASK}/neuron-lines`,
      widget: 'lines',
      follows: 'input',
      picks: ['neurons', 'value'],
      // The engine's sum of the picked neurons (neuron_sum), drawn over their own lines and
      // the running count, as the notebook plots it.
      reads: { labels: LABELS, acts: a('neuron_acts'), counts: a('running_counts'), sum: picked('neuron_sum', TL) },
      show: ({ labels, acts, counts, sum }, { picks }) => v.neuronLinesView(acts, counts, picks.neurons, v.chosenValue(picks, labels), sum),
      live: ({ labels, counts, sum }, { picks }) => {
        const value = v.chosenValue(picks, labels);
        return { 'lines-value': value, 'sum-count-corr': v.sumCountCorrelation(sum, counts, value) };
      },
      claim: 'The picked neurons’ summed activation moves against the running count of the chosen value: it falls as that value’s count grows.',
      notebook: 'on this sequence neurons 93, 103 and 117 stay almost constantly on once 2 leads.',
      check: holds('sum-count-corr', '<=', -0.5, 'correlation of the sum with the count'),
    },
    {
      view: `${TASK}/ablation-example`,
      widget: 'lines',
      follows: 'input',
      picks: ['neurons'],
      reads: { labels: LABELS, pred: picked('ablated_predictions', TL) },
      show: ({ labels, pred }, { picks }) => v.ablatedView(pred, labels, picks.neurons),
      live: ({ pred }) => ({ 'ablation-changed': v.changedShare(pred) }),
      claim: 'On this one sequence, ablating the picked neurons changes few predictions: a single sequence hides what the held-out ablation below shows.',
      check: holds('ablation-changed', '<=', 0.05, 'positions whose prediction changes, share'),
    },
    {
      view: `${TASK}/ablation-example-loss`,
      widget: 'stats',
      follows: 'input',
      picks: ['neurons'],
      reads: { r: picked('ablate_neurons', TL) },
      show: ({ r }) => ({ rows: v.ablationRows(r, 'example-ablation') }),
      live: ({ r }) => ({ 'example-ablation-loss': r.ablated.loss, 'example-ablation-rise': r.ablated.loss - r.baseline.loss }),
      claim: 'On the edited sequence, ablating the picked neurons raises the loss, if only a little.',
      notebook: 'on this same sequence (its validation example 5), zeroing its neurons 93, 103, 117 and 206 took the loss from 0.002 to 1.840; its neurons are not ours.',
      check: holds('example-ablation-rise', '>', 0, 'loss rise'),
    },

    // ---- the model (weights first, then the held-out subset) ----
    heldOutFigure(TASK, { request: HELD_OUT, sample: FIRST, what: `the first ${SUBSET} held-out sequences`, scored: 'positions scored' }),
    // A full QK figure per head (both heads' circuits come in one engine call).
    ...[0, 1].map((h) => ({
      view: `${TASK}/full-qk-h${h}`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { qk: a('full_qk') },
      show: ({ qk }) => v.qkView(qk, h),
      live: ({ qk }) => ({ 'qk-max': v.maxAbs(qk), [`qk-max-h${h}`]: v.maxAbs(sub(qk, h)) }),
      claim: `Head ${h}’s full QK circuit is close to zero: no value attracts much more attention than another.`,
      check: holds(`qk-max-h${h}`, '<', 1, 'largest |score|'),
    })),
    {
      view: `${TASK}/ov-neurons-h0`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: a('ov_to_neurons') },
      show: ({ ov }) => v.ovNeuronsView(ov, 0),
      live: ({ ov }) => ({ 'own-neurons-h0': v.ownNeuronShare(ov, 0) }),
      claim: 'Each attended value drives its own set of neurons through head 0.',
      check: holds('own-neurons-h0', '>=', 0.8, 'each value’s top-10 neurons no other value has, share'),
    },
    {
      view: `${TASK}/ov-neurons-h1`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: a('ov_to_neurons') },
      show: ({ ov }) => v.ovNeuronsView(ov, 1),
      live: ({ ov }) => ({ 'heads-ov-corr': v.headCorrelation(ov, 0, 1) }),
      claim: 'Head 1 feeds the neurons too, in much the same pattern as head 0.',
      check: holds('heads-ov-corr', '>=', 0.5, 'correlation with head 0’s map'),
    },
    {
      view: `${TASK}/ov-neuron-lines`,
      widget: 'lines',
      follows: 'timeline',
      picks: ['neurons'],
      reads: { ov: a('ov_to_neurons') },
      show: ({ ov }, { picks }) => v.ovNeuronLinesView(ov, picks.neurons),
      live: ({ ov }, { picks }) => ({ 'neuron-values': v.neuronValues(ov, picks.neurons).map((x) => `n${x.neuron} ← ${x.value}`).join(', '), 'value-dominance': v.valueDominance(ov, picks.neurons) }),
      claim: 'Each picked neuron is fed by the heads mainly when they attend to one particular value.',
      check: holds('value-dominance', '>=', 0.3, '(largest − second) / range of its input, worst neuron'),
    },
    {
      view: `${TASK}/neuron-scan`,
      widget: 'bars',
      follows: 'timeline',
      reads: { scan: { ...a('neuron_ablation_scan', HELD_OUT), sample: FIRST } },
      show: ({ scan }) => v.scanView(scan, 16),
      live: ({ scan }) => ({ 'scan-top': scan.ranking.slice(0, 4).join(', '), 'scan-top-loss': scan.loss.values[scan.ranking[0]], 'scan-baseline': scan.baseline.loss, 'scan-top-rise': scan.loss.values[scan.ranking[0]] - scan.baseline.loss }),
      claim: 'A handful of neurons matter far more than the rest: zeroing the costliest alone raises the held-out loss by more than 0.05.',
      check: holds('scan-top-rise', '>', 0.05, 'costliest neuron’s loss rise'),
    },
    {
      view: `${TASK}/ablation`,
      widget: 'stats',
      follows: 'timeline',
      picks: ['neurons'],
      reads: { r: picked('ablate_neurons', HELD_OUT) },
      show: ({ r }) => ({ rows: v.ablationRows(r, 'ablation') }),
      live: ({ r }, { picks }) => ({ 'ablation-neurons': picks.neurons.join(', '), 'ablation-before': r.baseline.loss, 'ablation-after': r.ablated.loss, 'ablation-rise': r.ablated.loss - r.baseline.loss }),
      claim: 'Zeroing the picked neurons together costs the model much of its skill on held-out sequences.',
      check: holds('ablation-rise', '>=', 0.2, 'loss rise'),
    },
  ],
};
