// The "Your model" page: its figures are declared in page.js; this wires what the runtime does
// not know: the checkpoint the reader drops (source.js), the inferred config's open questions,
// token labels, and the picks' controls, whose choices follow the loaded model.
import { NotebookPage } from '../runtime.js';
import { readerInfo } from '../common.js';
import { tokenProblem } from '../permalink.js';
import page from './page.js';
import { firstSelection, parseLabels, selection, withAnswers } from './source.js';
import { axisNames, defaultHook } from './views.js';

const ref = (name) => document.querySelector(`[data-ref="${name}"]`);
const nbPage = new NotebookPage(page, { tokens: null, first: firstSelection });
const nb = nbPage.nb;
window.__notebook = nb;
const input = nbPage.el(`${page.task}/input`);
let hooks = {}; // hook name -> its rank, for the cache browser's axis controls

/** The input a model opens with: counting up through its vocabulary, filling half its context. */
function exampleTokens(info) {
  const n = Math.max(1, Math.min(info.n_ctx, 8));
  return Array.from({ length: n }, (_, k) => k % info.vocab.length);
}

function showStatus(el, text, ok = true) {
  // The worker names the op that failed ("load: …"): the reader only needs what went wrong.
  el.textContent = text.replace(/: (infer_config|load): /, ': ');
  el.className = `yo-status ${ok ? 'muted' : 'error'}`;
}

// ---- a new model: the input and the picks fit it before any figure reads them ----

nb.addEventListener('loaded', (e) => {
  const info = e.detail.info;
  if (!nbPage.tokens || tokenProblem(nbPage.tokens, info)) nbPage.tokens = exampleTokens(info);
  const cfg = info.config;
  const p = nbPage.picks;
  const fits = { layer: cfg.n_layers, head: cfg.n_heads, pos: info.n_ctx };
  for (const [key, n] of Object.entries(fits)) if (p[key] >= n) delete p[key];
  if (p.logit?.some((t) => t >= info.vocab_out.length)) delete p.logit;
  if (cfg.attn_only || p.neurons?.some((t) => t >= cfg.d_mlp)) delete p.neurons;
  showInput(info);
  fillPicks(info);
});

nb.addEventListener('model', (e) => {
  const cur = e.detail;
  showStatus(ref('status'), `${cur.label}: loaded in ${Math.round(cur.loadMs)} ms.`);
  document.documentElement.dataset.loadMs = String(cur.loadMs);
  if (cur.inferred) showInferred(cur, 'Load again with these settings');
  else ref('inferred').hidden = true;
  listHooks().catch((err) => showStatus(ref('status'), `listing the hooks: ${err.message}`, false));
});

// A load that failed (a bad file, a config that does not fit): said where the reader dropped
// it; the engine keeps the model it had, and so do the figures.
nb.addEventListener('error', (e) => showStatus(ref('status'), `${e.detail.selection?.label ?? 'the checkpoint'}: ${e.detail.message}`, false));

function showInput(info) {
  // A new array: the editor rewrites its text (in the new vocabulary's words) only when told new tokens.
  input.data = { vocab: info.vocab, tokens: [...nbPage.tokens], maxLength: info.n_ctx };
}

input.addEventListener('change', (e) => {
  nbPage.setTokens(e.detail.tokens);
  fillPositions();
});

// ---- the reader's files ----

