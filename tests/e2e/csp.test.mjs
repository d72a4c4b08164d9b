// The Content-Security-Policy (issue 16, tools/csp.mjs): every page of the built site
// carries exactly the one policy, and it is in force: one page load shows an eval, an inline
// script, a style attribute and a request to another origin refused, each caught by the violation recorder
// that every browser test runs (browser.mjs: a test fails on any violation of any page).
// Dropped checkpoints never run code: yours.test.mjs drops the bad .pt corpus, whose
// pickle naming os.system is refused by the reader before anything is called.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DIST, ROOT, browserFor, serveSite } from './site.mjs';
import fs from 'node:fs';
import { POLICY, check, pages } from '../../tools/csp.mjs';
import { importGraph } from '../../tools/preload.mjs';

test('every page of the built site carries the one policy, first in its head', () => {
  const built = pages(DIST);
  const missing = pages(path.join(ROOT, 'www')).filter((p) => !built.includes(p));
  assert.deepEqual(missing, [], 'pages of www/ not in the built site');
  assert.deepEqual(check(DIST), [], POLICY);
  console.log(`# ${built.length} pages carry: ${POLICY}`);
});

// tools/preload.mjs: each page lists its module graph up front (modulepreload), every link a file
// of the site and every module its scripts import statically listed.
test('every page preloads its whole static module graph, and nothing else', () => {
  let checked = 0;
  for (const p of pages(DIST)) {
    const html = fs.readFileSync(path.join(DIST, p), 'utf8');
    const dir = path.dirname(path.join(DIST, p));
    const links = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => path.resolve(dir, m[1]));
    const entries = [...html.matchAll(/<script\s+type="module"\s+src="([^"]+)"><\/script>/g)].map((m) => path.resolve(dir, m[1]));
    const graph = new Set(entries.flatMap((e) => importGraph(DIST, e)).filter((f) => !entries.includes(f)));
    assert.deepEqual([...links].sort(), [...graph].sort(), p);
    for (const l of links) assert.ok(fs.existsSync(l), `${p}: ${l}`);
    if (links.length) checked++;
  }
  // The notebook pages import the runtime through their scripts: their graphs are not empty.
  const minPage = fs.readFileSync(path.join(DIST, 'notebooks/min/index.html'), 'utf8');
  assert.match(minPage, /modulepreload" href="\.\.\/runtime\.js"/);
  assert.ok(checked >= 6, `${checked} pages preload modules`);
});

test('the policy refuses eval, inline scripts, style attributes and other origins, and the recorder sees each', { timeout: 120_000 }, async (t) => {
  const site = await serveSite(['docs/index.html']);
  t.after(() => site.close());
  const { page, log } = await browserFor(t);
  await page.goto(new URL('docs/index.html', site.base).href);
  const elsewhere = site.base.replace('127.0.0.1', 'localhost'); // the same server, another origin
  const refused = await page.evaluate(async (url) => {
    const out = {};
    // In a task of its own: code that the devtools protocol runs may eval.
    out.eval = await new Promise((resolve) => setTimeout(() => {
      try {
        resolve(String(eval('1 + 1')));
      } catch (e) {
        resolve(e.name);
      }
    }));
    const script = Object.assign(document.createElement('script'), { textContent: 'window.inlineRan = true' });
    document.head.append(script);
    out.inline = window.inlineRan ?? false;
    document.body.setAttribute('style', 'color: red');
    out.style = getComputedStyle(document.body).color;
    out.fetch = await fetch(url).then((r) => `HTTP ${r.status}`, (e) => e.name);
    await new Promise((r) => setTimeout(r, 200)); // the violation events are queued tasks
    return out;
  }, elsewhere);
  assert.equal(refused.eval, 'EvalError');
  assert.equal(refused.inline, false, 'an inline script does not run');
  assert.notEqual(refused.style, 'rgb(255, 0, 0)', 'the style attribute is not applied');
  assert.equal(refused.fetch, 'TypeError');
  const directives = new Set(log.csp.map((l) => l.match(/\] (\S+) blocked/)?.[1]).filter(Boolean));
  assert.deepEqual([...directives].sort(), ['connect-src', 'script-src', 'script-src-elem', 'style-src-attr'], log.csp.join('\n'));
  assert.ok(!log.requests.some((u) => u.startsWith(elsewhere)), 'the refused request never left');
  log.csp.length = 0; // provoked on purpose: the browser's close would fail the test on them
});
