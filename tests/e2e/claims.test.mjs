// Every notebook page's claims, judged without a browser: the site build ran each page's own
// predicates (page.js: reads, live, check) on `toylens analyze` of every pretrained checkpoint
// (tools/claims.mjs -> models/<task>/claims.json). On the final checkpoint every claim must
// hold; on the first at least a third must fail (a predicate an untrained model passes checks
// nothing). The browser side (data-claim on the page, the emergence view) is in
// notebooks.test.mjs.
// Run: node --test tests/e2e/claims.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIST } from './site.mjs';
import { TASK_PAGES } from '../../www/notebooks/pages.js';
import { checked } from '../../www/notebooks/claims.js';

const built = (task) => JSON.parse(fs.readFileSync(path.join(DIST, 'models', task, 'claims.json'), 'utf8'));
const index = () => JSON.parse(fs.readFileSync(path.join(DIST, 'models/index.json'), 'utf8'));

for (const page of TASK_PAGES) {
  test(`${page.task}: every claim holds on the final checkpoint, a third or more fail on the first`, () => {
    const c = built(page.task);
    assert.deepEqual(c.steps, index()[page.task].checkpoints, 'judged on every checkpoint of the timeline');
    assert.deepEqual(Object.keys(c.claims).sort(), checked(page).map((f) => f.view).sort(), 'a verdict for every checked figure');
    assert.deepEqual(c.input, page.example, 'figures of the input judged on the page’s example');
    const at = (i) => Object.entries(c.claims).map(([view, v]) => [view, v.states.at(i), v.values.at(i)]);
    const failing = at(-1).filter(([, s]) => s !== 'holds');
    assert.deepEqual(failing, [], `claims that do not hold on the final checkpoint (step ${c.steps.at(-1)})`);
    const first = at(0);
    const fails = first.filter(([, s]) => s === 'fails').length;
    assert.ok(fails >= first.length / 3, `step ${c.steps[0]}: only ${fails} of ${first.length} claims fail: ${JSON.stringify(first)}`);
    const mid = at(Math.floor(c.steps.length / 2)).filter(([, s]) => s === 'holds').length;
    console.log(`# ${page.task}: claims holding at step ${c.steps[0]}: ${first.length - fails} of ${first.length}; step ${c.steps[Math.floor(c.steps.length / 2)]}: ${mid}; step ${c.steps.at(-1)}: ${first.length}`);
  });
}
