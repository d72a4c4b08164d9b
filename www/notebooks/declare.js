// What a page declaration means, as pure functions (no DOM: node tests use them too).
//
// A page (www/notebooks/<task>/page.js) exports {task, title, figures, test}; `reader: true`
// marks a page of no task, whose model the reader brings (`task` then only names its views;
// see notebook.js). Each figure:
//   view     'task/name': its stable name (data-view, embeds, tests)
//   widget   which <tl-…> element shows it (WIDGETS below)
//   follows  'input' (the edited input and the timeline), 'timeline', or absent (static)
//   reads    {name: {analysis, request?} | {op: 'task_label'} | {op: 'curves'} | {op: 'cache'}}:
//            what it asks the engine for (curves: the selected model's training run, see
//            Notebook.curves; cache: run_with_cache, every hook, of the input);
//            a figure that follows the input passes the input's tokens with every read;
//            request may be a function of ctx (e.g. of the page's picks); `sample: n` (with a
//            request.limit above n): the figure is drawn first from n examples, said to be a
//            first pass, then from all of them (data-state "refining" in between)
//   batch    optional (ctx) -> number[][]: the token rows a figure of the input reads (default
//            [ctx.tokens]; e.g. the input and reference rows that a mean ablation averages over)
//   picks    ['key', …]: the picks it reads (keys of state.picks: the reader's choices outside
//            the input, set by the page's script with NotebookPage.setPicks). Its ctx.picks holds
//            these only, it is computed again when one of them changes, and its embed carries
//            them; list every pick its reads, batch, show and live use (helpers included)
//   show     (results by read name, ctx {info, tokens, picks, model}) -> the widget's data
//            (model: the selected checkpoint, {source, step, label})
//   live     optional (results, ctx) -> {name: value}: numbers the prose quotes (data-live)
//   claim    what the figure shows, in a sentence
//   check    {key, op, than, says}: the predicate that decides the claim for the model and
//            input on screen, on live()'s number `key` (see claims.js); every computed figure
//            of a task page has one, and the page shows its verdict (data-claim)
//   by       the element that draws it instead of the page (e.g. the training panel's curves)
//   notebook what the notebook printed for its own model that this figure measures on ours
//            (numbers copied from ../shared/notebooks, never computed): shown under the
//            figure, labelled as the notebook's, so a reader sees what carried over
// Figures are computed in list order, cheapest first; figures with an equal read share one
// engine call per model (the runtime keeps the results of a run). `engines: 2` (optional) runs
// the page's analyses on two engines (two workers, two cores): for pages whose figures read
// forwards of different batches that take seconds on one.
//
// The page's state, all in its URL (permalink.js): the model (checkpoint=, run=), the edited
// input (tokens=) and the picks. `state` declares what is page-specific:
//   state.tokens  (ids, info) -> '' or why `ids` are not an input of this page's figures
//                 beyond what every page checks: the vocabulary and the context, then the
//                 task's layout (the engine's labeller, task_label)
//   state.picks   {key: PickParam}: how each pick is written in the URL (its key is the
//                 parameter's name) and which control shows it (permalink.js: oneOf, intList)

import { configRows } from './common.js';
import { checkCheck, holds } from './claims.js';

export const WIDGETS = {
  heatmap: 'tl-heatmap',
  attention: 'tl-attention',
  bars: 'tl-bars',
  lines: 'tl-lines',
  scatter: 'tl-scatter',
  'token-input': 'tl-token-input',
  stats: 'tl-stats',
  text: 'tl-text',
  table: 'tl-table',
  claims: 'tl-claims',
};

const FOLLOWS = ['input', 'timeline', undefined];

