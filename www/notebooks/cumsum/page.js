// The cumsum notebook page as data: every figure once (see ../declare.js for the fields).
// Analyses read the weights as the notebook processed them (process 'cumsum'); the prose
// and the figures' places are in index.html.
import { sub, transpose } from '../common.js';
import { standardFigures } from '../declare.js';
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
      reads: { labels: { op: 'task_label' }, probs: { analysis: 'probs', request: WEIGHTS } },
      show: ({ labels, probs }, { info, tokens }) => v.labelTable(tokens.map((t) => info.vocab[t]), v.predictionRows(probs, labels, info.vocab_out)),
      live: ({ labels, probs }, { info }) => {
        const rows = v.predictionRows(probs, labels, info.vocab_out);
        return { 'example-right': rows.filter((r) => r.right).length, 'example-n': rows.length };
      },
      claim: 'The task’s own labels next to the model’s answers: a trained model gets nearly every position right.',
      checks: 'example-right',
    },
    {
      view: `${TASK}/probs`,
      widget: 'heatmap',
      follows: 'input',
      reads: { probs: a('probs') },
      show: ({ probs }, { info, tokens }) => v.probsView(probs, info.vocab, tokens),
      claim: 'A trained model puts nearly all its probability on the right class; positions where the sum just reached or left zero are the least certain.',
      checks: 'example-right',
    },
    {
      view: `${TASK}/attention`,
      widget: 'attention',
      follows: 'input',
      reads: { pattern: a('attention_pattern') },
      show: ({ pattern }, { info, tokens }) => v.attentionView(pattern, info.vocab, tokens),
      claim: 'Each query spreads its attention evenly over itself and every earlier position.',
      checks: 'uniform-loss-change',
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
      checks: 'we-share',
    },
    {
      view: `${TASK}/we-projection`,
      widget: 'bars',
      follows: 'timeline',
      reads: { we: a('svd_W_E') },
      show: ({ we }) => v.projectionView(we.projection, 'token', 'Each token’s embedding projected on W_E’s first singular direction'),
      live: ({ we }) => ({ 'we-corr': v.lineCorrelation(we.projection) }),
      claim: 'On that direction the eleven embeddings lie in order of value: a number line.',
      checks: 'we-corr',
    },
    {
      view: `${TASK}/wu-singular-values`,
      widget: 'bars',
      follows: 'timeline',
      reads: { wu: a('svd_W_U') },
      show: ({ wu }) => v.singularValuesView(wu.values, 'Singular values of W_U'),
      live: ({ wu }) => ({ 'wu-s3': wu.values[2] ?? 0, 'wu-s1': wu.values[0] }),
      claim: 'Centred W_U has rank two: its third singular value is (nearly) zero.',
      checks: 'wu-s3',
    },
    {
      view: `${TASK}/wu-directions`,
      widget: 'scatter',
      follows: 'timeline',
      reads: { wu: a('svd_W_U') },
      show: ({ wu }, { info }) => v.planeView(wu.projection, info.vocab_out, 'Unembedding directions in W_U’s top two singular directions'),
      claim: 'neg and pos sit at opposite ends of W_U’s first direction, zero off to the side along the second.',
      checks: 'wu-s3',
    },
    {
      view: `${TASK}/full-ov`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { ov: a('full_ov') },
      show: ({ ov }, { info }) => v.heatmapView(sub(ov, 0), info.vocab, info.vocab_out, 'output class', 'attended token', 'Full OV circuit W_E·W_OV·W_U'),
      live: ({ ov }, { info }) => {
        const s = v.ovSigns(sub(ov, 0), info.vocab, info.vocab_out);
        return { 'ov-neg': s.neg, 'ov-nneg': s.nNeg, 'ov-pos': s.pos, 'ov-npos': s.nPos, 'ov-zero-ratio': s.zeroRatio };
      },
      claim: 'Attending to a negative token raises neg over pos, a positive one the reverse; the +0 row is nearly empty.',
      checks: 'ov-neg',
    },
    {
      view: `${TASK}/ov-singular-values`,
      widget: 'bars',
      follows: 'timeline',
      reads: { svd: a('svd_W_E_OV') },
      show: ({ svd }) => v.singularValuesView(Array.from(sub(svd, 0).values), 'Singular values of W_E·W_OV'),
      live: ({ svd }) => ({ 'ov-share': v.topShare(sub(svd, 0).values) }),
      claim: 'W_E·W_OV is close to rank one.',
      checks: 'ov-share',
    },
    {
      view: `${TASK}/ov-projection`,
      widget: 'bars',
      follows: 'timeline',
      reads: { svd: a('svd_W_E_OV') },
      show: ({ svd }, { info }) => v.projectionView(ovProjection(svd, info), 'token', 'W_E·W_OV for each token, on its first singular direction'),
      live: ({ svd }, { info }) => ({ 'ov-corr': v.lineCorrelation(ovProjection(svd, info)) }),
      claim: 'On its first direction the tokens of W_E·W_OV sit in order of value.',
      checks: 'ov-corr',
    },
    {
      view: `${TASK}/ov-wu-directions`,
      widget: 'scatter',
      follows: 'timeline',
      reads: { dirs: a('unembed_directions') },
      show: ({ dirs }, { info }) => v.planeView(sub(dirs.embed_ov, 0), info.vocab, 'W_E·W_OV for each token, in W_U’s top two singular directions', v.signOf),
      claim: 'In W_U’s plane the tokens lie along the neg–pos axis with +0 at the origin.',
      checks: 'ov-zero-ratio',
    },
    {
      view: `${TASK}/bias-logits`,
      widget: 'heatmap',
      follows: 'timeline',
      reads: { b: a('bias_logits') },
      show: ({ b }, { info }) => v.heatmapView(b, b.labels.bias, info.vocab_out, 'output class', 'bias', 'Biases projected on W_U'),
      live: ({ b }, { info }) => {
        const f = v.biasesFavouringZero(b, info.vocab_out);
        return { 'bias-zero-count': `${f.favouring.length} of ${f.count}`, 'bias-sum-zero': f.sum.zero, 'bias-sum-neg': f.sum.neg, 'bias-sum-pos': f.sum.pos };
      },
      claim: 'The constant terms favour zero: when the signals cancel, zero wins by default.',
      checks: 'bias-sum-zero',
    },
    {
      view: `${TASK}/held-out`,
      widget: 'stats',
      follows: 'timeline',
      reads: { loss: a('loss', HELD_OUT) },
      show: ({ loss }) => ({
        rows: [
          ['positions scored', loss.n_scored],
          ['cross-entropy loss', loss.loss, 'held-out-loss'],
          ['accuracy', loss.accuracy, 'held-out-accuracy'],
          ['mean P(correct label)', loss.mean_prob],
          ['median P(correct label)', loss.median_prob],
          ['min P(correct label)', loss.min_prob],
        ],
      }),
      live: ({ loss }) => ({ 'held-out-accuracy': loss.accuracy, 'held-out-loss': loss.loss }),
      claim: 'On 1000 held-out sequences the model is nearly always right.',
      checks: 'held-out-accuracy',
    },
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
      checks: 'entropy-min',
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
      checks: 'uniform-loss-change',
    },
    {
      view: `${TASK}/dla-attn`,
      widget: 'bars',
      follows: 'timeline',
      reads: { dla: a('dla_by_label', HELD_OUT) },
      show: ({ dla }) => v.dlaView(dla, '0_attn_out'),
      live: ({ dla }) => ({ 'dla-attn-size': v.meanAbsDla(dla, '0_attn_out') }),
      claim: 'The attention output pushes toward the right sign and says little on zero sums.',
      checks: 'dla-attn-size',
    },
    {
      view: `${TASK}/dla-mlp`,
      widget: 'bars',
      follows: 'timeline',
      reads: { dla: a('dla_by_label', HELD_OUT) },
      show: ({ dla }) => v.dlaView(dla, '0_mlp_out'),
      live: ({ dla }) => ({ 'dla-mlp-size': v.meanAbsDla(dla, '0_mlp_out') }),
      claim: 'The MLP output pushes the same way, louder than attention.',
      checks: 'dla-mlp-size',
    },
    {
      view: `${TASK}/neurons-by-label`,
      widget: 'bars',
      follows: 'timeline',
      reads: { g: a('neurons_by_label', HELD_OUT) },
      show: ({ g }) => v.neuronsView(g),
      live: ({ g }, { info }) => {
        const k = v.neuronKinds(g, info.vocab_out);
        return { 'neurons-negative': list(k.negative), 'neurons-positive': list(k.positive), 'neurons-quiet': list([...k.quiet, ...k.mixed]) };
      },
      claim: 'The neurons are sign detectors: each fires on negative sums or on positive ones.',
      checks: 'neurons-negative',
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
        return { 'neurons-negative-push': push(k.negative, 'neg', 'pos'), 'neurons-positive-push': push(k.positive, 'pos', 'neg') };
      },
      claim: 'Negative detectors raise neg over pos, positive detectors pos over neg.',
      checks: 'neurons-negative-push',
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
      claim: 'In W_U’s plane the detectors’ output directions point to their sign.',
      checks: 'neurons-positive-push',
    },
  ],
};

// svd_W_E_OV's projection [head, token, sv] for head 0, labelled by token.
function ovProjection(svd, info) {
  const p = svd.projection;
  return { shape: p.shape.slice(1), values: p.values, axes: ['token', 'sv'], labels: { token: info.vocab } };
}
