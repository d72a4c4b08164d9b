// What the browser tests share: the built site served under a sub-path (as it may be
// deployed: every URL must be relative), a fresh browser per test, and the clean-run check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';
import { foreignRequests, launchBrowser } from './browser.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.resolve(process.env.TOYLENS_DIST || path.join(ROOT, 'dist'));
export const CLI = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'toylens');
const SUB_PATH = 'sub/path/toylens/';

/** Serves DIST at <origin>/sub/path/toylens/; `extra` is a directory served at <origin>/extra/. */
export async function serveSite(required = ['pkg/toylens.js', 'pkg/toylens_bg.wasm', 'pkg/toylens_cpu.js', 'pkg/toylens_cpu_bg.wasm']) {
  for (const f of required) {
    assert.ok(fs.existsSync(path.join(DIST, f)), `${path.join(DIST, f)} is missing: build the site first (./build.sh build)`);
  }
  const siteRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'toylens-e2e-'));
  fs.mkdirSync(path.join(siteRoot, path.dirname(SUB_PATH.slice(0, -1))), { recursive: true });
  fs.symlinkSync(DIST, path.join(siteRoot, SUB_PATH.slice(0, -1)), 'dir');
  const extra = path.join(siteRoot, 'extra');
  fs.mkdirSync(extra);
  const server = await startServer(siteRoot);
  return {
    base: new URL(SUB_PATH, server.url).href,
    origin: new URL(server.url).origin,
    extraDir: extra,
    extraUrl: new URL('extra/', server.url).href,
    close: async () => {
      await server.close();
      fs.rmSync(siteRoot, { recursive: true, force: true });
    },
  };
}

/** A fresh browser for one test, closed when it ends: {page, log, context}. */
export async function browserFor(t) {
  const b = await launchBrowser();
  t.after(async () => {
    await b.close();
    assert.deepEqual(b.log.csp, [], 'Content-Security-Policy violations');
  });
  return b;
}

export function assertCleanRun(log, origin) {
  assert.deepEqual(log.consoleErrors, [], 'console errors');
  assert.deepEqual(log.pageErrors, [], 'uncaught page or worker errors');
  assert.deepEqual(log.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(foreignRequests(log, origin), [], `requests outside ${origin}`);
}
