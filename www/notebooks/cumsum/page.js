// The cumsum notebook page as data: every figure once (see ../declare.js for the fields).
// Analyses read the weights as the notebook processed them (process 'cumsum'); the prose
// and the figures' places are in index.html.
import { sub, transpose } from '../common.js';
import { heldOutFigure, standardFigures } from '../declare.js';
import { holds } from '../claims.js';
import * as v from './views.js';

const TASK = 'cumsum';
const WEIGHTS = { process: 'cumsum' };
// The notebook analyses 1000 sequences; so does the page (the CLI's --limit 1000).
const HELD_OUT = { process: 'cumsum', limit: 1000 };
const a = (analysis, request = WEIGHTS) => ({ analysis, request });

const neurons = (nl) => Array.from({ length: nl.shape[0] }, (_, i) => `n${i}`);
const list = (ns) => (ns.length ? ns.join(', ') : 'none');

export default {
  task: TASK,
  title: 'Cumulative sum: which side of zero is the running total on?',
  // The notebook's example (+0 +1 -3 -3 -2 +3), continued to the full 20 positions so that
  // the running sum crosses zero a few times.
  example: [5, 6, 2, 2, 3, 8, 9, 7, 4, 5, 10, 3, 4, 6, 5, 1, 7, 8, 4, 4],
  // The URL's tokens= may be any sequence of the vocabulary up to n_ctx; no picks.
  state: {},
  // What the browser tests do with the page: a new sequence for the editor (20 tokens, not
  // the example), and a printed number with how the native CLI computes it.
  test: {
    edit: '-5 +5 -5 +5 +0 +1 +2 -3 -4 +4 +3 -2 -1 +0 +0 +1 -1 +2 -2 +5',
    number: {
      key: 'uniform-loss-change',
      args: ['--what', 'uniform_attention', '--process', 'cumsum', '--limit', '1000'],
      value: (j) => j.uniform.loss - j.baseline.loss,
    },
  },
  figures: [
    // ---- static: drawn by the page's controls or once from the engine's facts ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The sequence every input figure reads; edit it.' },
    ...standardFigures(TASK, { config: 'One block: one attention head, eight ReLU neurons, no LayerNorm.' }),

    // ---- the edited sequence (cheapest first) ----
    {
      view: `${TASK}/labels`,
      widget: 'table',
      follows: 'input',
      reads: { pred: a('predictions') },
      show: ({ pred }, { info, tokens }) => v.labelTable(tokens.map((t) => info.vocab[t]), v.predictionRows(pred, info.vocab_out)),
      live: ({ pred }, { info }) => {
        const rows = v.predictionRows(pred, info.vocab_out);
        const right = rows.filter((r) => r.right).length;
        return { 'example-right': right, 'example-n': rows.length, 'example-share': right / rows.length };
      },
      claim: 'The task’s own labels next to the model’s answers: it gets nearly every position of this sequence right.',
      check: holds('example-share', '>=', 0.9, 'positions right, share'),
    },
    {
      view: `${TASK}/probs`,
      widget: 'heatmap',
      follows: 'input',
      reads: { probs: a('probs'), pred: a('predictions') },
      show: ({ probs }, { info, tokens }) => v.probsView(probs, info.vocab, tokens),
      live: ({ pred }, { info }) => {
        const rows = v.predictionRows(pred, info.vocab_out);
        return { 'example-mean-p': rows.reduce((s, r) => s + r.p, 0) / rows.length };
      },
      claim: 'The model puts most of its probability on the right class at this sequence’s positions; where the sum just reached or left zero it is least certain.',
      check: holds('example-mean-p', '>=', 0.8, 'mean P(right class)'),
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: a('attention_pattern'), e: a('attention_entropy') },
      show: ({ pattern }, { info, tokens }) => v.attentionView(pattern, info.vocab, tokens),
      live: ({ e }) => ({ 'example-entropy-min': Math.min(...Array.from(e.values).slice(1)) }),
      claim: 'On this sequence each query spreads its attention evenly over itself and every earlier position.',
      check: holds('example-entropy-min', '>=', 0.95, 'least even position, entropy / ln(position + 1)'),
    },

    // ---- the model: weights first, then the held-out statistics ----
    {
      view: `${TASK}/we-singular-values`,
      widget: 'bars',
      follows: 'timeline',
      reads: { we: a('svd_W_E') },
      show: ({ we }) => v.singularValuesView(we.values, 'Singular values of W_E'),
      live: ({ we }) => ({ 'we-share': v.topShare(we.values) }),
      claim: 'The first singular direction of W_E carries most of it: the embedding is nearly one-dimensional.',
      check: holds('we-share', '>=', 0.8, 'σ1² / Σσ²'),
    },
    {
      view: `${TASK}/we-projection`,
      widget: 'bars',
      follows: 'timeline',
      reads: { we: a('svd_W_E') },
      show: ({ we }) => v.projectionView(we.projection, 'token', 'Each token’s embedding projected on W_E’s first singular direction'),
      live: ({ we }) => ({ 'we-corr': v.lineCorrelation(we.projection) }),
      claim: 'On that direction the eleven embeddings lie in order of value: a number line.',
      check: holds('we-corr', '>=', 0.95, '|correlation with the value|'),
    },
    {
      view: `${TASK}/wu-singular-values`,
      widget: 'bars',
      follows: 'timeline',
      reads: { wu: a('svd_W_U') },
      show: ({ wu }) => v.singularValuesView(wu.values, 'Singular values of W_U'),
      live: ({ wu }) => ({ 'wu-s3': wu.values[2] ?? 0, 'wu-s1': wu.values[0], 'wu-s3-ratio': (wu.values[2] ?? 0) / wu.values[0] }),
      claim: 'Centred W_U has rank two: its third singular value is (nearly) zero. With three classes centring leaves two directions, so this holds for any model, trained or not.',
      check: holds('wu-s3-ratio', '<', 0.01, 'σ3 / σ1'),
    },
    {
      view: `${TASK}/wu-directions`,
      widget: 'scatter',
      follows: 'timeline',
      reads: { wu: a('svd_W_U') },
      show: ({ wu }, { info }) => v.planeView(wu.projection, info.vocab_out, 'Unembedding directions in W_U’s top two singular directions'),
      live: ({ wu }, { info }) => {
        const c = v.classIndex(info.vocab_out);
        return { 'wu-neg-pos-cos': v.planeCosine(wu.projection, c.neg, c.pos) };
      },
      claim: 'neg and pos point opposite ways in W_U’s plane.',
      check: holds('wu-neg-pos-cos', '<', -0.5, 'cos(neg, pos)'),
    },
    {
      view: `${TASK}/full-ov`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: a('full_ov') },
      show: ({ ov }, { info }) => v.heatmapView(sub(ov, 0), info.vocab, info.vocab_out, 'output class', 'attended token', 'Full OV circuit W_E·W_OV·W_U'),
      live: ({ ov }, { info }) => {
        const s = v.ovSigns(sub(ov, 0), info.vocab, info.vocab_out);
        return { 'ov-neg': s.neg, 'ov-nneg': s.nNeg, 'ov-pos': s.pos, 'ov-npos': s.nPos, 'ov-zero-ratio': s.zeroRatio, 'ov-signs-right': (s.neg + s.pos) / (s.nNeg + s.nPos) };
      },
      claim: 'Attending to a negative token raises neg over pos, a positive one the reverse.',
      check: holds('ov-signs-right', '>=', 1, 'tokens whose sign wins, share'),
    },
    {
      view: `${TASK}/ov-singular-values`,
      widget: 'bars',
      follows: 'timeline',
      reads: { svd: a('svd_W_E_OV') },
      show: ({ svd }) => v.singularValuesView(Array.from(sub(svd, 0).values), 'Singular values of W_E·W_OV'),
      live: ({ svd }) => ({ 'ov-share': v.topShare(sub(svd, 0).values) }),
      claim: 'W_E·W_OV is close to rank one.',
      check: holds('ov-share', '>=', 0.9, 'σ1² / Σσ²'),
    },
    {
      view: `${TASK}/ov-projection`,
      widget: 'bars',
      follows: 'timeline',
      reads: { svd: a('svd_W_E_OV') },
      show: ({ svd }, { info }) => v.projectionView(ovProjection(svd, info), 'token', 'W_E·W_OV for each token, on its first singular direction'),
      live: ({ svd }, { info }) => ({ 'ov-corr': v.lineCorrelation(ovProjection(svd, info)) }),
      claim: 'On its first direction the tokens of W_E·W_OV sit in order of value.',
      check: holds('ov-corr', '>=', 0.95, '|correlation with the value|'),
    },
    {
      view: `${TASK}/ov-wu-directions`,
      widget: 'scatter',
      follows: 'timeline',
      reads: { dirs: a('unembed_directions') },
      show: ({ dirs }, { info }) => v.planeView(sub(dirs.embed_ov, 0), info.vocab, 'W_E·W_OV for each token, in W_U’s top two singular directions', v.signOf),
      live: ({ dirs }, { info }) => {
        const p = sub(dirs.embed_ov, 0);
        const k = p.shape.at(-1);
        const norm = (i) => Math.hypot(p.values[i * k], p.values[i * k + 1]);
        const zero = info.vocab.findIndex((t) => Number(t) === 0);
        const largest = Math.max(...info.vocab.map((_, i) => norm(i)));
        return { 'ov-plane-zero': norm(zero) / largest };
      },
      claim: 'In W_U’s plane +0 sits near the origin, the other tokens far out.',
      check: holds('ov-plane-zero', '<', 0.2, '|+0| / largest |token|'),
    },
    {
      view: `${TASK}/bias-logits`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { b: a('bias_logits') },
      show: ({ b }, { info }) => v.heatmapView(b, b.labels.bias, info.vocab_out, 'output class', 'bias', 'Biases projected on W_U'),
      live: ({ b }, { info }) => {
        const f = v.biasesFavouringZero(b, info.vocab_out);
        return { 'bias-zero-count': `${f.favouring.length} of ${f.count}`, 'bias-sum-zero': f.sum.zero, 'bias-sum-neg': f.sum.neg, 'bias-sum-pos': f.sum.pos, 'bias-zero-margin': f.sum.zero - Math.max(f.sum.neg, f.sum.pos) };
      },
      claim: 'The constant terms favour zero: when the signals cancel, zero wins by default.',
      check: holds('bias-zero-margin', '>', 0, 'zero − max(neg, pos), summed biases'),
    },
    heldOutFigure(TASK, {
      request: HELD_OUT,
      what: '1000 held-out sequences',
      scored: 'positions scored',
      more: (loss) => [['mean P(correct)', loss.mean_prob], ['min P(correct)', loss.min_prob]],
      notebook: 'loss 0.077, mean P(correct label) 0.936, median 0.999, min 0.551 on its 1000 sequences (trained with much weight decay, which keeps its probabilities off 1).',
    }),
    {
      view: `${TASK}/attention-entropy`,
      widget: 'lines',
      follows: 'timeline',
      reads: { e: a('attention_entropy', HELD_OUT) },
      show: ({ e }) => ({
        series: [{ name: 'L0 H0', x: Array.from({ length: e.shape[1] }, (_, q) => q), y: sub(e, 0).values }],
        xLabel: 'query position',
        yLabel: 'entropy / ln(position + 1)',
        yDomain: [0, 1.05],
        title: 'How evenly the head spreads its attention (1 = uniform over the positions it sees)',
      }),
      live: ({ e }) => ({ 'entropy-min': Math.min(...Array.from(e.values).slice(1)) }),
      claim: 'At every position the head spreads its attention almost as evenly as it can.',
      check: holds('entropy-min', '>=', 0.95, 'least even position, mean entropy / ln(position + 1)'),
    },
    {
      view: `${TASK}/uniform-attention`,
      widget: 'stats',
      follows: 'timeline',
      reads: { u: a('uniform_attention', HELD_OUT) },
      show: ({ u }) => ({
        rows: [
          ['loss, as trained', u.baseline.loss, 'uniform-loss-before'],
          ['loss, uniform attention', u.uniform.loss, 'uniform-loss-after'],
          ['loss change', u.uniform.loss - u.baseline.loss, 'uniform-loss-change'],
          ['accuracy, as trained', u.baseline.accuracy],
          ['accuracy, uniform attention', u.uniform.accuracy],
          ['accuracy change', u.uniform.accuracy - u.baseline.accuracy, 'uniform-accuracy-change'],
        ],
      }),
      live: ({ u }) => ({ 'uniform-loss-change': u.uniform.loss - u.baseline.loss, 'uniform-accuracy-change': u.uniform.accuracy - u.baseline.accuracy }),
      claim: 'Exactly uniform causal attention scores as well as the trained head: attention only averages.',
      notebook: 'loss 0.07664 as trained, 0.07663 with uniform attention.',
      check: holds('uniform-loss-change', '<', 0.01, 'loss change'),
    },
    {
      view: `${TASK}/dla-attn`,
      widget: 'bars',
      follows: 'timeline',
      reads: { dla: a('dla_by_label', HELD_OUT) },
      show: ({ dla }) => v.dlaView(dla, '0_attn_out'),
      live: ({ dla }, { info }) => ({ 'dla-attn-size': v.meanAbsDla(dla, '0_attn_out'), 'dla-attn-margin': v.dlaSignMargin(dla, '0_attn_out', info.vocab_out) }),
      claim: 'The attention output pushes toward the right sign: on neg positions neg over pos, on pos positions pos over neg.',
      check: holds('dla-attn-margin', '>', 0, 'smaller of the two margins'),
    },
    {
      view: `${TASK}/dla-mlp`,
      widget: 'bars',
      follows: 'timeline',
      reads: { dla: a('dla_by_label', HELD_OUT) },
      show: ({ dla }) => v.dlaView(dla, '0_mlp_out'),
      live: ({ dla }, { info }) => ({ 'dla-mlp-size': v.meanAbsDla(dla, '0_mlp_out'), 'dla-mlp-margin': v.dlaSignMargin(dla, '0_mlp_out', info.vocab_out) }),
      claim: 'The MLP output pushes toward the right sign too.',
      check: holds('dla-mlp-margin', '>', 0, 'smaller of the two margins'),
    },
    {
      view: `${TASK}/neurons-by-label`,
      widget: 'bars',
      follows: 'timeline',
      reads: { g: a('neurons_by_label', HELD_OUT) },
      show: ({ g }) => v.neuronsView(g),
      live: ({ g }, { info }) => {
        const k = v.neuronKinds(g, info.vocab_out);
        const n = g.mean.shape[1];
        return { 'neurons-negative': list(k.negative), 'neurons-positive': list(k.positive), 'neurons-quiet': list([...k.quiet, ...k.mixed]), 'neurons-detectors': (k.negative.length + k.positive.length) / n };
      },
      claim: 'Most neurons are sign detectors: each fires on negative sums or on positive ones, at least twice as much as on the other (the notebook’s model: all of its eight; ours: see the list below).',
      check: holds('neurons-detectors', '>', 0.5, 'detectors, share of the neurons'),
    },
    {
      view: `${TASK}/neuron-logits`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { g: a('neurons_by_label', HELD_OUT), nl: a('neuron_logits') },
      show: ({ nl }, { info }) => v.heatmapView(transpose(nl), info.vocab_out, neurons(nl), 'neuron', 'output class', 'Each neuron’s direct effect on the logits, W_out·W_U'),
      live: ({ g, nl }, { info }) => {
        const k = v.neuronKinds(g, info.vocab_out);
        const push = (ns, to, from) => `${v.neuronsPushing(nl, ns, to, from, info.vocab_out)} of ${ns.length}`;
        const right = v.neuronsPushing(nl, k.negative, 'neg', 'pos', info.vocab_out) + v.neuronsPushing(nl, k.positive, 'pos', 'neg', info.vocab_out);
        const detectors = k.negative.length + k.positive.length;
        return { 'neurons-negative-push': push(k.negative, 'neg', 'pos'), 'neurons-positive-push': push(k.positive, 'pos', 'neg'), 'detectors-push-right': detectors ? right / detectors : NaN };
      },
      claim: 'Negative detectors raise neg over pos, positive detectors pos over neg.',
      check: holds('detectors-push-right', '>=', 1, 'detectors pushing their sign, share'),
    },
    {
      view: `${TASK}/neuron-wu-directions`,
      widget: 'scatter',
      follows: 'timeline',
      reads: { g: a('neurons_by_label', HELD_OUT), dirs: a('unembed_directions') },
      show: ({ g, dirs }, { info }) => {
        const k = v.neuronKinds(g, info.vocab_out);
        const kindOf = (_, i) => (k.negative.includes(i) ? 'negative' : k.positive.includes(i) ? 'positive' : 'other');
        const names = Array.from({ length: dirs.w_out.shape[0] }, (_, i) => `n${i}`);
        return v.planeView(dirs.w_out, names, 'Each neuron’s output direction (W_out) in W_U’s top two singular directions', kindOf);
      },
      live: ({ g, dirs }, { info }) => {
        const k = v.neuronKinds(g, info.vocab_out);
        return { 'detectors-point-right': v.pointingShare(dirs, k, info.vocab_out) };
      },
      claim: 'In W_U’s plane the detectors’ output directions point to their sign: closer to its class than to the other.',
      check: holds('detectors-point-right', '>=', 1, 'detectors pointing to their sign, share'),
    },
  ],
};

// svd_W_E_OV's projection [head, token, sv] for head 0, labelled by token.
function ovProjection(svd, info) {
  const p = svd.projection;
  return { shape: p.shape.slice(1), values: p.values, axes: ['token', 'sv'], labels: { token: info.vocab } };
}
