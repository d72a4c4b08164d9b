// Headless Debian Chromium through playwright-core (no bundled browser download), with the
// flags that give it a real WebGPU adapter: SwiftShader's Vulkan. No --disable-gpu: that
// would take the adapter away. Records console errors, page errors, Content-Security-Policy
// violations and every request URL so a test can assert a clean run that never leaves the
// page's origin; a test process whose browser saw any page break the policy fails.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.TOYLENS_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];

/**
 * Launches Chromium on a fresh temporary profile and opens one page.
 * Returns {context, page, log, close}; log = {consoleErrors, pageErrors, requests, console, csp}.
 * log.csp: every Content-Security-Policy violation of any page or frame (see recordCsp);
 * If it is not empty at close(), the process fails (a test that provokes one on purpose empties it).
 * contextOptions: more of Playwright's context options (a phone: viewport, isMobile, hasTouch).
 * extraArgs: more Chromium flags (the bench's software raster).
 * Service workers are blocked unless asked for ('allow'): the site's (www/sw.js) would
 * precache 30 MB behind every test; tests/e2e/offline.test.mjs is the one that needs it.
 * Each array is live: it fills as the page runs.
 */
export async function launchBrowser({ headless = true, timeout = 60_000, serviceWorkers = 'block', contextOptions = {}, extraArgs = [] } = {}) {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'toylens-chromium-'));
  let context;
  try {
    // A persistent context on a fresh temp dir: the explicit --user-data-dir, removed on close.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      timeout,
      serviceWorkers,
      ...contextOptions,
    });
  } catch (e) {
    await fs.rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const log = { consoleErrors: [], pageErrors: [], requests: [], console: [], csp: [] };
  // Context-wide listeners: they see every page and its workers (console messages from a
  // worker come through here too, with msg.worker() set), and every request incl. workers'.
  context.on('console', (m) => {
    const line = `[${m.worker?.() ? 'worker ' : ''}${m.type()}] ${m.text()}`;
    log.console.push(line);
    if (m.type() === 'error') log.consoleErrors.push(line);
    // Chromium's own report of a blocked load, eval or inline script/style ("Refused to load
    // …", "Applying inline style violates …"): also a console error.
    if (m.type() === 'error' && /Content Security Policy directive/.test(m.text())) log.csp.push(line);
  });
  await recordCsp(context, log.csp);
  context.on('request', (r) => log.requests.push(r.url()));
  // Uncaught errors in a page; uncaught ones in a worker arrive as 'weberror' only.
  context.on('weberror', (e) => log.pageErrors.push(String(e.error()?.stack || e.error())));
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    log,
    close: async () => {
      try {
        await context.close();
      } finally {
        await fs.rm(userDataDir, { recursive: true, force: true });
      }
      // Not thrown: a caller's cleanup after this (its server's close) must still run. The
      // test file's process then exits non-zero, which fails it in node's test runner.
      if (log.csp.length) {
        console.error(`Content-Security-Policy violations:\n${log.csp.join('\n')}`);
        process.exitCode = 1;
      }
    },
  };
}

/**
 * Records into `out` every securitypolicyviolation event of every page and frame of
 * `context`, from the document's start (an init script, which the page's policy does not
 * govern, hands each to a binding): what was blocked, by which directive, and where.
 */
async function recordCsp(context, out) {
  await context.exposeBinding('__toylensCspViolation', ({ frame }, v) => {
    out.push(`[csp ${frame.url().split('?')[0]}] ${v.directive} blocked ${v.blocked || 'inline'} at ${v.source}${v.sample ? `: ${v.sample}` : ''}`);
  });
  await context.addInitScript(() => {
    addEventListener('securitypolicyviolation', (e) => {
      globalThis.__toylensCspViolation?.({ directive: e.effectiveDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`, sample: e.sample });
    }, true);
  });
}

/** Every recorded request URL whose origin is not `origin` (data: and blob: are local). */
export function foreignRequests(log, origin) {
  return log.requests.filter((u) => {
    if (u.startsWith('data:') || u.startsWith('blob:')) return false;
    try {
      return new URL(u).origin !== origin;
    } catch {
      return true;
    }
  });
}
