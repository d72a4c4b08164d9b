// A page's state in its URL (pure functions: node tests use them too). The parameters:
//   checkpoint=<step>    a step of the pretrained timeline
//   run=<step>           a checkpoint of the reader's own run (kept in this browser only)
//   tokens=<id,id,…>     the edited input, as token ids
//   <key>=<value>        each pick the page declares in `state.picks` (see declare.js)
//   weights=<url>, config=<url>  a checkpoint of no task at a URL (notebooks/yours/: its page
//                        reads them as it opens, before the rest of the state)
// `view` and `backend` belong to the embed and the backend choice; they pass through untouched.
// A malformed parameter is dropped with a message for the control it belongs to; the rest of
// the page's state still applies.

import { picksOf } from './declare.js';

/** Longer parameter values are refused unread (a pasted megabyte must not stall the page). */
export const MAX_PARAM_CHARS = 4096;

/**
 * @typedef {object} PickParam  how one pick is written in the URL
 * @property {(text: string) => any} parse  the pick from its parameter (throws: the reason)
 * @property {(value: any) => string} format  the parameter from the pick
 * @property {string} [control]  selector of the page's control for it (where a problem is shown)
 */

/**
 * @typedef {object} UrlState
 * @property {{source: 'pretrained'|'run', step: number}|null} model
 * @property {number[]|null} tokens
 * @property {Object<string, any>} picks  only the picks the URL sets
 * @property {{key: string, message: string}[]} problems  one per parameter ignored
 */

/** The integers of "a,b,c" (throws on anything else). */
export function parseInts(text) {
  const parts = text.split(',');
  if (!parts.every((p) => /^-?\d+$/.test(p.trim()))) throw new Error(`${JSON.stringify(text)} is not a comma-separated list of integers`);
  return parts.map((p) => Number(p.trim()));
}

function parseInt1(text) {
  if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a step number`);
  return Number(text);
}

/** A pick that is one of `values` (strings). */
export function oneOf(values, control) {
  return {
    control,
    format: String,
    parse: (text) => {
      if (!values.includes(text)) throw new Error(`${JSON.stringify(text)} is not one of ${values.join(', ')}`);
      return text;
    },
  };
}

/** A pick that is a list of distinct integers in [min, max], at least one, at most `most`. */
export function intList({ min = 0, max, most = 64, what = 'value' }, control) {
  return {
    control,
    format: (list) => list.join(','),
    parse: (text) => {
      const list = parseInts(text);
      const bad = list.find((n) => n < min || n > max);
      if (bad !== undefined) throw new Error(`${bad} is not a ${what} (${min} to ${max})`);
      if (list.length > most) throw new Error(`at most ${most} ${what}s, got ${list.length}`);
      return [...new Set(list)];
    },
  };
}

/**
 * Reads the state of `page` from `search` (a query string). `info`: task_info (vocabulary and
 * context); `steps`: the pretrained timeline's steps; `labelProblem`: what the engine's
 * labeller said of the link's tokens ('' when it took them: `labelProblemOf`). Never throws.
 * @returns {UrlState}
 */
export function readState(search, page, { info, steps, labelProblem = '' }) {
  const params = new URLSearchParams(search);
  /** @type {UrlState} */
  const out = { model: null, tokens: null, picks: {}, problems: [] };
  const read = (key, parse) => {
    const text = params.get(key);
    if (text === null) return undefined;
    try {
      if (text.length > MAX_PARAM_CHARS) throw new Error(`too long (${text.length} characters)`);
      return parse(text);
    } catch (e) {
      out.problems.push({ key, message: `The link's ${key}=${clip(text)} was ignored: ${e.message}.` });
      return undefined;
    }
  };
  const checkpoint = read('checkpoint', (t) => {
    const step = parseInt1(t);
    if (!steps.includes(step)) throw new Error(`step ${step} is not in the pretrained timeline (${steps[0]} to ${steps.at(-1)}, ${steps.length} steps)`);
    return step;
  });
  if (checkpoint !== undefined) out.model = { source: 'pretrained', step: checkpoint };
  const run = read('run', parseInt1);
  if (run !== undefined) out.model = { source: 'run', step: run };
  const tokens = read('tokens', (t) => {
    const ids = parseInts(t);
    // The model's vocabulary and context, then the task's layout (the engine's labeller: the
    // one place it is written), then what this page's figures need beyond it.
    const problem = tokenProblem(ids, info) || labelProblem || page.state?.tokens?.(ids, info) || '';
    if (problem) throw new Error(problem);
    return ids;
  });
  if (tokens !== undefined) out.tokens = tokens;
  for (const [key, p] of Object.entries(page.state?.picks ?? {})) {
    const v = read(key, p.parse);
    if (v !== undefined) out.picks[key] = v;
  }
  return out;
}

