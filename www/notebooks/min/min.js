// The min_of_two notebook page: every figure is an analysis of the selected model, run by
// the engine worker on the raw weights (the notebook processes nothing). The reader's pair
// (a, b) drives the example figures; the timeline drives them all.
import { Notebook } from '../notebook.js';
import { FigureGroup, body, failPage, runAll, figure, live, numberNode, showConfig, statList, sub } from '../common.js';
import * as v from './views.js';

const TASK = 'min';
const EQUALS = 200;
const KEYS = ['a', 'b', '='];

const nb = new Notebook({ task: TASK });
window.__notebook = nb;
const input = figure(`${TASK}/input`);
const numberA = document.querySelector('[data-ref="a"]');
const numberB = document.querySelector('[data-ref="b"]');
let tokens = [Number(numberA.value), Number(numberB.value), EQUALS];

const analyze = (what, opts) => nb.analyze(what, opts);

// ---- the reader's example -----------------------------------------------------------------

const exampleGroup = new FigureGroup(
  [`${TASK}/prediction`, `${TASK}/attention-example`, `${TASK}/attention-example-bars`],
  async () => {
    const toks = [tokens];
    const [, , label] = await nb.client.call('task_label', { task: TASK, tokens: toks });
    const probs = await analyze('probs', { tokens: toks });
    const pattern = await analyze('attention_pattern', { tokens: toks });
    const from = await analyze('attention_from', { tokens: toks, request: { opts: { query: -1 } } });
    const p = v.prediction(probs, label);
    const [a, b] = tokens;
    const names = [`a = ${a}`, `b = ${b}`, '='];
    return {
      [`${TASK}/prediction`]: (el) => {
        const right = p.predicted === label;
        const line = document.createElement('p');
        line.className = right ? 'pass' : 'fail';
        line.append(`min(${a}, ${b}) = ${label}. The model predicts `, numberNode(p.predicted, 'example-prediction'), ' with probability ', numberNode(p.p));
        if (right) line.append(': right.');
        else line.append(`: wrong (it gives ${label} probability `, numberNode(p.pTrue), ').');
        body(el).replaceChildren(line);
      },
      [`${TASK}/attention-example`]: {
        tokens: tokens.map((t) => nb.info.vocab[t]),
        patterns: sub(pattern, 0),
        headLabels: ['L0 H0'],
      },
      [`${TASK}/attention-example-bars`]: v.attentionBars(from, names, `Attention from = on [${a}, ${b}, =]`),
    };
  },
);

function setPair(a, b, from) {
  tokens = [a, b, EQUALS];
  if (from !== 'numbers') {
    numberA.value = a;
    numberB.value = b;
  }
  if (from !== 'tokens') input.tokens = tokens;
  exampleGroup.run();
}

function readNumbers() {
  const a = Number(numberA.value);
  const b = Number(numberB.value);
  const ok = (x) => Number.isInteger(x) && x >= 0 && x < EQUALS;
  numberA.setCustomValidity(ok(a) ? '' : 'a number from 0 to 199');
  numberB.setCustomValidity(ok(b) ? '' : 'a number from 0 to 199');
  if (ok(a) && ok(b)) setPair(a, b, 'numbers');
}

// ---- the model ----------------------------------------------------------------------------

const meanGroup = new FigureGroup([`${TASK}/attention-mean`], async () => {
  const from = await analyze('attention_from', { request: { opts: { query: -1 } } });
  const [toA, toB, toEq] = sub(from, 0).values;
  live(document, { 'mean-to-a': toA, 'mean-to-b': toB, 'mean-to-eq': toEq });
  return { [`${TASK}/attention-mean`]: v.attentionBars(from, KEYS, 'Mean attention from = over the held-out pairs') };
});

const gridGroup = new FigureGroup([`${TASK}/attention-to-a`, `${TASK}/attention-to-b`], async () => {
  const grid = await analyze('min_attention_grid');
  live(document, { 'min-attended': v.minAttendedShare(grid) });
  return {
    [`${TASK}/attention-to-a`]: v.gridView(grid, 'a'),
    [`${TASK}/attention-to-b`]: v.gridView(grid, 'b'),
  };
});

const ovGroup = new FigureGroup([`${TASK}/full-ov`, `${TASK}/ov-diagonal`], async () => {
  const ov = await analyze('full_ov');
  const diag = await analyze('ov_diag_top1');
  const fraction = diag.values[0];
  live(document, { 'ov-diag': fraction });
  return {
    [`${TASK}/full-ov`]: v.squareHeatmap(ov, 'attended (source) token', 'output logit', 'Full OV circuit W_E·W_OV·W_U'),
    [`${TASK}/ov-diagonal`]: statList([
      ['rows checked (the numbers; = is left out)', diag.n_rows],
      ['rows whose largest logit is on the diagonal', fraction, 'ov-diag-fraction'],
    ]),
  };
});

const qkGroup = new FigureGroup([`${TASK}/full-qk`, `${TASK}/qk-eq-row`], async () => {
  const qk = await analyze('full_qk');
  const row = v.qkRow(qk, EQUALS);
  const spreads = v.rowSpreads(qk);
  live(document, {
    'qk-corr': v.correlationWithIndex(row),
    'qk-spread-ratio': spreads[EQUALS] / v.median(spreads.slice(0, EQUALS)),
  });
  return {
    [`${TASK}/full-qk`]: v.squareHeatmap(qk, 'destination token', 'source token', 'Full QK circuit W_E·W_QK·W_Eᵀ'),
    [`${TASK}/qk-eq-row`]: v.qkRowView(row),
  };
});

const summaryGroup = new FigureGroup([`${TASK}/held-out`], async () => {
  const loss = await analyze('loss');
  live(document, { 'held-out-accuracy': loss.accuracy });
  return {
    [`${TASK}/held-out`]: statList([
      ['held-out pairs', loss.n_scored],
      ['cross-entropy loss', loss.loss],
      ['accuracy', loss.accuracy, 'held-out-accuracy'],
      ['median P(correct)', loss.median_prob],
    ]),
  };
});

// Cheapest first: the engine returns the big maps slowly.
const groups = [exampleGroup, summaryGroup, ovGroup, qkGroup, meanGroup, gridGroup];

// ---- wiring -------------------------------------------------------------------------------

input.addEventListener('change', (e) => {
  const [a, b] = e.detail.tokens;
  setPair(a, b, 'tokens');
});
numberA.addEventListener('input', readNumbers);
numberB.addEventListener('input', readNumbers);

async function main() {
  nb.inputViews = exampleGroup.views;
  await nb.start();
  input.data = { vocab: nb.info.vocab, tokens, length: 3, fixed: { 2: '=' } };
  showConfig(`${TASK}/config`, nb.info.config);
  nb.onModel(async () => {
    await runAll(groups);
  });
}

main().catch(failPage);
