// Browser end-to-end tests of the built site (dist/, or $TOYLENS_DIST) in headless Chromium:
// the parity smoke page on CPU and WebGPU, and engine errors coming back as messages.
// Run: node --test tests/e2e/   (after ./build.sh build)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIST, assertCleanRun as assertClean, browserFor as browser, serveSite } from './site.mjs';

const TOL = 1e-4;
// WebGPU on SwiftShader is slow, and the largest fixture has 3.2M parameters.
const SMOKE_TIMEOUT_MS = Number(process.env.TOYLENS_SMOKE_TIMEOUT_MS || 25 * 60_000);

function fixtureNames() {
  const index = JSON.parse(fs.readFileSync(path.join(DIST, 'fixtures/index.json'), 'utf8'));
  return (Array.isArray(index) ? index : index.fixtures).map((e) => (typeof e === 'string' ? e : e.name));
}

let site;
let base; // URL of the site's root (ends with /)
let origin;

before(async () => {
  site = await serveSite(['pkg/toylens.js', 'pkg/toylens_bg.wasm', 'pkg/toylens_cpu.js', 'pkg/toylens_cpu_bg.wasm', 'fixtures/index.json', 'smoke/index.html', 'engine/worker.js']);
  base = site.base;
  origin = site.origin;
});

after(() => site?.close());

const assertCleanRun = (log) => assertClean(log, origin);

