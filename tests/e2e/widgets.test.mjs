// Browser tests of the widget kit (www/widgets/) on its synthetic test page: every figure
// draws, hovers show the values the data says, the attention token view recolours, live
// appends add points, the token editor rejects and accepts what it should, bad data ends in
// an error state with a message, and nothing leaves the page's origin.
// Run: node --test tests/e2e/widgets.test.mjs   (serves $TOYLENS_DIST or dist/)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from './browser.mjs';
import { assertCleanRun as assertClean, serveSite } from './site.mjs';

let site;
let origin;
let b; // {page, log, close}

before(async () => {
  site = await serveSite(['widgets/test.html', 'widgets/index.js', 'vendor/d3.min.js']);
  origin = site.origin;
  b = await launchBrowser();
  await b.page.setViewportSize({ width: 1100, height: 900 });
  await b.page.goto(new URL('widgets/test.html', site.base).href);
  await b.page.waitForFunction(() => window.__widgets?.mounted, null, { timeout: 15_000 });
});

after(async () => {
  await b?.close();
  await site?.close();
});

/** Resolves after the page has rendered twice: a figure scrolled into view is laid out, painted
 * and hit-testable only at a rendering update (style.js: content-visibility). */
function rendered() {
  return b.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** Moves the pointer to (fx, fy) as fractions of `selector`'s box (scrolled into view). */
async function hoverAt(selector, fx, fy) {
  const loc = b.page.locator(selector);
  await loc.scrollIntoViewIfNeeded();
  await rendered();
  const box = await loc.boundingBox();
  assert.ok(box, `${selector} has no box`);
  await b.page.mouse.move(box.x + fx * box.width, box.y + fy * box.height);
}

/** The lines of the tooltip of figure `id` ([] when hidden), once the page has handled the
 * pointer's last move (Chromium delivers moves with the next animation frame). */
async function tooltipLines(id) {
  await rendered();
  return b.page.evaluate((id) => {
    const t = document.getElementById(id).querySelector('[data-ref="tooltip"]');
    return t.hidden ? [] : [...t.children].map((c) => c.textContent);
  }, id);
}

describe('widget kit', () => {
  test('every figure draws (data-state=ready) with its data-view; bad data shows its message', async () => {
    const figs = await b.page.evaluate(() =>
      [...document.querySelectorAll('main [data-view]')].map((e) => ({
        id: e.id, view: e.dataset.view, state: e.dataset.state, message: e.errorMessage, ms: e.lastRenderMs,
        shown: e.querySelector('[data-ref="error"]').textContent,
      })),
    );
    assert.equal(figs.length, 14);
    for (const f of figs) {
      if (f.id === 'bad') continue;
      assert.equal(f.state, 'ready', `${f.id}: ${f.message}`);
      assert.ok(f.ms >= 0, `${f.id}: lastRenderMs ${f.ms}`);
    }
    assert.equal(figs.find((f) => f.id === 'heatmap').view, 'tl-heatmap');
    assert.equal(figs.find((f) => f.id === 'heatmap-seq').view, 'heatmap-sequential');
    const bad = figs.find((f) => f.id === 'bad');
    assert.equal(bad.state, 'error');
    assert.equal(bad.message, 'values.values: expected 6 values, got 3');
    assert.equal(bad.shown, bad.message);
  });

  test('plain figures: numbers keep their full value and key; cells and lines draw as given', async () => {
    const got = await b.page.evaluate(() => ({
      loss: document.querySelector('#stats [data-value="loss"]').dataset.number,
      lossShown: document.querySelector('#stats [data-value="loss"]').textContent,
      text: document.querySelector('#text p').textContent,
      cls: document.querySelector('#text p').className,
      cells: [...document.querySelectorAll('#table td')].map((td) => `${td.textContent}:${td.className}`),
    }));
    assert.deepEqual(got, { loss: '0.0123456', lossShown: '0.01235', text: 'min(3, 4) = 3: right.', cls: 'pass', cells: ['a:', 'b:', '0.1235:fail', '1:pass'] });
  });

  test('fill: loading meanwhile, a newer fill wins over an older one, a failing compute shows its message', async () => {
    const got = await b.page.evaluate(async () => {
      const el = document.getElementById('stats');
      let release;
      const slow = el.fill(() => new Promise((r) => { release = () => r({ rows: [['old', 1]] }); }));
      const during = el.dataset.state;
      await el.fill(async () => ({ rows: [['new', 2]] }));
      release();
      await slow;
      const shown = el.querySelector('dt').textContent;
      const error = await el.fill(async () => { throw new Error('no engine'); });
      const out = { during, shown, error, state: el.dataset.state, message: el.errorMessage };
      el.data = { rows: [['steps', 1200], ['loss', 0.0123456, 'loss'], ['backend', 'cpu']] };
      return out;
    });
    assert.deepEqual(got, { during: 'loading', shown: 'new', error: 'no engine', state: 'error', message: 'no engine' });
  });

  test('a figure following a new model fades what it still shows; a first pass hides the old verdict', async () => {
    const got = await b.page.evaluate(async () => {
      const el = document.getElementById('stats');
      el.scrollIntoView(); // off screen a figure's content is not styled (content-visibility)
      const look = () => ({
        state: el.dataset.state,
        body: Number(getComputedStyle(el.querySelector('.tl-body')).opacity),
        claim: getComputedStyle(el.querySelector('.tl-claim')).visibility,
      });
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      // Then until the body's fade back has ended: on a loaded machine it can outlast the wait.
      const settled = async (ms) => {
        await wait(ms);
        await Promise.all(el.querySelector('.tl-body').getAnimations().map((a) => a.finished.catch(() => {})));
      };
      el.data = { rows: [['loss', 1]] };
      el.setClaim({ claim: 'the loss is small', state: 'fails', value: 1, test: 'loss < 0.1' });
      await settled(0);
      const drawn = look();
      let release;
      const next = el.fill(() => new Promise((r) => { release = () => r({ rows: [['loss', 0.05]] }); }));
      await settled(600); // past the fade's delay and duration (and its end, on a loaded machine)
      const loading = look();
      el.preview({ rows: [['loss', 0.06]] }, 'First pass on 8 of 64 examples; the exact figure follows.');
      await settled(300);
      const first = look();
      release();
      await next;
      el.setClaim({ claim: 'the loss is small', state: 'holds', value: 0.05, test: 'loss < 0.1' });
      await settled(300);
      const exact = look();
      el.setClaim(null);
      el.data = { rows: [['steps', 1200], ['loss', 0.0123456, 'loss'], ['backend', 'cpu']] };
      return { drawn, loading, first, exact };
    });
    assert.deepEqual(got.drawn, { state: 'ready', body: 1, claim: 'visible' });
    assert.equal(got.loading.state, 'loading');
    assert.ok(got.loading.body < 0.5, `the old figure, still shown while loading, is faded: opacity ${got.loading.body}`);
    assert.deepEqual(got.first, { state: 'refining', body: 1, claim: 'hidden' }, 'a first pass is the new model’s, its old verdict hidden');
    assert.deepEqual(got.exact, { state: 'ready', body: 1, claim: 'visible' });
  });

  test('heatmap: hovering a cell shows its row, column and value; NaN cells say NaN', async () => {
    const { rows, cols, value } = await b.page.evaluate(() => {
      const d = document.getElementById('heatmap').data;
      const [rows, cols] = d.values.shape;
      return { rows, cols, value: d.values.values[3 * cols + 7] };
    });
    await hoverAt('#heatmap canvas.tl-raster:not(.tl-smooth)', (7 + 0.5) / cols, (3 + 0.5) / rows);
    assert.deepEqual(await tooltipLines('heatmap'), [value.toFixed(3), 'row: r3', 'col: c7']);
    assert.equal(await b.page.locator('#heatmap .tl-cell-mark').isVisible(), true);
    await hoverAt('#heatmap canvas.tl-raster:not(.tl-smooth)', (cols - 0.5) / cols, (rows - 0.5) / rows);
    assert.deepEqual(await tooltipLines('heatmap'), ['NaN', `row: r${rows - 1}`, `col: c${cols - 1}`]);
    await b.page.mouse.move(0, 0);
    assert.deepEqual(await tooltipLines('heatmap'), []);
  });

  test('attention: a cell hover names query → key and selects its head; a token hover recolours the tokens', async () => {
    const expected = await b.page.evaluate(() => {
      const { tokens, patterns } = document.getElementById('attention').data;
      const n = tokens.length;
      const w = (h, q, k) => patterns.values[(h * n + q) * n + k];
      return {
        n,
        cell: `${tokens[4]} → ${tokens[2]}: ${window.__widgets.fmt(w(1, 4, 2))}`,
        row3: Array.from({ length: 4 }, (_, k) => String(w(1, 3, k))),
      };
    });
    const { n } = expected;
    await hoverAt('#attention .tl-head[data-head="1"] canvas', (2 + 0.5) / n, (4 + 0.5) / n);
    const lines = await tooltipLines('attention');
    assert.equal(lines[0], expected.cell);
    assert.equal(await b.page.evaluate(() => document.getElementById('attention').selectedHead), 1);
    assert.equal(await b.page.locator('#attention .tl-head.tl-selected').getAttribute('data-head'), '1');

    await b.page.mouse.move(0, 0);
    const chips = '#attention [data-ref="tokens"] .tl-chip';
    const plain = await b.page.locator(chips).evaluateAll((cs) => cs.map((c) => getComputedStyle(c).backgroundColor));
    await hoverAt(`${chips}[data-pos="3"]`, 0.5, 0.5);
    const view = await b.page.locator(chips).evaluateAll((cs) =>
      cs.map((c) => ({ weight: c.dataset.weight ?? null, bg: getComputedStyle(c).backgroundColor, future: c.classList.contains('tl-future'), query: c.classList.contains('tl-query') })),
    );
    assert.deepEqual(view.slice(0, 4).map((c) => c.weight), expected.row3);
    assert.ok(view.slice(0, 4).every((c, k) => c.bg !== plain[k]), 'keys up to the query are coloured');
    assert.ok(view[3].query && !view[2].query);
    assert.ok(view.slice(4).every((c) => c.future && c.weight === null && c.bg === plain[4]), 'later tokens are not coloured');
    await b.page.mouse.move(0, 0);
    const after = await b.page.locator(chips).evaluateAll((cs) => cs.map((c) => getComputedStyle(c).backgroundColor));
    assert.deepEqual(after, plain);
  });

  test('scatter: hovering a point shows its label', async () => {
    const dot = b.page.locator('#scatter .tl-dots circle').nth(7);
    await dot.scrollIntoViewIfNeeded();
    await rendered();
    const box = await dot.boundingBox();
    await b.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const lines = await tooltipLines('scatter');
    const p = await b.page.evaluate(() => document.getElementById('scatter').data.points[7]);
    assert.equal(lines[0], p.label);
    assert.match(lines[1], new RegExp(`· ${p.group}$`));
    await b.page.mouse.move(0, 0);
  });

  test('lines: append/appendMany add points in place, drawn once per frame; clear empties', async () => {
    const out = await b.page.evaluate(async () => {
      const el = document.getElementById('lines-live');
      let renders = 0;
      el.addEventListener('toylens-render', () => renders++);
      for (let k = 0; k < 50; k++) el.append('live', k, 1 / (k + 1));
      el.appendMany('other', [0, 10, 20], [3, 2, 1]);
      const sync = renders;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const points = [...el.querySelectorAll('.tl-series path')].map((p) => (p.getAttribute('d').match(/[ML]/g) || []).length);
      const counts = [el.pointCount('live'), el.pointCount('other')];
      el.append('live', 50, 0.02);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const more = el.pointCount('live');
      const legend = el.querySelector('[data-ref="legend"]').textContent;
      el.clear();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { sync, renders, points, counts, more, legend, cleared: el.querySelectorAll('.tl-series path').length, state: el.dataset.state };
    });
    assert.equal(out.sync, 0, 'appends draw on the next frame, not synchronously');
    assert.deepEqual(out.counts, [50, 3]);
    assert.deepEqual(out.points, [50, 3]);
    assert.equal(out.more, 51);
    assert.equal(out.legend, 'liveother');
    assert.equal(out.renders, 3, 'one draw per frame: after 53 appends, after 1 more, after clear');
    assert.equal(out.cleared, 0);
    assert.equal(out.state, 'ready');
  });

  test('lines: a series of more points than pixel columns draws the same line from a few per column', async () => {
    const out = await b.page.evaluate(async () => {
      const el = document.getElementById('lines-live');
      el.clear();
      // A noisy 20 000-step log with a gap (NaN) in it.
      const xs = Array.from({ length: 20_000 }, (_, k) => k);
      const ys = xs.map((k) => (k >= 9000 && k < 9100 ? NaN : 2 + Math.sin(k / 300) + ((k * 7919) % 101) / 100));
      el.appendMany('log', xs, ys);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const path = el.querySelector('.tl-series path');
      const d = path.getAttribute('d');
      const box = path.getBBox();
      const { x, y } = el.scales;
      const finite = ys.filter(Number.isFinite);
      return {
        points: (d.match(/[ML]/g) || []).length,
        moves: (d.match(/M/g) || []).length,
        width: x.range()[1],
        top: box.y, bottom: box.y + box.height, left: box.x, right: box.x + box.width,
        wantTop: y(Math.max(...finite)), wantBottom: y(Math.min(...finite)), wantLeft: x(0), wantRight: x(19_999),
      };
    });
    assert.ok(out.points <= 4 * out.width + 10, `${out.points} points for ${out.width} px`);
    assert.equal(out.moves, 2, 'the gap stays a gap');
    // Every extreme is kept: the path spans exactly what all 20 000 points span.
    for (const [got, want] of [['top', 'wantTop'], ['bottom', 'wantBottom'], ['left', 'wantLeft'], ['right', 'wantRight']]) {
      assert.ok(Math.abs(out[got] - out[want]) < 0.01, `${got}: ${out[got]} vs ${out[want]}`);
    }
  });

  test('lines: a series path is the one d3.line draws (gaps, lone points, log scale)', async () => {
    const out = await b.page.evaluate(async () => {
      const { seriesPath } = await import(new URL('lines.js', location.href).href);
      const d3 = globalThis.d3;
      const cases = [];
      for (const logY of [false, true]) {
        // Gaps (NaN, and y <= 0 on a log scale), a lone point between two gaps, ends undefined.
        const xs = Array.from({ length: 300 }, (_, k) => k * 1.7);
        const ys = xs.map((_, k) => ([0, 40, 42, 299].includes(k) ? NaN : k === 100 ? -1 : 0.01 + Math.abs(Math.sin(k / 7)) * (k % 13) / 3));
        const s = { x: xs, y: ys };
        const x = d3.scaleLinear().domain([0, 510]).range([0, 613.4]);
        const y = (logY ? d3.scaleLog() : d3.scaleLinear()).domain([0.01, 5]).range([260, 0]);
        const keep = logY ? (v) => v > 0 : Number.isFinite;
        const want = d3.line().defined((k) => Number.isFinite(xs[k]) && keep(ys[k])).x((k) => x(xs[k])).y((k) => y(ys[k]))(d3.range(xs.length));
        cases.push({ got: seriesPath(s, x, y, keep, 613.4), want });
      }
      const none = seriesPath({ x: [1, 2], y: [NaN, NaN] }, d3.scaleLinear(), d3.scaleLinear(), Number.isFinite, 100);
      return { cases, none };
    });
    for (const c of out.cases) assert.equal(c.got, c.want);
    assert.equal(out.none, null, 'no point drawn: no path');
  });

  test('token input: an out-of-vocabulary token is an error and no change; a valid edit fires change', async () => {
    const input = b.page.locator('#tokens input');
    const state = () => b.page.locator('#tokens').getAttribute('data-state');
    const message = () => b.page.evaluate(() => document.getElementById('tokens').errorMessage);
    const changes = () => b.page.evaluate(() => window.__widgets.changes.slice());

    await input.fill('1 2 = 12');
    assert.equal(await state(), 'error');
    assert.equal(await message(), '"12" is not in the vocabulary (tokens: 0..4, =)');
    assert.equal(await b.page.locator('#tokens [data-ref="error"]').textContent(), await message());
    assert.equal(await b.page.locator('#tokens .tl-chip[data-bad]').getAttribute('data-pos'), '3');
    assert.deepEqual(await changes(), []);
    assert.deepEqual(await b.page.evaluate(() => document.getElementById('tokens').tokens), [1, 2, 5, 3]);

    await input.fill('1 2 3 4');
    assert.equal(await message(), 'position 2 must be "=", not "3"');
    await input.fill('1 2 =');
    assert.equal(await message(), 'expected 4 tokens, got 3');
    assert.deepEqual(await changes(), []);

    await input.fill('4 0 = 4');
    assert.equal(await state(), 'ready');
    assert.equal(await message(), '');
    assert.deepEqual(await changes(), [[4, 0, 5, 4]]);
    // A chip click cycles its token to the next in the vocabulary.
    await b.page.locator('#tokens .tl-chip[data-pos="1"]').click();
    assert.deepEqual(await changes(), [[4, 0, 5, 4], [4, 1, 5, 4]]);
    assert.equal(await input.inputValue(), '4 1 = 4');
    assert.equal(await b.page.locator('#tokens .tl-chip[data-pos="2"]').isDisabled(), true, 'a fixed position is not editable');
    // A bad id from code is an error too, and the reader can still type a valid sequence.
    await b.page.evaluate(() => {
      document.getElementById('tokens').tokens = [1, 99, 5, 3];
    });
    assert.equal(await message(), 'tokens[1]: 99 is not a token id (0..5)');
    await input.fill('0 1 = 2');
    assert.equal(await state(), 'ready');
    assert.deepEqual((await changes()).at(-1), [0, 1, 5, 2]);
  });

  test('bad data on every element: error state with a clear message, never an exception; good data recovers', async () => {
    const out = await b.page.evaluate(() => {
      const cases = [
        ['tl-heatmap', null],
        ['tl-heatmap', { values: { shape: [2, 2], values: [1, 2, 3, 4] }, rowLabels: ['a'] }],
        ['tl-heatmap', { values: { shape: [2, 2], values: [1, 2, 3, 4] }, scale: 'rainbow' }],
        ['tl-attention', { tokens: ['a', 'b', 'c'], patterns: { shape: [1, 4, 4], values: new Float32Array(16) } }],
        ['tl-attention', { patterns: { shape: [1, 1, 1], values: [1] } }],
        ['tl-bars', { labels: ['a', 'b'], series: [{ name: 's', values: [1, 2, 3] }] }],
        ['tl-bars', { labels: ['a'], series: [] }],
        ['tl-lines', { series: [{ name: 's', x: [1, 2, 3], y: [1, 2] }] }],
        ['tl-lines', { series: [{ name: 's', x: [1], y: ['1'] }] }],
        ['tl-scatter', { points: [{ y: 1, label: 'p' }] }],
        ['tl-token-input', { vocab: 5 }],
        ['tl-claims', { rows: [{ view: 'a/b', claim: 'c' }], columns: [{ source: 'pretrained', step: 0 }], cells: [['yes']] }],
        ['tl-claims', { rows: [{ view: 'a/b', claim: 'c' }], columns: [{ source: 'pretrained', step: 0 }, { source: 'pretrained', step: 1 }], cells: [[null]] }],
        ['tl-claims', { rows: [{ claim: 'c' }], columns: [{ source: 'pretrained', step: 1.5 }], cells: [[null]] }],
      ];
      const good = {
        'tl-heatmap': { values: { shape: [1, 1], values: [0] } },
        'tl-attention': { tokens: ['a'], patterns: { shape: [1, 1, 1], values: [1] } },
        'tl-bars': { labels: ['a'], series: [{ name: 's', values: [1] }] },
        'tl-lines': { series: [{ name: 's', x: [0, 1], y: [0, 1] }] },
        'tl-scatter': { points: [{ x: 0, y: 0, label: 'p' }] },
        'tl-token-input': { vocab: ['a'], tokens: [0] },
        'tl-claims': { rows: [], columns: [], cells: [] },
      };
      return cases.map(([tag, data]) => {
        const el = document.createElement(tag);
        document.querySelector('main').append(el);
        let threw = null;
        try {
          el.data = data;
        } catch (e) {
          threw = String(e);
        }
        const r = { tag, threw, state: el.dataset.state, message: el.errorMessage, shown: el.textContent.includes(el.errorMessage) };
        el.data = good[tag];
        r.recovered = el.dataset.state;
        el.remove();
        return r;
      });
    });
    const expected = [
      'data: expected an object, got null',
      'rowLabels: expected 2 labels, got 1',
      "scale: expected one of 'diverging', 'sequential', got \"rainbow\"",
      'patterns.shape [1, 4, 4] does not fit 3 tokens: expected [heads, 3, 3]',
      'tokens: expected an array of strings, got nothing',
      'series[0].values: expected 2 values, got 3',
      'series: expected a non-empty array, got an array of 0',
      'series[0].y: expected 3 values, got 2',
      'series[0].y[0]: expected a number, got "1"',
      'points[0].x: expected a finite number, got nothing',
      'vocab: expected an array of strings, got 5',
      'cells[0][0]: expected \'holds\', \'fails\' or null, got "yes"',
      'cells[0]: expected 2 cells (one per column), got an array of 1',
      'rows[0].view: expected a view name, got nothing',
    ];
    out.forEach((r, k) => {
      assert.equal(r.threw, null, `${r.tag}: threw`);
      assert.equal(r.state, 'error', `${r.tag}: state`);
      assert.equal(r.message, expected[k], `${r.tag}: message`);
      assert.ok(r.shown, `${r.tag}: message shown in the element`);
      assert.equal(r.recovered, 'ready', `${r.tag}: good data after bad`);
    });
  });

  test('claims: cells show holds/fails, a click selects its checkpoint', async () => {
    const got = await b.page.evaluate(() => {
      const el = document.getElementById('claims');
      const cells = el.data.cells.flat();
      const shown = (s) => el.querySelectorAll(`button[data-claim="${s}"]`).length;
      const given = (s) => cells.filter((c) => c === s).length;
      return {
        state: el.dataset.state,
        shown: { holds: shown('holds'), fails: shown('fails'), none: shown('none') },
        given: { holds: given('holds'), fails: given('fails'), none: given(null) },
        current: [...el.querySelectorAll('.tl-claims-current button')].map((b) => b.dataset.step),
        summary: el.querySelector('[data-ref="summary"]').textContent,
        labels: [...el.querySelectorAll('button.tl-claims-label')].map((b) => b.textContent),
        aria: el.querySelector('button[data-claim][data-r="1"][data-step="11"]').getAttribute('aria-label'),
        rows: el.rows(),
        tabbable: el.querySelectorAll('[data-ref="grid"] button[tabindex="0"]').length,
        tip: ['full-ov: ' + el.data.rows[0].claim, 'test: diagonal share ≥ 0.9', 'value: ' + window.__widgets.fmt(el.data.values[0][6])],
      };
    });
    assert.equal(got.state, 'ready');
    assert.deepEqual(got.shown, got.given);
    assert.deepEqual(got.given, { holds: 28, fails: 49, none: 3 });
    assert.deepEqual(got.current, ['1341', '1341', '1341', '1341', '1341'], 'the heading and every cell of the current column');
    assert.equal(got.summary, '3 of 4 claims hold at step 1341 (1 not evaluated)');
    assert.deepEqual(got.labels, ['full-ov', 'attention-to-min', 'logit-lens', 'position-blind']);
    assert.equal(got.aria, 'step 11: holds — diagonal share ≥ 0.9');
    assert.deepEqual(got.rows[0].slice(0, 4), ['claim', 0, 1, 2]);
    assert.equal(got.rows[4][0], 'min/position-blind');
    assert.deepEqual(got.rows[4].slice(-5), ['fails', 'fails', '', '', '']);
    assert.equal(got.tabbable, 1, 'the grid is one tab stop');

    // Hover: the step, the state, the claim, its test and the number it read.
    const cell = '#claims button[data-claim][data-r="1"][data-step="11"]';
    await hoverAt(cell, 0.5, 0.5);
    assert.deepEqual(await tooltipLines('claims'), ['step 11: holds ✓', ...got.tip]);
    // A click on a cell, on a column heading, on a row label; arrows then Enter from the keyboard.
    await b.page.locator(cell).click();
    await b.page.locator('#claims button.tl-claims-step[data-step="2000"]').click();
    await b.page.locator('#claims button.tl-claims-label[data-r="3"]').click();
    await b.page.locator(cell).focus();
    await b.page.keyboard.press('ArrowRight');
    await b.page.keyboard.press('ArrowDown');
    await b.page.keyboard.press('Enter');
    const events = await b.page.evaluate(() => ({ selects: window.__widgets.selects.splice(0), reveals: window.__widgets.reveals.splice(0) }));
    assert.deepEqual(events, {
      selects: [{ source: 'pretrained', step: 11 }, { source: 'pretrained', step: 2000 }, { source: 'pretrained', step: 16 }],
      reveals: [{ view: 'min/logit-lens' }],
    });
    await b.page.mouse.move(0, 0);

    // setCurrent moves the highlight; setCell fills a cell in, or adds its column in step order.
    const live = await b.page.evaluate(() => {
      const el = document.getElementById('claims');
      el.setCurrent({ source: 'pretrained', step: 11 });
      const summary = el.querySelector('[data-ref="summary"]').textContent;
      el.setCell('min/position-blind', 'pretrained', 2000, 'holds', 0.95);
      el.setCell('min/full-ov', 'run', 50, 'holds', 0.91);
      el.setCell('min/full-ov', 'run', 20, 'fails', 0.5);
      let bad = '';
      try {
        el.setCell('min/full-ov', 'run', 20, 'maybe');
      } catch (e) {
        bad = e.message;
      }
      const at = (r, source, step) => el.querySelector(`button[data-r="${r}"][data-source="${source}"][data-step="${step}"]`)?.dataset.claim;
      const out = {
        summary,
        current: [...el.querySelectorAll('.tl-claims-current button')].map((b) => b.dataset.step),
        head: el.rows()[0].slice(-3),
        cells: [at(4, 'pretrained', 2000), at(1, 'run', 20), at(1, 'run', 50), at(2, 'run', 20)],
        columns: el.data.columns.length,
        sources: [...el.querySelectorAll('.tl-claims-sources th:not(.tl-claims-corner)')].map((th) => `${th.textContent}:${th.colSpan}`),
        bad,
        state: el.dataset.state,
      };
      el.data = window.__widgets.claimsData();
      return out;
    });
    assert.deepEqual(live, {
      summary: '1 of 4 claims hold at step 11',
      current: ['11', '11', '11', '11', '11'],
      head: ['pretrained 2000', 'run 20', 'run 50'],
      cells: ['holds', 'fails', 'holds', 'none'],
      columns: 22,
      sources: ['pretrained:20', 'your run:2'],
      bad: "setCell: expected the state 'holds', 'fails' or null, got \"maybe\"",
      state: 'ready',
    });

    // A phone: the grid scrolls inside the figure (the page does not), the labels stay, and a
    // new current column is scrolled into view.
    await b.page.setViewportSize({ width: 390, height: 800 });
    const phone = await b.page.evaluate(() => {
      const el = document.getElementById('claims');
      const grid = el.querySelector('[data-ref="grid"]');
      el.setCurrent({ source: 'pretrained', step: 2000 });
      const box = grid.getBoundingClientRect();
      const head = el.querySelector('th.tl-claims-current').getBoundingClientRect();
      const label = el.querySelector('th.tl-claims-label').getBoundingClientRect();
      return {
        inside: el.getBoundingClientRect().right <= innerWidth,
        scrolls: grid.scrollWidth > grid.clientWidth,
        scrolled: grid.scrollLeft > 0,
        labelStays: label.left >= box.left - 1 && label.left <= box.left + 1,
        currentShown: head.left >= label.right - 1 && head.right <= box.right + 1,
      };
    });
    await b.page.setViewportSize({ width: 1100, height: 900 });
    // Two frames: every figure has redrawn to the wide page again before the next test.
    await b.page.evaluate(() => {
      document.getElementById('claims').data = window.__widgets.claimsData();
      return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    });
    assert.deepEqual(phone, { inside: true, scrolls: true, scrolled: true, labelStays: true, currentShown: true });
  });

  test('figures redraw to their new width when the page narrows', async () => {
    const before = await b.page.evaluate(() => document.querySelector('#heatmap canvas').getBoundingClientRect().width);
    const rendered = b.page.evaluate(
      () => new Promise((r) => document.getElementById('heatmap').addEventListener('toylens-render', r, { once: true })),
    );
    await b.page.setViewportSize({ width: 700, height: 900 });
    await rendered;
    const after = await b.page.evaluate(() => document.querySelector('#heatmap canvas').getBoundingClientRect().width);
    assert.ok(after < before - 200, `canvas ${before} -> ${after} px`);
    await b.page.setViewportSize({ width: 1100, height: 900 });
  });

  test('a clean run: no console errors, d3 from vendor/, nothing outside the origin', () => {
    assert.ok(b.log.requests.some((u) => u === new URL('vendor/d3.min.js', site.base).href), 'd3 comes from vendor/');
    assertClean(b.log, origin);
  });
});