/** Throws on a declaration that cannot work: the message names the figure and the field. */
export function checkPage(page) {
  const seen = new Set();
  if (page.engines !== undefined && ![1, 2].includes(page.engines)) throw new Error(`${page.task}: engines is 1 or 2 (one worker per core of a small machine)`);
  if (page.state?.tokens !== undefined && typeof page.state.tokens !== 'function') throw new Error(`${page.task}: state.tokens must be a function (ids, info) -> problem`);
  for (const [key, p] of Object.entries(page.state?.picks ?? {})) {
    if (typeof p?.parse !== 'function' || typeof p?.format !== 'function') throw new Error(`${page.task}: state.picks.${key} needs parse() and format() (see permalink.js)`);
    if (['view', 'backend', 'checkpoint', 'run', 'tokens'].includes(key)) throw new Error(`${page.task}: state.picks.${key}: the URL parameter ${key} is taken`);
  }
  for (const f of page.figures) {
    const at = `${page.task}: figure ${JSON.stringify(f.view)}`;
    if (typeof f.view !== 'string' || !f.view.startsWith(`${page.task}/`)) throw new Error(`${at}: view must start with "${page.task}/"`);
    if (seen.has(f.view)) throw new Error(`${at}: declared twice`);
    seen.add(f.view);
    if (!WIDGETS[f.widget]) throw new Error(`${at}: unknown widget ${JSON.stringify(f.widget)} (one of ${Object.keys(WIDGETS).join(', ')})`);
    if (!FOLLOWS.includes(f.follows)) throw new Error(`${at}: follows must be 'input', 'timeline' or absent`);
    if (f.follows && typeof f.show !== 'function') throw new Error(`${at}: a computed figure needs show()`);
    for (const [name, r] of Object.entries(f.reads ?? {})) {
      if (r.sample !== undefined && !(Number.isInteger(r.sample) && r.sample > 0 && typeof r.request === 'object' && r.sample < r.request.limit)) throw new Error(`${at}: read ${name}: sample must be a whole number below its request.limit`);
      if (!(typeof r.analysis === 'string' || ['task_label', 'curves', 'cache'].includes(r.op))) throw new Error(`${at}: read ${name} needs an analysis name or op: 'task_label' | 'curves' | 'cache'`);
    }
    if (f.picks !== undefined) {
      if (!Array.isArray(f.picks) || !f.picks.length) throw new Error(`${at}: picks must list the keys of state.picks it reads`);
      const unknown = f.picks.filter((k) => !Object.hasOwn(page.state?.picks ?? {}, k));
      if (unknown.length) throw new Error(`${at}: picks ${unknown.join(', ')} not declared in state.picks (${Object.keys(page.state?.picks ?? {}).join(', ') || 'none'})`);
      if (!f.follows) throw new Error(`${at}: a figure of the picks must follow 'input' or 'timeline'`);
    }
    if (typeof f.claim !== 'string' || !f.claim) throw new Error(`${at}: no claim`);
    if (f.follows && !page.reader) {
      checkCheck(f.check, at);
      if (typeof f.live !== 'function') throw new Error(`${at}: a checked claim needs live() to return ${f.check.key}`);
    }
    if (f.notebook !== undefined && (typeof f.notebook !== 'string' || !f.notebook)) throw new Error(`${at}: notebook must be the notebook's printed numbers, as text`);
    if (f.checks !== undefined) throw new Error(`${at}: checks: is gone; declare check: {key, op, than, says}`);
  }
  return page;
}

/** The views of `page` that follow `follows` ('input', 'timeline', or undefined: static). */
export function viewsFollowing(page, follows) {
  return page.figures.filter((f) => f.follows === follows).map((f) => f.view);
}

/** Computed figures (they follow something and have show()), in recompute order. */
export function computed(page) {
  return page.figures.filter((f) => f.follows);
}

/** Computed figures that read one of the pick keys `keys` (what a change of them recomputes). */
export function readingPicks(page, keys) {
  return computed(page).filter((f) => f.picks?.some((k) => keys.includes(k)));
}

/** The picks `figure` reads, of all the page's `picks` (only those set). */
export function picksOf(figure, picks) {
  return Object.fromEntries((figure.picks ?? []).filter((k) => picks?.[k] !== undefined).map((k) => [k, picks[k]]));
}

/** Static figures the page draws once from engine facts (no reads, not drawn by another element). */
export function drawnOnce(page) {
  return page.figures.filter((f) => !f.follows && f.show && !f.by);
}