describe('static server', () => {
  // no-cache: the browser revalidates (ETag) every time, so it never runs a stale wasm.
  test('serves wasm as application/wasm, revalidated on every use', async () => {
    const r = await fetch(new URL('pkg/toylens_bg.wasm', base));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/wasm');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    await r.arrayBuffer();
  });

  test('redirects a directory to its slash form and 404s what is missing', async () => {
    const r = await fetch(new URL('smoke', base), { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.equal(new URL(r.headers.get('location'), new URL('smoke', base)).href, new URL('smoke/', base).href);
    const m = await fetch(new URL('no/such/file.js', base));
    assert.equal(m.status, 404);
    await m.text();
  });
});

describe('site', () => {
  test('home page links to the smoke page', { timeout: 60_000 }, async (t) => {
    const { page, log } = await browser(t);
    await page.goto(base);
    assert.equal(await page.locator('h1').textContent(), 'toylens');
    const href = await page.locator('a[href="smoke/"]').evaluate((a) => a.href);
    assert.equal(href, new URL('smoke/', base).href);
    assertCleanRun(log);
  });

  test(
    'smoke page: every fixture matches TransformerLens on cpu and webgpu',
    { timeout: SMOKE_TIMEOUT_MS + 120_000 },
    async (t) => {
      const { page, log } = await browser(t);
      const fixtures = fixtureNames();
      assert.ok(fixtures.length > 0, 'fixtures/index.json lists no fixtures');
      await page.goto(new URL('smoke/', base).href);

      // Poll rather than one long wait, so a slow run shows its progress in the log.
      const root = page.locator('[data-view="smoke-parity"]');
      const t0 = Date.now();
      let state;
      let last = '';
      for (;;) {
        state = await root.getAttribute('data-state');
        const s = await page.locator('[data-ref="status"]').textContent();
        if (s !== last) {
          console.log(`smoke ${((Date.now() - t0) / 1000).toFixed(0)}s: ${s}`);
          last = s;
        }
        if (state !== 'loading') break;
        assert.ok(Date.now() - t0 < SMOKE_TIMEOUT_MS, `smoke page still loading after ${SMOKE_TIMEOUT_MS} ms: ${s}`);
        await page.waitForTimeout(2000);
      }
      const smoke = await page.evaluate(() => window.__toylensSmoke);
      console.log(`webgpu: ${smoke.backends?.webgpu?.reason}`);
      for (const r of smoke.results) {
        console.log(
          `${r.fixture.padEnd(14)} ${r.backend.padEnd(6)} logits ${r.logitsMaxDiff?.toExponential(2)}` +
            `  activations ${r.cacheMaxDiff?.toExponential(2)} (${r.worstName}, n=${r.n})` +
            `  load ${Math.round(r.loadMs)} ms, run ${Math.round(r.runMs)} ms`,
        );
      }
      const shown = await page.locator('[data-ref="error"]').textContent();
      assert.equal(state, 'ready', `smoke page ended in state ${state}: ${shown}`);
      assert.deepEqual(smoke.errors, []);

      const problems = [];
      for (const fixture of fixtures) {
        for (const backend of ['cpu', 'webgpu']) {
          const r = smoke.results.find((x) => x.fixture === fixture && x.backend === backend);
          const at = `${fixture} on ${backend}`;
          if (!r) {
            const why = smoke.skipped.find((s) => s.backend === backend)?.reason;
            problems.push(`${at}: no result${why ? ` (${why})` : ''}`);
            continue;
          }
          if (!(r.n > 0)) problems.push(`${at}: no activation compared`);
          if (!(r.logitsMaxDiff <= TOL)) problems.push(`${at}: logits differ by ${r.logitsMaxDiff}`);
          if (!(r.cacheMaxDiff <= TOL)) problems.push(`${at}: ${r.worstName} differs by ${r.cacheMaxDiff}`);
          if (r.missing.length) problems.push(`${at}: not cached: ${r.missing.join(', ')}`);
          if (r.shapeErrors.length) problems.push(`${at}: ${r.shapeErrors.join('; ')}`);
          if (!r.pass) problems.push(`${at}: page says FAIL`);
        }
      }
      // Training: PyTorch's Adam/AdamW steps replayed on both backends (train::replay judges them).
      const runs = JSON.parse(fs.readFileSync(path.join(DIST, 'fixtures/training/index.json'), 'utf8')).fixtures.map((f) => f.name);
      assert.equal(runs.length, 3);
      for (const r of smoke.training) {
        console.log(`training ${r.fixture.padEnd(16)} ${r.backend.padEnd(6)} loss ${r.loss.toExponential(2)}  gradients ${r.grad.toExponential(2)}  weights ${r.after.toExponential(2)}  ${Math.round(r.ms)} ms`);
      }
      for (const name of runs) {
        for (const backend of ['cpu', 'webgpu']) {
          const r = smoke.training.find((x) => x.fixture === name && x.backend === backend);
          if (!r) problems.push(`training ${name} on ${backend}: no result`);
          else if (!r.pass) problems.push(`training ${name} on ${backend}: ${r.failures.join('; ')}`);
        }
      }
      assert.equal(await page.locator('[data-view="smoke-training"]').getAttribute('data-state'), 'ready');
      assert.deepEqual(problems, []);
      // The table shows one row per run.
      assert.equal(await page.locator('[data-ref="rows"] tr').count(), fixtures.length * 2);
      assertCleanRun(log);
    },
  );

  test('bad input comes back as error replies, and the worker keeps working', { timeout: 180_000 }, async (t) => {
    const { page, log } = await browser(t);
    await page.goto(base);
    const fixture = fixtureNames()[0];
    const out = await page.evaluate(async (fixture) => {
      const { EngineClient } = await import(new URL('engine/client.js', document.baseURI).href);
      const c = new EngineClient();
      const dir = new URL(`fixtures/${encodeURIComponent(fixture)}/`, document.baseURI);
      const get = async (f) => (await fetch(new URL(f, dir))).arrayBuffer();
      const config = new TextDecoder().decode(await get('config.json'));
      const weights = await get('weights.safetensors');
      const outcome = async (op, args, transfer) => {
        try {
          await c.call(op, args, transfer);
          return { ok: true };
        } catch (e) {
          return { ok: false, isError: e instanceof Error, message: e?.message };
        }
      };
      const garbage = new Uint8Array(4096);
      for (let k = 0; k < garbage.length; k++) garbage[k] = (k * 2654435761) >>> 24; // fixed junk
      // A header length that fits, followed by a header that is not JSON.
      const badHeader = new Uint8Array(64);
      new DataView(badHeader.buffer).setBigUint64(0, 56n, true);
      badHeader.fill(0x7b, 8); // "{{{{…"
      const errors = {
        garbage: await outcome('load', { backend: 'cpu', config, weights: garbage.buffer }, [garbage.buffer]),
        badHeader: await outcome('load', { backend: 'cpu', config, weights: badHeader.buffer }),
        empty: await outcome('load', { backend: 'cpu', config, weights: new ArrayBuffer(0) }),
        truncated: await outcome('load', { backend: 'cpu', config, weights: weights.slice(0, weights.byteLength >> 1) }),
        badConfig: await outcome('load', { backend: 'cpu', config: '{"n_layers": ', weights: weights.slice(0) }),
        readGarbage: await outcome('read_safetensors', { bytes: new Uint8Array(100).fill(255).buffer }),
        unknownOp: await outcome('no_such_op', {}),
        unknownBackend: await outcome('init', { backend: 'tpu' }),
        badTokens: await outcome('forward', { backend: 'cpu', tokens: [[1, 2], [3]] }),
      };
      // Still answering: load the real model and run it.
      const expected = await c.call('read_safetensors', { bytes: await get('cache.safetensors') });
      await c.call('load', { backend: 'cpu', config, weights });
      const tokens = { shape: expected.tokens.shape, values: expected.tokens.values };
      const f = await c.call('forward', { backend: 'cpu', tokens });
      // The engine itself refuses a token the model has no embedding for (pages check first).
      const outOfVocab = await outcome('forward', { backend: 'cpu', tokens: { shape: [1, 3], values: [0, 1, 999] } });
      const logits = expected.logits;
      const maxDiff = (await c.call('compare', { actual: { logits: f }, expected: { logits } })).worst.maxAbsDiff;
      // The one comparison every test uses ranks a NaN worst, whatever finite difference follows.
      const t = (v) => ({ shape: [1], values: new Float32Array([v]) });
      const nanFirst = (await c.call('compare', { actual: { a: t(NaN), b: t(1) }, expected: { a: t(0), b: t(0) } })).worst;
      c.terminate();
      return {
        errors,
        outOfVocab,
        forward: { shape: f.shape, isF32: f.values instanceof Float32Array, n: f.values.length, maxDiff },
        nanFirst,
        expectedShape: logits.shape,
      };
    }, fixture);

    for (const [what, r] of Object.entries(out.errors)) {
      assert.equal(r.ok, false, `${what}: expected an error reply`);
      assert.equal(r.isError, true, `${what}: rejects with an Error`);
      assert.ok(typeof r.message === 'string' && r.message.trim().length > 0, `${what}: empty message`);
      console.log(`${what}: ${r.message}`);
    }
    assert.equal(out.outOfVocab.ok, false, 'token 999: expected an error reply');
    assert.match(out.outOfVocab.message, /out of vocabulary/);
    assert.deepEqual(out.forward.shape, out.expectedShape);
    assert.ok(out.forward.isF32);
    assert.ok(out.forward.maxDiff <= TOL, `forward after the errors differs by ${out.forward.maxDiff}`);
    assert.equal(out.nanFirst.name, 'a', 'a NaN difference is the worst');
    assert.ok(Number.isNaN(out.nanFirst.maxAbsDiff));
    // A panic in the engine would print through console.error: none may happen.
    assertCleanRun(log);
  });
});
