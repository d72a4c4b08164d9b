// The widget kit on engine data: a Notebook (engine worker, backend choice, pretrained model,
// timeline, training panel) and one figure per widget, each recomputed by the engine when
// the input changes or the timeline moves. window.__toylensKit exposes the notebook to tests.
import { Notebook } from '../notebooks/notebook.js';
import { sub } from '../notebooks/common.js';

const task = new URLSearchParams(location.search).get('task') || 'cumsum';
const nb = new Notebook({ task });
window.__toylensKit = { nb, task, errors: [] };
const $ = (v) => document.querySelector(`[data-view="${v}"]`);

// The widget kit's one loading/error path (el.fill); errors are also kept for the tests.
async function figure(view, compute) {
  const error = await $(view).fill(compute);
  if (error) window.__toylensKit.errors.push(`${view}: ${error}`);
}

let tokens = null;

async function inputFigures() {
  const toks = [tokens];
  const labels = await nb.label(toks);
  document.querySelector('[data-ref="labels"]').textContent =
    `labels: ${[...labels].map((l) => (l < 0 ? '·' : nb.info.vocab_out[l])).join(' ')}`;
  const words = tokens.map((t) => nb.info.vocab[t]);
  await figure('kit/probs', async () => {
    const p = await nb.analyze('probs', { tokens: toks });
    return { values: sub(p, 0), rowLabels: words.map((w, i) => `${i}:${w}`), colLabels: p.labels.output_token ?? nb.info.vocab_out, scale: 'sequential', domain: [0, 1], xLabel: 'predicted', yLabel: 'position' };
  });
  await figure('kit/attention', async () => {
    const a = await nb.analyze('attention_pattern', { tokens: toks });
    return { tokens: words, patterns: sub(a, 0), headLabels: a.labels.head };
  });
}

async function weightFigures() {
  await figure('kit/full-ov', async () => {
    const ov = await nb.analyze('full_ov');
    return { values: sub(ov, 0), rowLabels: ov.labels.token, colLabels: ov.labels.output_token, title: 'full OV circuit W_E·W_OV·W_U (head 0)', xLabel: 'output', yLabel: 'input token' };
  });
  await figure('kit/unembed-directions', async () => {
    const s = await nb.analyze('svd_W_U', { request: { opts: { k: 2 } } });
    const p = s.projection;
    const names = p.labels.output_token;
    return { points: names.map((label, i) => ({ x: p.values[i * 2], y: p.values[i * 2 + 1], label })), xLabel: 'direction 1', yLabel: 'direction 2', title: 'W_U on its top two singular directions' };
  });
  await figure('kit/dla-by-label', async () => {
    const d = await nb.analyze('dla_by_label', { request: { limit: 500 } });
    const [, nl, nv] = d.mean.shape;
    // Each component's direct effect on the correct label's logit, mean ± std by label.
    const series = d.mean.labels.component.map((name, c) => {
      const at = (t, l) => t.values[(c * nl + l) * nv + Math.min(l, nv - 1)];
      return { name, values: Array.from({ length: nl }, (_, l) => at(d.mean, l)), errors: Array.from({ length: nl }, (_, l) => at(d.std, l)) };
    });
    return { labels: d.mean.labels.label, series, yLabel: 'logit of the correct label', title: 'direct logit attribution by label (500 held-out examples)' };
  });
  await figure('kit/probability-by-position', async () => {
    const p = await nb.analyze('predictions', { request: { limit: 200 } });
    const lp = p.log_prob;
    const [b, n] = lp.shape;
    const x = [];
    const y = [];
    for (let i = 0; i < n; i++) {
      const col = Array.from({ length: b }, (_, r) => lp.values[r * n + i]).filter((v) => v != null && Number.isFinite(v));
      if (col.length) {
        x.push(i);
        y.push(col.reduce((s, v) => s + Math.exp(v), 0) / col.length);
      }
    }
    return { series: [{ name: 'p(correct)', x, y }], xLabel: 'scored position', yLabel: 'mean probability', yDomain: [0, 1] };
  });
}

async function main() {
  await nb.start();
  const input = $('kit/input');
  const ex = await nb.client.call('task_held_out', { task, limit: 1 });
  tokens = Array.from(ex.values);
  // All at once: a vocabulary set alone would be drawn, for a moment, as an empty (invalid) input.
  input.data = { vocab: nb.info.vocab, tokens, length: tokens.length };
  input.addEventListener('change', (e) => {
    tokens = e.detail.tokens;
    inputFigures();
  });
  nb.onModel(async () => {
    await inputFigures();
    await weightFigures();
  });
}

main().catch((e) => {
  window.__toylensKit.errors.push(e.message);
  console.error(`kit page: ${e.message}`);
});
