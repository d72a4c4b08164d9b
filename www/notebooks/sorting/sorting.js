// The sorting notebook page: its figures are declared in page.js; this wires the input. The
// reader edits the 20 values (or picks a held-out list, stepping with ◀ ▶); the page builds
// the whole sequence (START, values, STOP, values sorted) and every example figure follows.
// The time from an edit to every example figure drawn is shown under the editor.
import { NotebookPage } from '../runtime.js';
import page, { BATCH } from './page.js';
import { LIST_LEN, N_VALUES, sequenceOf, valuesOf } from './views.js';

const picker = document.querySelector('[data-ref="example"]');
const prev = document.querySelector('[data-ref="prev"]');
const next = document.querySelector('[data-ref="next"]');
const latency = document.querySelector('[data-ref="latency"]');

const nbPage = new NotebookPage(page, { tokens: page.example, controls: ({ tokens }) => (input.tokens = valuesOf(tokens)) });
window.__notebook = nbPage.nb;
const input = nbPage.el(`${page.task}/input`);
let heldOut = []; // the first BATCH held-out lists' values
const exampleFigures = page.figures.filter((f) => f.follows === 'input').map((f) => nbPage.el(f.view));

async function setValues(values, from) {
  if (from !== 'editor') input.tokens = values;
  if (from !== 'picker') picker.value = String(heldOut.findIndex((h) => h.join() === values.join()));
  const t0 = performance.now();
  await nbPage.setTokens(sequenceOf(values));
  // To the last example figure drawn (not to the URL update that follows).
  const ms = Math.max(...exampleFigures.map((el) => el.drawnAt ?? t0)) - t0;
  window.__inputLatencyMs = ms;
  latency.textContent = `recomputed in ${ms.toFixed(1)} ms`;
}

function step(by) {
  const k = Number(picker.value);
  const at = k < 0 ? 0 : (k + by + heldOut.length) % heldOut.length;
  picker.value = String(at);
  setValues(heldOut[at], 'picker');
}

input.addEventListener('change', (e) => setValues(e.detail.tokens, 'editor'));
picker.addEventListener('change', () => Number(picker.value) >= 0 && setValues(heldOut[Number(picker.value)], 'picker'));
prev.addEventListener('click', () => step(-1));
next.addEventListener('click', () => step(1));

if (await nbPage.start()) {
  const info = nbPage.nb.info;
  input.data = { vocab: info.vocab.slice(0, N_VALUES), tokens: valuesOf(nbPage.tokens), length: LIST_LEN };
  const batch = await nbPage.nb.client.call('task_held_out', { task: page.task, limit: BATCH });
  const [n, p] = batch.shape;
  heldOut = Array.from({ length: n }, (_, b) => valuesOf(Array.from(batch.values.slice(b * p, b * p + p))));
  picker.replaceChildren(
    new Option('your list', '-1'),
    ...heldOut.map((vals, b) => new Option(`held-out #${b}: ${vals.slice(0, 6).join(' ')} …`, String(b))),
  );
  // A held-out list restored from the URL shows as that pick.
  picker.value = String(heldOut.findIndex((h) => sequenceOf(h).join() === nbPage.tokens.join()));
  for (const c of [picker, prev, next]) c.disabled = false;
}
