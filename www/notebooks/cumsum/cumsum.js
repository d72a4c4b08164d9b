// The cumsum notebook page: every figure is an analysis of the selected model run by the
// engine worker (analyses on the weights as the notebook processed them: process 'cumsum').
// Figures that read the edited sequence follow the editor; all follow the timeline.
import { Notebook } from '../notebook.js';
import { FigureGroup, body, failPage, runAll, figure, fmt, live, showConfig, statList, transpose } from '../common.js';
import * as v from './views.js';

const TASK = 'cumsum';
// The notebook's example (+0 +1 -3 -3 -2 +3), continued to the full 20 positions so that the
// running sum crosses zero a few times.
const EXAMPLE = [5, 6, 2, 2, 3, 8, 9, 7, 4, 5, 10, 3, 4, 6, 5, 1, 7, 8, 4, 4];
// The notebook analyses 1000 sequences; so does the page (the CLI's --limit 1000).
const HELD_OUT = { process: 'cumsum', limit: 1000 };
const WEIGHTS = { process: 'cumsum' };

const nb = new Notebook({ task: TASK });
window.__notebook = nb; // for tests and curious readers
const input = figure(`${TASK}/input`);
let tokens = EXAMPLE;

const analyze = (what, request, toks) => nb.analyze(what, { tokens: toks, request });

// ---- figures of the edited sequence -------------------------------------------------------

const inputGroup = new FigureGroup([`${TASK}/labels`, `${TASK}/probs`, `${TASK}/attention`], async () => {
  const { vocab, vocab_out: vocabOut } = nb.info;
  const labels = await nb.client.call('task_label', { task: TASK, tokens: [tokens] });
  const probs = await analyze('probs', WEIGHTS, [tokens]);
  const pattern = await analyze('attention_pattern', WEIGHTS, [tokens]);
  const rows = v.predictionRows(probs, labels, vocabOut);
  const right = rows.filter((r) => r.right).length;
  live(document, { 'example-right': right, 'example-n': rows.length });
  return {
    [`${TASK}/labels`]: (el) => drawLabelRow(el, tokens.map((t) => vocab[t]), rows),
    [`${TASK}/probs`]: v.probsView(probs, vocab, tokens),
    [`${TASK}/attention`]: v.attentionView(pattern, vocab, tokens),
  };
});

function drawLabelRow(el, toks, rows) {
  const table = document.createElement('table');
  table.className = 'nb-labels';
  const line = (head, cells, cls) => {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = head;
    tr.append(th);
    cells.forEach((c, i) => {
      const td = tr.insertCell();
      td.textContent = c;
      if (cls) td.className = cls(i);
    });
  };
  line('position', toks.map((_, i) => String(i)), () => 'muted');
  line('token', toks);
  line('label', rows.map((r) => r.label));
  line('model says', rows.map((r) => r.predicted), (i) => (rows[i].right ? 'pass' : 'fail'));
  line('P(label)', rows.map((r) => fmt(r.p)));
  body(el).replaceChildren(table);
}

// ---- figures of the model -----------------------------------------------------------------

const heldOutGroup = new FigureGroup([`${TASK}/held-out`, `${TASK}/uniform-attention`], async () => {
  const loss = await analyze('loss', HELD_OUT);
  const u = await analyze('uniform_attention', HELD_OUT);
  const change = u.uniform.loss - u.baseline.loss;
  live(document, {
    'uniform-loss-change': change,
    'uniform-accuracy-change': u.uniform.accuracy - u.baseline.accuracy,
    'held-out-accuracy': loss.accuracy,
    'held-out-loss': loss.loss,
  });
  return {
    [`${TASK}/held-out`]: statList([
      ['positions scored', loss.n_scored],
      ['cross-entropy loss', loss.loss, 'held-out-loss'],
      ['accuracy', loss.accuracy, 'held-out-accuracy'],
      ['mean P(correct label)', loss.mean_prob],
      ['median P(correct label)', loss.median_prob],
      ['min P(correct label)', loss.min_prob],
    ]),
    [`${TASK}/uniform-attention`]: statList([
      ['loss, as trained', u.baseline.loss, 'uniform-loss-before'],
      ['loss, uniform attention', u.uniform.loss, 'uniform-loss-after'],
      ['loss change', change, 'uniform-loss-change'],
      ['accuracy, as trained', u.baseline.accuracy],
      ['accuracy, uniform attention', u.uniform.accuracy],
      ['accuracy change', u.uniform.accuracy - u.baseline.accuracy, 'uniform-accuracy-change'],
    ]),
  };
});

const dlaGroup = new FigureGroup([`${TASK}/dla-attn`, `${TASK}/dla-mlp`], async () => {
  const dla = await analyze('dla_by_label', HELD_OUT);
  live(document, {
    'dla-attn-size': v.meanAbsDla(dla, '0_attn_out'),
    'dla-mlp-size': v.meanAbsDla(dla, '0_mlp_out'),
  });
  return {
    [`${TASK}/dla-attn`]: v.dlaView(dla, '0_attn_out'),
    [`${TASK}/dla-mlp`]: v.dlaView(dla, '0_mlp_out'),
  };
});

