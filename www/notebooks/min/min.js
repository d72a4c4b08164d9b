// The min_of_two notebook page: its figures are declared in page.js; this wires the pair
// (a, b): the number fields and the token editor stay in step, either may be edited.
import { NotebookPage } from '../runtime.js';
import page, { EQUALS } from './page.js';

const numberA = document.querySelector('[data-ref="a"]');
const numberB = document.querySelector('[data-ref="b"]');
// The pair in both controls (the example at first, then a pair restored from the URL).
function showPair(tokens) {
  [numberA.value, numberB.value] = tokens;
  input.tokens = tokens;
}
const nbPage = new NotebookPage(page, { tokens: page.example, controls: ({ tokens }) => showPair(tokens) });
window.__notebook = nbPage.nb;
const input = nbPage.el(`${page.task}/input`);
showPair(page.example);

function setPair(a, b, from) {
  const tokens = [a, b, EQUALS];
  if (from !== 'numbers') {
    numberA.value = a;
    numberB.value = b;
  }
  if (from !== 'tokens') input.tokens = tokens;
  nbPage.setTokens(tokens);
}

function readNumbers() {
  const a = Number(numberA.value);
  const b = Number(numberB.value);
  const ok = (x) => Number.isInteger(x) && x >= 0 && x < EQUALS;
  numberA.setCustomValidity(ok(a) ? '' : 'a number from 0 to 199');
  numberB.setCustomValidity(ok(b) ? '' : 'a number from 0 to 199');
  if (ok(a) && ok(b)) setPair(a, b, 'numbers');
}

input.addEventListener('change', (e) => {
  const [a, b] = e.detail.tokens;
  setPair(a, b, 'tokens');
});
numberA.addEventListener('input', readNumbers);
numberB.addEventListener('input', readNumbers);

if (await nbPage.start()) input.data = { vocab: nbPage.nb.info.vocab, tokens: nbPage.tokens, length: 3, fixed: { 2: '=' } };
