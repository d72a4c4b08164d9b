// The five-digit addition page: its figures are declared in page.js; this wires the two
// operands (number fields and the token editor stay in step), the column picker and the
// smaller model the training panel offers on a slow machine.
import { NotebookPage } from '../runtime.js';
import page from './page.js';

const DIGITS = 5;
const PLUS = 10;
const EQUALS = 11;
const fieldA = document.querySelector('[data-ref="a"]');
const fieldB = document.querySelector('[data-ref="b"]');
const column = document.querySelector('[data-ref="column"]');
const scale = document.querySelector('[data-ref="scale"]');
const example = document.querySelector('[data-ref="example"]');

const number = (ds) => ds.reduce((n, d) => n * 10 + d, 0);
const digitsOf = (n, k) => String(n).padStart(k, '0').split('').map(Number);
/** XXXXX+YYYYY=ZZZZZZ with the true sum: the tokens the model reads (teacher forcing). */
const sumTokens = (x, y) => [...digitsOf(x, DIGITS), PLUS, ...digitsOf(y, DIGITS), EQUALS, ...digitsOf(x + y, DIGITS + 1)];

// A sum and a column in the page's controls (the example at first, then a state from the URL).
function showState({ tokens, picks }) {
  fieldA.value = number(tokens.slice(0, DIGITS));
  fieldB.value = number(tokens.slice(DIGITS + 1, 2 * DIGITS + 1));
  input.tokens = tokens;
  column.value = picks.column;
  scale.value = picks.scale;
  example.value = picks.example;
}
const nbPage = new NotebookPage(page, { tokens: page.example, picks: page.picks, controls: showState });
window.__notebook = nbPage.nb;
const input = nbPage.el(`${page.task}/input`);
showState({ tokens: page.example, picks: page.picks });

function readFields() {
  const ok = (x) => Number.isInteger(x) && x >= 0 && x < 10 ** DIGITS;
  const x = Number(fieldA.value);
  const y = Number(fieldB.value);
  fieldA.setCustomValidity(ok(x) ? '' : 'a number from 0 to 99999');
  fieldB.setCustomValidity(ok(y) ? '' : 'a number from 0 to 99999');
  if (!ok(x) || !ok(y)) return;
  const tokens = sumTokens(x, y);
  input.tokens = tokens;
  nbPage.setTokens(tokens);
}

input.addEventListener('change', (e) => {
  const t = e.detail.tokens;
  fieldA.value = number(t.slice(0, DIGITS));
  fieldB.value = number(t.slice(DIGITS + 1, 2 * DIGITS + 1));
  nbPage.setTokens(t);
});
fieldA.addEventListener('input', readFields);
fieldB.addEventListener('input', readFields);
column.addEventListener('change', () => nbPage.setPicks({ column: column.value }));
scale.addEventListener('change', () => nbPage.setPicks({ scale: scale.value }));
example.addEventListener('change', () => nbPage.setPicks({ example: example.value }));

if (await nbPage.start()) {
  const { info } = nbPage.nb;
  input.data = { vocab: info.vocab, tokens: nbPage.tokens, length: 3 * DIGITS + 3, fixed: { [DIGITS]: '+', [2 * DIGITS + 1]: '=' } };
  // The smaller model: the task's config at a quarter of the width (derived fields left to the engine).
  const config = { ...info.config, ...page.smaller.config };
  for (const derived of ['attn_scale', 'initializer_range', 'n_params']) delete config[derived];
  document.querySelector('tl-train-panel').smaller = { ...page.smaller, config };
  // The curves of the reader's run grow with every training batch and every evaluation, not
  // only at its checkpoints (redrawn at most once a second while it trains).
  const curveViews = page.figures.filter((f) => Object.values(f.reads ?? {}).some((r) => r.op === 'curves')).map((f) => f.view);
  let last = 0;
  const grow = (force) => {
    if (nbPage.nb.current?.source !== 'run' || (!force && performance.now() - last < 1000)) return;
    last = performance.now();
    nbPage.refresh(curveViews);
  };
  nbPage.nb.session.addEventListener('progress', () => grow(false));
  nbPage.nb.session.addEventListener('eval', () => grow(true));
}
