// The list of views, straight from the pages' declarations: it cannot fall behind them.
import PAGES from '../notebooks/pages.js';
import { WIDGETS } from '../notebooks/declare.js';
import { testText } from '../notebooks/claims.js';

const request = (r) => (typeof r.request === 'function' ? `${r.analysis} (options from the picks)` : `${r.analysis} ${JSON.stringify(r.request)}`);
const reads = (f) => Object.values(f.reads ?? {}).map((r) => (r.op ? r.op : r.request ? request(r) : r.analysis));
// The table goes into this page's [data-ref="views"] (the views page, the embedding guide).
const table = document.createElement('table');
table.createTHead().insertRow().append(
  ...['view', 'widget', 'follows', 'engine reads', 'claim', 'holds when'].map((h) => Object.assign(document.createElement('th'), { textContent: h })),
);
const tbody = table.createTBody();
document.querySelector('[data-ref="views"]').append(table);

for (const page of PAGES) {
  for (const f of page.figures) {
    const tr = tbody.insertRow();
    tr.dataset.name = f.view;
    const link = Object.assign(document.createElement('a'), { href: `../notebooks/${page.task}/?view=${encodeURIComponent(f.view)}`, textContent: f.view });
    tr.insertCell().append(link);
    tr.insertCell().append(Object.assign(document.createElement('code'), { textContent: `<${WIDGETS[f.widget]}>` }));
    tr.insertCell().textContent = f.follows ?? (f.by ? `drawn by <${f.by}>` : 'static');
    tr.insertCell().textContent = [...new Set(reads(f))].join('; ');
    tr.insertCell().textContent = f.claim;
    // A claim is a predicate judged live on the model shown, not a fact: the test, not a verdict.
    tr.insertCell().textContent = f.check ? testText(f.check) : '';
  }
}