/**
 * What `figure` asks the engine for in `ctx`: [[name, read, tokens]], each read's request
 * resolved and `tokens` the figure's batch (none for a figure of the weights).
 */
export function readsOf(figure, ctx) {
  const tokens = figure.follows === 'input' ? (figure.batch?.(ctx) ?? [ctx.tokens]) : undefined;
  return Object.entries(figure.reads ?? {}).map(([name, r]) => [name, typeof r.request === 'function' ? { ...r, request: r.request(ctx) } : r, tokens]);
}

/** One engine call's identity: the same key, the same result for one model and input. */
export function readKey(read, tokens) {
  return JSON.stringify([read.op ?? 'analyze', read.analysis ?? null, read.request ?? null, tokens ?? null]);
}

/**
 * Figure groups: figures that share an engine call (the same read and follows), as lists of
 * views, ordered by their first figure. What the docs show as "computed together".
 */
export function groupsOf(page) {
  const figs = computed(page);
  const parent = figs.map((_, i) => i);
  const root = (i) => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  const owner = new Map();
  figs.forEach((f, i) => {
    for (const r of Object.values(f.reads ?? {})) {
      const key = `${f.follows}:${readKey(r)}`;
      if (owner.has(key)) parent[root(i)] = root(owner.get(key));
      else owner.set(key, i);
    }
  });
  const groups = new Map();
  figs.forEach((f, i) => {
    const g = root(i);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(f.view);
  });
  return [...groups.values()];
}

/** The page that declares `view` among `pages`, or null. */
export function pageOf(pages, view) {
  return pages.find((p) => p.figures.some((f) => f.view === view)) ?? null;
}

/**
 * The held-out figure every notebook page but addition has: the `loss` analysis (with
 * `request`) as <tl-stats>, the accuracy and loss as live numbers, and the claim that the model
 * is nearly always right on `what` (e.g. 'the 8000 held-out pairs'). `scored` names what
 * n_scored counts; `first` (ctx -> rows) goes before, `more` (loss -> rows) after the median;
 * `notebook`: what the notebook printed for its own model; `sample`: drawn first from that many
 * of the request's `limit` examples (a first pass, said so), then from all of them.
 */
export function heldOutFigure(task, { request, what, scored, first = () => [], more = () => [], notebook, sample }) {
  return {
    view: `${task}/held-out`,
    widget: 'stats',
    follows: 'timeline',
    reads: { loss: { analysis: 'loss', request, ...(sample ? { sample } : {}) } },
    show: ({ loss }, ctx) => ({
      rows: [
        ...first(ctx),
        [scored, loss.n_scored],
        ['cross-entropy loss', loss.loss, 'held-out-loss'],
        ['accuracy', loss.accuracy, 'held-out-accuracy'],
        ['median P(correct)', loss.median_prob],
        ...more(loss),
      ],
    }),
    live: ({ loss }) => ({ 'held-out-accuracy': loss.accuracy, 'held-out-loss': loss.loss }),
    claim: `On ${what} the model is nearly always right.`,
    check: holds('held-out-accuracy', '>=', 0.95, 'accuracy'),
    ...(notebook ? { notebook } : {}),
  };
}

/**
 * The static figures every notebook page has: the model at a glance (from the engine's facts;
 * `config` is its claim), the training panel's two curves and the emergence view of the
 * page's claims (emergence.js).
 */
export function standardFigures(task, { config }) {
  return [
    { view: `${task}/config`, widget: 'stats', show: (_, { info }) => ({ rows: configRows(info) }), claim: config },
    { view: `${task}/training-loss`, widget: 'lines', by: 'tl-train-panel', claim: 'The loss of the reader’s own run, step by step.' },
    { view: `${task}/training-accuracy`, widget: 'lines', by: 'tl-train-panel', claim: 'The accuracy of the reader’s own run, step by step.' },
    { view: `${task}/claims`, widget: 'claims', by: 'tl-claims', claim: 'Each claim of the page at each checkpoint: where it holds, and so when each mechanism forms.' },
  ];
}
