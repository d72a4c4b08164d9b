// "Your model" as data: a TransformerLens checkpoint the reader brings (no task: see
// ../declare.js, `reader`), taken apart with the generic views, every figure once. Which
// checkpoint, and how its files are read, is the page script's (yours.js, source.js); the
// prose and the figures' places are in index.html.
import { configRows as modelRows } from '../common.js';
import { oneOf, parseInts } from '../permalink.js';
import * as v from './views.js';

const TASK = 'yours';

/** A pick that is one integer ≥ 0 (checked against the model by the figure: views.picked). */
const index = (control) => ({
  control,
  format: String,
  parse: (text) => {
    if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a number ≥ 0`);
    return Number(text);
  },
});

/** A pick that is a list of `least` to `most` integers ≥ 0. */
const indices = (control, least, most) => ({
  control,
  format: (list) => list.join(','),
  parse: (text) => {
    const list = parseInts(text);
    if (list.length < least || list.length > most) throw new Error(`expected ${least === most ? least : `${least} to ${most}`} numbers, got ${list.length}`);
    if (list.some((n) => n < 0)) throw new Error('a negative number');
    return list;
  },
});

const hookName = (control) => ({
  control,
  format: String,
  parse: (text) => {
    if (!/^[\w.]+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a hook name`);
    return text;
  },
});

/** A cache view's request: the picked position only (as views.picked reads it). */
const atPosition = ({ picks, tokens }) => ({ opts: { positions: [v.positionOf(picks, tokens)] } });
const ofLayer = ({ picks }) => ({ opts: { layer: picks.layer ?? 0 } });

const ablated = ({ picks }) => ({ opts: { layer: picks.layer ?? 0, head: picks.head ?? 0, neurons: picks.neurons ?? [], ablation: picks.ablation ?? 'zero' } });

/**
 * A figure of the picks `picks` (the keys it reads, its requests and its view together):
 * `show(results, ctx, picked)` gets them checked against the model (views.picked; the runtime
 * passes a figure only its own picks, so views.picked checks those and defaults the rest).
 */
const picked = (name, widget, follows, picks, reads, show, claim) => ({
  view: `${TASK}/${name}`,
  widget,
  follows,
  picks,
  reads,
  show: (r, ctx) => show(r, ctx, v.picked(ctx.picks, ctx)),
  claim,
});

export default {
  task: TASK,
  reader: true,
  title: 'Your model',
  state: {
    picks: {
      layer: index('[data-ref="layer"]'),
      head: index('[data-ref="head"]'),
      pos: index('[data-ref="pos"]'),
      logit: indices('[data-ref="logit"]', 1, 2),
      neurons: indices('[data-ref="neurons"]', 1, 64),
      ablation: oneOf(['zero', 'mean'], '[data-ref="ablation"]'),
      hook: hookName('[data-ref="hook"]'),
      axes: indices('[data-ref="axes"]', 2, 2),
      at: indices('[data-ref="at"]', 0, 8),
    },
  },
  figures: [
    // ---- static ----
    { view: `${TASK}/input`, widget: 'token-input', claim: 'The token sequence every figure of the input reads.' },
    {
      view: `${TASK}/config`,
      widget: 'stats',
      follows: 'timeline',
      show: (_, { info, model }) => v.configRows(modelRows(info), model),
      claim: 'The loaded checkpoint: its TransformerLens config at a glance.',
    },

    // ---- the input (cheapest first) ----
    picked('attention', 'attention', 'input', ['layer'], { pattern: { analysis: 'attention_pattern', request: ofLayer } }, ({ pattern }, ctx, p) => v.attentionView(pattern, ctx, p), 'Where each head of the picked layer looks, query by query.'),
    picked('dla', 'bars', 'input', ['pos', 'logit'], { dla: { analysis: 'dla', request: atPosition } }, ({ dla }, ctx, p) => v.dlaView(dla, ctx, p), 'Each component’s direct effect on the picked logit (or logit difference) at the picked position.'),
    picked('decompose-resid', 'heatmap', 'input', ['pos'], { resid: { analysis: 'decompose_resid', request: atPosition } }, ({ resid }, ctx, p) => v.decomposeView(resid, ctx, p), 'The final residual stream at the picked position, split into what each component wrote.'),
    picked('logit-lens', 'heatmap', 'input', ['pos'], { lens: { analysis: 'logit_lens', request: atPosition } }, ({ lens }, ctx, p) => v.logitLensView(lens, ctx, p), 'What the residual stream would predict at each layer, read through the final LayerNorm and unembedding.'),
    {
      ...picked('ablation', 'bars', 'input', ['layer', 'head', 'pos', 'neurons', 'ablation'], { r: { analysis: 'ablated_logits', request: ablated } }, ({ r }, ctx, p) => v.ablationView(r, ctx, p), 'The logits at the picked position with the picked head (or neurons) ablated, and their change.'),
      // Row 0 is the input; a mean ablation averages over it and the reference rows.
      batch: ({ tokens, picks, info }) => (picks.ablation === 'mean' ? v.referenceBatch(tokens, info.vocab.length) : [tokens]),
    },
    picked('cache', 'heatmap', 'input', ['hook', 'axes', 'at'], { run: { op: 'cache' } }, ({ run }, { picks }) => v.cacheView(run.cache, picks), 'Any cached activation of the input, as TransformerLens names and shapes it.'),

    // ---- the weights ----
    picked('full-ov', 'heatmap', 'timeline', ['layer', 'head'], { ov: { analysis: 'full_ov', request: ofLayer } }, ({ ov }, ctx, p) => v.circuitView(ov, ctx, p, 'ov'), 'The picked head’s full OV circuit: what each attended token does to each logit.'),
    picked('full-qk', 'heatmap', 'timeline', ['layer', 'head'], { qk: { analysis: 'full_qk', request: ofLayer } }, ({ qk }, ctx, p) => v.circuitView(qk, ctx, p, 'qk'), 'The picked head’s full QK circuit: how much each token wants to attend to each other token.'),
    picked('svd', 'lines', 'timeline', ['layer', 'head'], { ov: { analysis: 'ov_svd', request: ofLayer }, qk: { analysis: 'qk_svd', request: ofLayer } }, ({ ov, qk }, ctx, p) => v.svdView(ov, qk, p), 'The singular values of the picked head’s OV and QK matrices: how many directions each uses.'),
  ],
};
