// The majority page: its figures are declared in page.js; this wires the sequence editor and
// the pickers (neurons to follow and ablate, the value whose running count is overlaid).
import { NotebookPage } from '../runtime.js';
import page, { CRITICAL } from './page.js';

const MAX_LEN = 128; // the model's context
const neuronsBox = document.querySelector('[data-ref="neurons"]');
const valueBox = document.querySelector('[data-ref="value"]');
const note = document.querySelector('[data-ref="pick-note"]');
// The sequence and the picks in the page's controls (defaults, then a state from the URL).
function showState({ tokens, picks }) {
  input.tokens = tokens;
  neuronsBox.value = picks.neurons.join(', ');
  valueBox.value = picks.value;
}
const nbPage = new NotebookPage(page, { tokens: page.example, picks: page.picks, controls: showState });
window.__notebook = nbPage.nb; // for tests and curious readers
const input = nbPage.el(`${page.task}/input`);

input.addEventListener('change', (e) => {
  let tokens = e.detail.tokens;
  if (tokens.length > MAX_LEN) {
    tokens = tokens.slice(0, MAX_LEN);
    input.tokens = tokens;
  }
  nbPage.setTokens(tokens);
});

function setNeurons(list) {
  neuronsBox.value = list.join(', ');
  neuronsBox.setCustomValidity('');
  note.textContent = '';
  nbPage.setPicks({ neurons: list });
}

function readNeurons() {
  const parts = neuronsBox.value.split(/[\s,]+/).filter(Boolean);
  const list = [...new Set(parts.map(Number))];
  const bad = parts.find((p) => !/^\d+$/.test(p) || Number(p) > 255);
  const why = bad !== undefined ? `${bad} is not a neuron (0 to 255)` : list.length ? '' : 'pick at least one neuron';
  neuronsBox.setCustomValidity(why);
  note.textContent = why;
  if (!why) nbPage.setPicks({ neurons: list });
}

neuronsBox.addEventListener('change', readNeurons);
valueBox.addEventListener('change', () => nbPage.setPicks({ value: valueBox.value }));
document.querySelector('[data-ref="pick-critical"]').addEventListener('click', () => setNeurons(CRITICAL));
document.querySelector('[data-ref="pick-top"]').addEventListener('click', () => {
  const top = document.querySelector('[data-live="scan-top"]')?.textContent ?? '';
  const list = top.split(',').map((s) => s.trim()).filter((s) => /^\d+$/.test(s)).map(Number);
  if (list.length) setNeurons(list);
});

showState({ tokens: page.example, picks: page.picks });
if (await nbPage.start()) input.data = { vocab: nbPage.nb.info.vocab, tokens: nbPage.tokens };
