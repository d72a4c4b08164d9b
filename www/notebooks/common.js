// What both notebook pages share besides the Notebook itself: finding figures by view name,
// recomputing a group of figures with loading/error states (a newer request wins over an
// older one still in flight), reading LabeledTensors, and small text and number blocks.
import { fmt } from '../widgets/scales.js';

export { fmt };

/** The element whose data-view (or view attribute) is `view`; throws when the page lacks it. */
export function figure(view) {
  const el = document.querySelector(`[data-view="${view}"], [view="${view}"]`);
  if (!el) throw new Error(`this page has no figure ${view}`);
  return el;
}

/** Loading / ready / error on a plain element (the widgets do this themselves). */
export function setState(el, state, message = '') {
  if (typeof el.setLoading === 'function' && state === 'loading') return el.setLoading();
  if (typeof el.setError === 'function' && state === 'error') return el.setError(message);
  el.dataset.state = state;
  el.setAttribute('aria-busy', String(state === 'loading'));
  let box = el.querySelector(':scope > [data-ref="error"]');
  if (!box && state === 'error') {
    box = el.appendChild(document.createElement('div'));
    box.dataset.ref = 'error';
    box.className = 'error';
    box.setAttribute('role', 'alert');
  }
  if (box) box.textContent = state === 'error' ? message : '';
}

/**
 * A group of figures recomputed together. `run(views)` marks every view loading, then calls
 * `compute()` once; it returns {view: data | (el) => void}: widget data is assigned to
 * `el.data`, a function draws a plain element. A later run supersedes an earlier one: its
 * results are dropped. Errors land in every figure of the group, with the message shown.
 */
export class FigureGroup {
  constructor(views, compute) {
    this.views = views;
    this.compute = compute;
    this.generation = 0;
  }

  /** Marks every view loading (a run is coming). */
  markLoading() {
    this.views.map(figure).forEach((el) => setState(el, 'loading'));
  }

  async run() {
    const gen = ++this.generation;
    const els = this.views.map(figure);
    this.markLoading();
    let out;
    try {
      out = await this.compute();
    } catch (e) {
      if (gen === this.generation) els.forEach((el) => setState(el, 'error', e?.message || String(e)));
      return;
    }
    if (gen !== this.generation) return;
    this.views.forEach((view, k) => {
      const el = els[k];
      const d = out[view];
      if (d === undefined) {
        setState(el, 'error', `nothing computed for ${view}`);
      } else if (typeof d === 'function') {
        try {
          d(el);
          setState(el, 'ready');
        } catch (e) {
          setState(el, 'error', e?.message || String(e));
        }
      } else {
        el.data = d;
      }
    });
  }
}

/**
 * Recomputes `groups` one after the other (the worker runs one request at a time anyway, and
 * this way the cheap figures at the front of the list are drawn first); all are marked
 * loading at once, so no figure of the previous model passes for the new one.
 */
export async function runAll(groups) {
  // Embedded as one view (?view=NAME): only the group that draws it computes.
  const only = onlyView();
  const wanted = only ? groups.filter((g) => g.views.includes(only)) : groups;
  wanted.forEach((g) => g.markLoading());
  for (const g of wanted) await g.run();
}

/** The one view this page shows when embedded (`?view=NAME`), or null. */
export function onlyView() {
  return new URLSearchParams(location.search).get('view');
}

/** The sub-tensor of `t` at leading indices `idx` (row-major), as {shape, values}. */
export function sub(t, ...idx) {
  let offset = 0;
  let size = t.values.length;
  idx.forEach((i, k) => {
    size /= t.shape[k];
    offset += i * size;
  });
  return { shape: t.shape.slice(idx.length), values: t.values.slice(offset, offset + size) };
}

/** The tick labels of `axis` of LabeledTensor `t` (indices when it has none). */
export function labelsOf(t, axis) {
  const k = t.axes.indexOf(axis);
  if (k < 0) throw new Error(`no axis ${axis} in [${t.axes.join(', ')}]`);
  return t.labels?.[axis] ?? Array.from({ length: t.shape[k] }, (_, i) => String(i));
}

/** [rows, cols] matrix transposed (for heatmaps that want the other orientation). */
export function transpose(m) {
  const [r, c] = m.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = m.values[i * c + j];
  return { shape: [c, r], values: out };
}

