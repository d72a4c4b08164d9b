// Where the "Your model" page's checkpoints come from, as selections the Notebook loads
// ({source: 'reader', …}, see ../notebook.js): bytes the reader dropped or chose (they never
// leave the browser: they go to the engine worker only), a hosted checkpoint named by the
// page's URL (?weights=<url>[&config=<url>]), or the built-in example. A checkpoint without
// its config gets the one its tensor shapes imply (the engine's infer_config); the fields the
// shapes cannot tell come back as `assumed`, which the page shows for the reader to change.
import { readerInfo } from '../common.js';

/** The example the page opens with: a TL-made 2-layer attention-only model (tests/fixtures). */
export const EXAMPLE = {
  weights: '../../fixtures/byo_attn2_ln/weights.pt',
  config: '../../fixtures/byo_attn2_ln/config.json',
  label: 'the built-in example (byo_attn2_ln)',
};

/**
 * @typedef {object} Inferred  infer_config's answer
 * @property {object} config  TL config (to_dict() shape)
 * @property {{field: string, value: any, choices: any[], why: string}[]} assumed
 */

/**
 * @typedef {object} Selection  a checkpoint of no task, ready to load (see Notebook)
 * @property {'reader'} source
 * @property {number} step  a load counter (html[data-model] is 'reader:<step>')
 * @property {ArrayBuffer} weights  .pt or safetensors bytes
 * @property {object} config  TL config
 * @property {object} info  readerInfo(config, labels): the engine's config replaces it once loaded
 * @property {string[]|null} labels  the reader's token labels
 * @property {string} label  what the page calls it
 * @property {{weights: string, config?: string}|null} url  where it came from, when linkable
 * @property {Inferred|null} inferred  when the config was inferred
 * @property {boolean} example
 */

let loads = 0;

/** A selection of `weights` with `config` (inferred when null). */
export async function selection(client, { weights, config = null, labels = null, label, url = null, example = false }) {
  let inferred = null;
  if (!config) {
    inferred = await inferConfig(client, weights);
    config = inferred.config;
  }
  const fits = labels && labels.length === config.d_vocab;
  return { source: 'reader', step: ++loads, weights, config, info: readerInfo(config, fits ? labels : null), labels: fits ? labels : null, label, url, inferred, example };
}

/** The config a checkpoint's shapes imply; a bad file rejects with the engine's message. */
export function inferConfig(client, weights) {
  return client.call('infer_config', { bytes: weights.slice(0) });
}

/** The inferred config with the reader's answers for its assumed fields. */
export function withAnswers(inferred, answers) {
  return { ...inferred.config, ...answers };
}

/** The page's first checkpoint: ?weights=<url>[&config=<url>] if given, else the example. */
export async function firstSelection(nb) {
  const params = new URLSearchParams(location.search);
  const weightsUrl = params.get('weights');
  const given = weightsUrl ? { weights: weightsUrl, config: params.get('config') } : null;
  const { weights, config } = given ?? EXAMPLE;
  const fetchFile = (url, as) =>
    nb.client.call('fetch', { url: new URL(url, location.href).href, as }).catch((e) => {
      throw new Error(`${given ? 'this link’s' : 'the example’s'} ${url === weights ? 'weights' : 'config'}: ${e.message}`);
    });
  const [bytes, json] = await Promise.all([fetchFile(weights, 'bytes'), config ? fetchFile(config, 'json') : null]);
  const url = given ? { weights, ...(config ? { config } : {}) } : null;
  const label = given ? fileName(weights) : EXAMPLE.label;
  return selection(nb.client, { weights: bytes, config: json, label, url, example: !given });
}

/** The last part of a URL's path (what the page calls a hosted checkpoint). */
export function fileName(url) {
  return decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || url);
}

/**
 * Token labels from a JSON list the reader pastes or drops: one string per token id, unique and
 * without spaces (the input editor separates tokens by spaces). Throws what is wrong.
 */
export function parseLabels(json, dVocab) {
  const list = typeof json === 'string' ? JSON.parse(json) : json;
  if (!Array.isArray(list)) throw new Error('labels: expected a JSON list of strings, one per token id');
  if (list.length !== dVocab) throw new Error(`labels: ${list.length} given, the model has ${dVocab} tokens`);
  const labels = list.map(String);
  const bad = labels.findIndex((t) => !t || /\s/.test(t));
  if (bad >= 0) throw new Error(`labels: token ${bad} (${JSON.stringify(labels[bad])}) is empty or has a space`);
  const seen = new Set();
  const dup = labels.find((t) => seen.size === seen.add(t).size);
  if (dup !== undefined) throw new Error(`labels: ${JSON.stringify(dup)} appears twice`);
  return labels;
}
