// Reading a notebook page's figures from a browser test: wait until views are drawn, and
// fingerprint what they show (two equal fingerprints: the same figures).

/** Waits until every listed view is ready (fails at once, with the message, if one errs). */
export async function waitReady(page, views, timeout) {
  await page.waitForFunction((vs) => {
    const els = vs.map((v) => document.querySelector(`[data-view="${v}"]`));
    const bad = els.find((e) => e?.dataset.state === 'error');
    if (bad) throw new Error(`${bad.dataset.view}: ${bad.errorMessage || bad.textContent}`);
    return els.every((e) => e && e.dataset.state === 'ready');
  }, views, { timeout, polling: 100 });
}

/** A fingerprint of each view's drawn content: widget data (values), or a plain figure's text. */
export function snapshot(page, views) {
  return page.evaluate((vs) => Object.fromEntries(vs.map((v) => {
    const e = document.querySelector(`[data-view="${v}"]`);
    const d = e.data;
    const text = d === undefined ? e.textContent : JSON.stringify(d, (k, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x));
    return [v, text];
  })), views);
}
