// The embedding guide's live parts: its snippets name this site's own address, and one live
// figure of each widget kind, picked from the pages' declarations (so a new kind shows up here
// by itself). The full list of names is views.js's table.
import PAGES from '../notebooks/pages.js';
import { WIDGETS } from '../notebooks/declare.js';

const SITE = new URL('../', import.meta.url).href;
for (const span of document.querySelectorAll('[data-site]')) span.textContent = SITE;

// The first figure of each kind, in the pages' order; not those drawn by the training panel
// (embedded alone they would have no run to show).
const firsts = new Map();
for (const f of PAGES.flatMap((p) => p.figures)) if (!f.by && !firsts.has(f.widget)) firsts.set(f.widget, f);

const kinds = document.querySelector('[data-ref="kinds"]');
for (const [widget, f] of firsts) {
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  const code = (text) => Object.assign(document.createElement('code'), { textContent: text });
  caption.append(code(`<${WIDGETS[widget]}>`), ` · ${f.claim} `, code(`<toylens-view view="${f.view}"></toylens-view>`));
  const view = document.createElement('toylens-view');
  view.setAttribute('view', f.view);
  view.setAttribute('loading', 'lazy');
  figure.append(caption, view);
  kinds.append(figure);
}