/** Column `j` of a [rows, cols] matrix. */
export function column(m, j) {
  const [r, c] = m.shape;
  return Array.from({ length: r }, (_, i) => m.values[i * c + j]);
}

/**
 * Fills a plain element with a definition list of [term, value, key?] rows; a row with a key
 * gets data-value=key and data-number holding the full-precision number.
 */
export function statList(rows) {
  return (el) => {
    const dl = document.createElement('dl');
    dl.className = 'nb-stats';
    for (const [term, value, key] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.append(numberNode(value, key));
      dl.append(dt, dd);
    }
    body(el).replaceChildren(dl);
  };
}

/** A span showing `v` (4 significant digits) with its exact value in data-number. */
export function numberNode(v, key) {
  const s = document.createElement('span');
  s.textContent = typeof v !== 'number' ? String(v) : Number.isInteger(v) ? v.toLocaleString('en') : fmt(v);
  if (typeof v === 'number') {
    s.dataset.number = String(v);
    s.title = String(v);
  }
  if (key) s.dataset.value = key;
  return s;
}

/** Sets the text of every [data-live="name"] inside `root` (live numbers inside prose). */
export function live(root, values) {
  for (const [name, v] of Object.entries(values)) {
    root.querySelectorAll(`[data-live="${name}"]`).forEach((n) => {
      n.textContent = typeof v === 'number' ? fmt(v) : String(v);
      if (typeof v === 'number') n.dataset.number = String(v);
    });
  }
}

/** The element a plain figure draws into: its [data-ref="body"] child (made if missing). */
export function body(el) {
  let b = el.querySelector(':scope > [data-ref="body"]');
  if (!b) {
    b = document.createElement('div');
    b.dataset.ref = 'body';
    el.prepend(b);
  }
  return b;
}

/** The model's config at a glance, from task_info's config. */
export function configRows(cfg) {
  const mlp = cfg.attn_only ? 'none (attention only)' : `${cfg.d_mlp} neurons, ${cfg.act_fn}`;
  return [
    ['layers', cfg.n_layers],
    ['heads per layer', cfg.n_heads],
    ['d_model', cfg.d_model],
    ['d_head', cfg.d_head],
    ['MLP', mlp],
    ['normalization', cfg.normalization_type ?? 'none'],
    ['positional embedding', cfg.positional_embedding_type ?? 'standard'],
    ['vocabulary in / out', `${cfg.d_vocab} / ${cfg.d_vocab_out ?? cfg.d_vocab}`],
    ['context (n_ctx)', cfg.n_ctx],
    ['parameters', `${paramCount(cfg)} in all (TransformerLens's n_params, the hidden weight matrices only: ${cfg.n_params})`],
  ];
}

/** Parameters of a TL config, counted as HookedTransformer allocates them. */
export function paramCount(cfg) {
  const { d_model: d, d_head: dh, n_heads: h, n_layers: L, d_vocab: v, n_ctx: n } = cfg;
  const vOut = cfg.d_vocab_out > 0 ? cfg.d_vocab_out : v;
  const attn = 4 * h * d * dh + 3 * h * dh + d; // W_Q,K,V,O + b_Q,K,V + b_O
  const mlp = cfg.attn_only ? 0 : 2 * d * cfg.d_mlp + cfg.d_mlp + d;
  const norms = cfg.normalization_type ? (cfg.attn_only ? 1 : 2) * 2 * d : 0;
  const finalNorm = cfg.normalization_type ? 2 * d : 0;
  const pos = cfg.positional_embedding_type === 'standard' ? n * d : 0;
  return v * d + pos + L * (attn + mlp + norms) + finalNorm + d * vOut + vOut;
}

/** Pearson correlation of `ys` with 0, 1, 2, … (e.g. evenly spaced token values). */
export function correlationWithIndex(ys) {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  ys.forEach((y, i) => {
    sxy += (i - mx) * (y - my);
    sxx += (i - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Draws the config-at-a-glance list into figure `view`. */
export function showConfig(view, cfg) {
  const el = figure(view);
  statList(configRows(cfg))(el);
  setState(el, 'ready');
}

/** The page could not start (no engine, no model): every figure still waiting says why. */
export function failPage(e) {
  const message = e?.message || String(e);
  document.querySelectorAll('[data-view][data-state="loading"]').forEach((el) => setState(el, 'error', message));
}
