// The notebook pages' declarations (www/notebooks/<task>/page.js) against their index.html,
// in node alone (no browser, no build): every declaration is well formed, every declared
// view has exactly one element of its widget in the page, every element named after the
// task is declared, every pick a figure lists is declared (and its embed carries those only),
// and pages.js lists every page. (The page runtime checks the same in the browser; this fails
// faster.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './site.mjs';
import PAGES from '../../www/notebooks/pages.js';
import { WIDGETS, checkPage, groupsOf } from '../../www/notebooks/declare.js';
import { embedAttributes } from '../../www/notebooks/permalink.js';
import MAJORITY from '../../www/notebooks/majority/page.js';

const NOTEBOOKS = path.join(ROOT, 'www/notebooks');

test('pages.js lists every page declaration', () => {
  const onDisk = fs.readdirSync(NOTEBOOKS).filter((d) => fs.existsSync(path.join(NOTEBOOKS, d, 'page.js'))).sort();
  assert.deepEqual(PAGES.map((p) => p.task).sort(), onDisk);
});

for (const page of PAGES) {
  test(`${page.task}: the declaration and index.html name the same figures`, () => {
    checkPage(page);
    const html = fs.readFileSync(path.join(NOTEBOOKS, page.task, 'index.html'), 'utf8');
    // <tag … view="task/x"> or data-view="task/x", as written in the page.
    const inPage = [...html.matchAll(/<([a-z][\w-]*)\b[^>]*?\s(?:data-)?view="([^"]+)"/g)].map(([, tag, view]) => ({ tag, view }));
    for (const f of page.figures.filter((g) => !g.by)) {
      const els = inPage.filter((e) => e.view === f.view);
      assert.equal(els.length, 1, `${f.view}: ${els.length} elements in index.html`);
      assert.equal(els[0].tag, WIDGETS[f.widget], `${f.view}: the widget`);
    }
    const declared = new Set(page.figures.map((f) => f.view));
    const undeclared = inPage.filter((e) => e.view.startsWith(`${page.task}/`) && !declared.has(e.view)).map((e) => e.view);
    assert.deepEqual(undeclared, [], 'views in index.html that page.js does not declare');
  });

  test(`${page.task}: every computed figure is in one group`, () => {
    const grouped = groupsOf(page).flat();
    assert.deepEqual([...grouped].sort(), page.figures.filter((f) => f.follows).map((f) => f.view).sort());
  });
}

test('a figure lists the picks it reads: an undeclared one stops the page, its embed carries only those', () => {
  const withPicks = (picks) => ({ ...MAJORITY, figures: MAJORITY.figures.map((f) => (f.view === 'majority/ablation' ? { ...f, picks } : f)) });
  assert.throws(() => checkPage(withPicks(['neuron'])), /majority\/ablation.*picks neuron not declared in state\.picks \(neurons, value\)/);
  assert.throws(() => checkPage(withPicks(true)), /majority\/ablation.*picks must list the keys/);
  const state = { model: { source: 'pretrained', step: 100 }, tokens: [1, 2], picks: { neurons: [3, 4], value: '2' } };
  const attrs = (view) => embedAttributes(MAJORITY, MAJORITY.figures.find((f) => f.view === view), state);
  assert.deepEqual(attrs('majority/ablation'), { view: 'majority/ablation', checkpoint: '100', neurons: '3,4' });
  assert.deepEqual(attrs('majority/neuron-lines'), { view: 'majority/neuron-lines', checkpoint: '100', tokens: '1,2', neurons: '3,4', value: '2' });
});
