// The cumsum notebook page: its figures are declared in page.js; this wires the editor.
import { NotebookPage } from '../runtime.js';
import page from './page.js';

const nbPage = new NotebookPage(page, { tokens: page.example, controls: ({ tokens }) => (input.tokens = tokens) });
window.__notebook = nbPage.nb; // for tests and curious readers
const input = nbPage.el(`${page.task}/input`);
input.addEventListener('change', (e) => nbPage.setTokens(e.detail.tokens));

if (await nbPage.start()) input.data = { vocab: nbPage.nb.info.vocab, tokens: nbPage.tokens };