const embedGroup = new FigureGroup(
  [`${TASK}/we-singular-values`, `${TASK}/we-projection`, `${TASK}/wu-singular-values`, `${TASK}/wu-directions`],
  async () => {
    const we = await analyze('svd_W_E', WEIGHTS);
    const wu = await analyze('svd_W_U', WEIGHTS);
    const proj = we.projection;
    live(document, {
      'we-share': v.topShare(we.values),
      'we-corr': Math.abs(v.correlationWithIndex(Array.from({ length: proj.shape[0] }, (_, i) => proj.values[i * proj.shape[1]]))),
      'wu-s3': wu.values[2] ?? 0,
      'wu-s1': wu.values[0],
    });
    return {
      [`${TASK}/we-singular-values`]: v.singularValuesView(we.values, 'Singular values of W_E'),
      [`${TASK}/we-projection`]: v.projectionView(proj, 'token', 'Each token’s embedding projected on W_E’s first singular direction'),
      [`${TASK}/wu-singular-values`]: v.singularValuesView(wu.values, 'Singular values of W_U'),
      [`${TASK}/wu-directions`]: v.planeView(wu.projection, nb.info.vocab_out, 'Unembedding directions in W_U’s top two singular directions'),
    };
  },
);

const ovGroup = new FigureGroup(
  [`${TASK}/full-ov`, `${TASK}/ov-singular-values`, `${TASK}/ov-projection`, `${TASK}/ov-wu-directions`],
  async () => {
    const ov = await analyze('full_ov', WEIGHTS);
    const svd = await analyze('svd_W_E_OV', WEIGHTS);
    const dirs = await analyze('unembed_directions', WEIGHTS);
    const m = { shape: ov.shape.slice(1), values: ov.values.slice(0, ov.shape[1] * ov.shape[2]) };
    const vocab = nb.info.vocab;
    const signs = v.ovSigns(m, vocab);
    const s = Array.from(svd.values.slice(0, svd.shape[1]));
    const proj = { shape: svd.projection.shape.slice(1), values: svd.projection.values };
    live(document, {
      'ov-neg': signs.neg,
      'ov-nneg': signs.nNeg,
      'ov-pos': signs.pos,
      'ov-npos': signs.nPos,
      'ov-zero-ratio': signs.zeroRatio,
      'ov-share': v.topShare(s),
      'ov-corr': Math.abs(v.correlationWithIndex(Array.from({ length: proj.shape[0] }, (_, i) => proj.values[i * proj.shape[1]]))),
    });
    const embedOv = { shape: dirs.embed_ov.shape.slice(1), values: dirs.embed_ov.values };
    return {
      [`${TASK}/full-ov`]: v.heatmapView(m, vocab, nb.info.vocab_out, 'output class', 'attended token', 'Full OV circuit W_E·W_OV·W_U'),
      [`${TASK}/ov-singular-values`]: v.singularValuesView(s, 'Singular values of W_E·W_OV'),
      [`${TASK}/ov-projection`]: v.projectionView({ ...proj, axes: ['token', 'sv'], labels: { token: vocab } }, 'token', 'W_E·W_OV for each token, on its first singular direction'),
      [`${TASK}/ov-wu-directions`]: v.planeView(embedOv, vocab, 'W_E·W_OV for each token, in W_U’s top two singular directions', v.signOf),
    };
  },
);

const mlpGroup = new FigureGroup(
  [`${TASK}/neurons-by-label`, `${TASK}/neuron-logits`, `${TASK}/neuron-wu-directions`],
  async () => {
    const g = await analyze('neurons_by_label', HELD_OUT);
    const nl = await analyze('neuron_logits', WEIGHTS);
    const dirs = await analyze('unembed_directions', WEIGHTS);
    const kinds = v.neuronKinds(g);
    const list = (ns) => (ns.length ? ns.join(', ') : 'none');
    live(document, {
      'neurons-negative': list(kinds.negative),
      'neurons-positive': list(kinds.positive),
      'neurons-quiet': list([...kinds.quiet, ...kinds.mixed]),
      'neurons-negative-push': `${v.neuronsPushing(nl, kinds.negative, 'neg', 'pos')} of ${kinds.negative.length}`,
      'neurons-positive-push': `${v.neuronsPushing(nl, kinds.positive, 'pos', 'neg')} of ${kinds.positive.length}`,
    });
    const neurons = Array.from({ length: nl.shape[0] }, (_, i) => `n${i}`);
    const kindOf = (_, i) => (kinds.negative.includes(i) ? 'negative' : kinds.positive.includes(i) ? 'positive' : 'other');
    return {
      [`${TASK}/neurons-by-label`]: v.neuronsView(g),
      [`${TASK}/neuron-logits`]: v.heatmapView(
        transpose(nl),
        nb.info.vocab_out, neurons, 'neuron', 'output class', 'Each neuron’s direct effect on the logits, W_out·W_U',
      ),
      [`${TASK}/neuron-wu-directions`]: v.planeView(dirs.w_out, neurons, 'Each neuron’s output direction (W_out) in W_U’s top two singular directions', kindOf),
    };
  },
);

const biasGroup = new FigureGroup([`${TASK}/bias-logits`], async () => {
  const b = await analyze('bias_logits', WEIGHTS);
  const f = v.biasesFavouringZero(b);
  live(document, {
    'bias-zero-count': `${f.favouring.length} of ${f.count}`,
    'bias-sum-zero': f.sum[1],
    'bias-sum-neg': f.sum[0],
    'bias-sum-pos': f.sum[2],
  });
  return {
    [`${TASK}/bias-logits`]: v.heatmapView(b, b.labels.bias, nb.info.vocab_out, 'output class', 'bias', 'Biases projected on W_U'),
  };
});

const modelGroups = [inputGroup, embedGroup, ovGroup, biasGroup, heldOutGroup, dlaGroup, mlpGroup];

// ---- wiring -------------------------------------------------------------------------------

input.addEventListener('change', (e) => {
  tokens = e.detail.tokens;
  inputGroup.run();
});

async function main() {
  nb.inputViews = inputGroup.views;
  await nb.start();
  const { vocab } = nb.info;
  input.data = { vocab, tokens: EXAMPLE };
  showConfig(`${TASK}/config`, nb.info.config);
  nb.onModel(async () => {
    await runAll(modelGroups);
  });
}

main().catch(failPage);