/**
 * What the engine's labeller (`label(ids)`, task_label) says of the tokens in `search`: its
 * message when it refuses them, '' when it takes them or the link has none (or none that
 * parse: readState reports those).
 */
export async function labelProblemOf(search, label) {
  const text = new URLSearchParams(search).get('tokens');
  if (text === null || text.length > MAX_PARAM_CHARS) return '';
  let ids;
  try {
    ids = parseInts(text);
  } catch {
    return '';
  }
  try {
    await label(ids);
    return '';
  } catch (e) {
    return e?.message || String(e);
  }
}

/** What is wrong with `ids` as an input of the model `info` describes ('' if nothing). */
export function tokenProblem(ids, info) {
  const nVocab = info.vocab.length;
  if (!ids.length) return 'no tokens';
  if (ids.length > info.n_ctx) return `${ids.length} tokens, the model reads at most ${info.n_ctx}`;
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= nVocab);
  return bad === undefined ? '' : `${bad} is not a token id (0 to ${nVocab - 1})`;
}

/**
 * `search` with the state written in (other parameters kept): model {source, step} (imported
 * weights cannot be linked: no model parameter), tokens, and the declared picks.
 */
export function writeState(search, page, { model, tokens, picks }) {
  const params = new URLSearchParams(search);
  // Rewritten in one order (model, input, picks), whatever order the link had.
  const modelKeys = page.reader ? ['weights', 'config'] : ['checkpoint', 'run'];
  for (const k of [...modelKeys, 'tokens', ...Object.keys(page.state?.picks ?? {})]) params.delete(k);
  if (model?.source === 'pretrained') params.set('checkpoint', String(model.step));
  if (model?.source === 'run') params.set('run', String(model.step));
  if (model?.source === 'url') setUrls(params, model);
  if (tokens) params.set('tokens', tokens.join(','));
  for (const [key, p] of Object.entries(page.state?.picks ?? {})) {
    if (picks?.[key] !== undefined) params.set(key, p.format(picks[key]));
  }
  return params.toString().replace(/%2C/g, ','); // commas stay readable in a shared link
}

/** The attributes of a <toylens-view> showing `figure` in this state (what it reads only). */
export function embedAttributes(page, figure, { model, tokens, picks }) {
  const attrs = { view: figure.view };
  if (figure.follows && model?.source === 'pretrained') attrs.checkpoint = String(model.step);
  if (figure.follows && model?.source === 'run') attrs.run = String(model.step);
  if (figure.follows && model?.source === 'url') setUrls({ set: (k, v) => (attrs[k] = v) }, model);
  if (figure.follows === 'input' && tokens) attrs.tokens = tokens.join(',');
  for (const [key, value] of Object.entries(picksOf(figure, picks))) attrs[key] = page.state.picks[key].format(value);
  return attrs;
}

// weights= and config= (when the checkpoint came with one) of a checkpoint at a URL.
function setUrls(params, { weights, config }) {
  params.set('weights', weights);
  if (config) params.set('config', config);
}

function clip(text) {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