/** Opens dropped or chosen files: a checkpoint, its config JSON, a JSON list of labels. */
async function openFiles(files) {
  const status = ref('status');
  let config = null;
  let labels = null;
  try {
    for (const f of files.filter((x) => /\.json$/i.test(x.name))) {
      const json = JSON.parse(await f.text());
      if (Array.isArray(json)) labels = json;
      else config = json;
    }
  } catch (err) {
    showStatus(status, `not JSON: ${err.message}`, false);
    return;
  }
  const file = files.find((x) => !/\.json$/i.test(x.name));
  if (!file) {
    if (labels) applyLabels(labels);
    else showStatus(status, 'a config needs its checkpoint: drop the .pt or .safetensors file with it', false);
    return;
  }
  showStatus(status, `reading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
  let sel;
  try {
    sel = await selection(nb.client, { weights: await file.arrayBuffer(), config, labels, label: file.name });
  } catch (err) {
    showStatus(status, `${file.name}: ${err.message}`, false);
    return;
  }
  if (sel.inferred) {
    // Nothing is loaded until the reader has seen what the weights could not tell.
    showStatus(status, `${file.name} has no config: check the settings below, then load it.`);
    showInferred(sel, 'Load with these settings');
  } else {
    showStatus(status, `loading ${file.name}…`);
    nb.select(sel);
  }
}

const drop = ref('drop');
ref('file').addEventListener('change', (e) => {
  openFiles([...e.target.files]);
  e.target.value = ''; // the same file chosen again is a new open
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('yo-over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('yo-over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('yo-over');
  openFiles([...e.dataTransfer.files]);
});

// ---- what the weights cannot tell ----

const choiceText = (v) => (v === null ? 'none' : String(v));

/** The inferred sizes and a control per assumed field; the button loads `sel` with the answers. */
function showInferred(sel, action) {
  const { config, assumed } = sel.inferred;
  const mlp = config.attn_only ? 'attention only' : `d_mlp ${config.d_mlp}`;
  ref('inferred-sizes').textContent = `${config.n_layers} layers, ${config.n_heads} heads of ${config.d_head}, d_model ${config.d_model}, ${mlp}, vocabulary ${config.d_vocab} → ${config.d_vocab_out}, context ${config.n_ctx}`;
  const rows = assumed.flatMap((a) => {
    const label = Object.assign(document.createElement('label'), { textContent: a.field, htmlFor: `yo-${a.field}` });
    const current = sel.config[a.field] ?? a.value;
    let control;
    if (a.choices.length) {
      control = document.createElement('select');
      for (const c of a.choices) control.add(new Option(choiceText(c), JSON.stringify(c), false, JSON.stringify(c) === JSON.stringify(current)));
      control.disabled = a.choices.length < 2;
    } else {
      control = Object.assign(document.createElement('input'), { type: 'number', step: 'any', value: String(current) });
    }
    control.id = `yo-${a.field}`;
    control.dataset.field = a.field;
    return [label, control, Object.assign(document.createElement('span'), { className: 'muted', textContent: a.why })];
  });
  ref('assumed').replaceChildren(...rows);
  ref('load').textContent = action;
  ref('load').onclick = () => loadAnswered(sel);
  ref('inferred').hidden = false;
}

async function loadAnswered(sel) {
  const answers = {};
  for (const c of ref('assumed').querySelectorAll('[data-field]')) answers[c.dataset.field] = c.localName === 'select' ? JSON.parse(c.value) : Number(c.value);
  const next = await selection(nb.client, { ...sel, config: withAnswers(sel.inferred, answers), labels: sel.labels });
  next.inferred = sel.inferred;
  showStatus(ref('status'), `loading ${sel.label}…`);
  nb.select(next);
}

// ---- token labels ----

function applyLabels(list) {
  const status = ref('labels-status');
  const cur = nb.current;
  if (!cur) return;
  let labels;
  try {
    labels = parseLabels(list, nb.info.config.d_vocab);
  } catch (err) {
    showStatus(status, err.message, false);
    return;
  }
  cur.labels = labels;
  nb.info = readerInfo(nb.info.config, labels);
  showInput(nb.info);
  fillPicks(nb.info);
  showStatus(status, `${labels.length} labels in use.`);
  nbPage.refresh(page.figures.filter((f) => f.follows).map((f) => f.view));
}

ref('apply-labels').addEventListener('click', () => {
  try {
    applyLabels(JSON.parse(ref('labels').value));
  } catch (err) {
    showStatus(ref('labels-status'), `not JSON: ${err.message}`, false);
  }
});

// ---- the picks' controls ----

/** Fills `select` with [value, text] options, selecting `value`. */
function options(select, list, value) {
  select.replaceChildren(...list.map(([v, t]) => new Option(t, v, false, v === value)));
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const str = (v) => (v == null ? '' : String(v));

function fillPicks(info) {
  const cfg = info.config;
  const p = nbPage.picks;
  options(ref('layer'), range(cfg.n_layers).map((l) => [String(l), `L${l}`]), str(p.layer ?? 0));
  options(ref('head'), range(cfg.n_heads).map((h) => [String(h), `H${h}`]), str(p.head ?? 0));
  const outs = info.vocab_out.map((t, i) => [String(i), t]);
  options(ref('logit-a'), [['', 'the top one'], ...outs], str(p.logit?.[0]));
  options(ref('logit-b'), [['', '(none)'], ...outs], str(p.logit?.[1]));
  ref('neurons').value = (p.neurons ?? []).join(',');
  ref('neurons').disabled = cfg.attn_only;
  ref('ablation').value = p.ablation ?? 'zero';
  fillPositions();
}

function fillPositions() {
  const tokens = nbPage.tokens ?? [];
  const pos = nbPage.picks.pos;
  options(ref('pos'), [['', 'the last'], ...tokens.map((t, k) => [String(k), `${k}: ${nb.info.vocab[t]}`])], str(pos));
}

const intOrUndefined = (v) => (v === '' ? undefined : Number(v));
ref('layer').addEventListener('change', (e) => nbPage.setPicks({ layer: Number(e.target.value) }));
ref('head').addEventListener('change', (e) => nbPage.setPicks({ head: Number(e.target.value) }));
ref('pos').addEventListener('change', (e) => nbPage.setPicks({ pos: intOrUndefined(e.target.value) }));
ref('ablation').addEventListener('change', (e) => nbPage.setPicks({ ablation: e.target.value }));
for (const r of ['logit-a', 'logit-b']) {
  ref(r).addEventListener('change', () => {
    const [a, b] = [intOrUndefined(ref('logit-a').value), intOrUndefined(ref('logit-b').value)];
    // A difference needs its first logit: "top − b" has no fixed meaning.
    nbPage.setPicks({ logit: a === undefined ? undefined : b === undefined ? [a] : [a, b] });
  });
}
ref('neurons').addEventListener('change', (e) => {
  const text = e.target.value.trim();
  const list = text ? text.split(/[\s,]+/).map(Number) : [];
  const bad = list.some((n) => !Number.isInteger(n) || n < 0 || n >= nb.info.config.d_mlp);
  e.target.setCustomValidity(bad ? `neurons of the MLP: 0 to ${nb.info.config.d_mlp - 1}, separated by commas` : '');
  if (!bad) nbPage.setPicks({ neurons: list.length ? list : undefined });
});

// ---- the cache browser's controls ----

/** The loaded model's hooks (one position is enough to learn their names and ranks). */
async function listHooks() {
  const tokens = nbPage.tokens.slice(0, 1);
  const { cache } = await nb.cache([tokens]);
  hooks = Object.fromEntries(Object.entries(cache).map(([name, t]) => [name, t.shape.length]));
  const names = Object.keys(hooks);
  const hook = hooks[nbPage.picks.hook] ? nbPage.picks.hook : defaultHook(names);
  options(ref('hook'), names.map((n) => [n, n]), hook);
  fillAxes(hook);
}

function fillAxes(hook) {
  const rank = hooks[hook] ?? 1;
  const names = axisNames(hook, rank);
  const axes = nbPage.picks.axes ?? [Math.max(0, rank - 2), rank - 1];
  const list = names.map((n, k) => [String(k), n]);
  options(ref('axis-row'), list, String(axes[0]));
  options(ref('axis-col'), list, String(axes[1]));
  const others = range(rank).filter((k) => !axes.includes(k));
  const at = nbPage.picks.at ?? [];
  ref('at').replaceChildren(
    ...others.map((k, i) => {
      const field = Object.assign(document.createElement('input'), { type: 'number', min: '0', step: '1', value: String(at[i] ?? 0) });
      field.dataset.at = String(i);
      field.addEventListener('change', pickAt);
      const label = document.createElement('label');
      label.append(`${names[k]} `, field);
      return label;
    }),
  );
}

function pickAt() {
  const at = [...ref('at').querySelectorAll('input')].map((f) => Number(f.value));
  if (at.every((n) => Number.isInteger(n) && n >= 0)) nbPage.setPicks({ at });
}

ref('hook').addEventListener('change', (e) => {
  nbPage.picks = { ...nbPage.picks, axes: undefined, at: undefined };
  fillAxes(e.target.value);
  nbPage.setPicks({ hook: e.target.value });
});
for (const r of ['axis-row', 'axis-col']) {
  ref(r).addEventListener('change', () => {
    const axes = [Number(ref('axis-row').value), Number(ref('axis-col').value)];
    if (axes[0] === axes[1]) return;
    nbPage.picks = { ...nbPage.picks, axes, at: undefined };
    fillAxes(ref('hook').value);
    nbPage.setPicks({ axes });
  });
}

await nbPage.start();
