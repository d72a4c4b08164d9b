// The engine frame: embed.js adds one, hidden, to a host page (per toylens site), and every
// figure of that page computes in its one worker. Why a frame: the worker must come from the
// toylens origin, which a host page on another origin cannot start itself. A SharedWorker
// started by the figure frames would need no extra frame, but Android Chrome has none, so the
// frame would be needed as its fallback anyway: one mechanism that works in every browser is
// simpler to keep right. The frame's dedicated worker serves each figure through a
// MessagePort (the worker's `connect` op; the host page only passes the two ends along), so a
// post with N figures downloads and instantiates the wasm once and fetches each model once
// (the worker's `fetch` op).
//
// With the host (window.parent, any origin; nothing here is private):
//   -> {toylens: 'engine', views: [{view, widget}]}  once loaded: every embeddable name,
//      from the pages' declarations (embed.js checks names against it; it cannot read
//      pages.js itself without CORS)
//   -> {toylens: 'engine', error}                    the engine cannot start (with why)
//   <- {toylens: 'connect'} + a MessagePort          a figure frame's end is the other port
import PAGES from '../notebooks/pages.js';
import { EngineClient } from '../engine/client.js';

const host = window.parent !== window ? window.parent : null;

if (host) {
  const client = new EngineClient();
  const fail = (why) => host.postMessage({ toylens: 'engine', error: `the toylens engine could not start: ${why}` }, '*');
  client.addEventListener('error', (e) => fail(e.message));
  addEventListener('message', (e) => {
    if (e.source !== host || e.data?.toylens !== 'connect' || !e.ports[0]) return;
    const port = e.ports[0];
    client.call('connect', { port }, [port]).catch((err) => fail(err.message));
  });
  host.postMessage({ toylens: 'engine', views: PAGES.flatMap((p) => p.figures.map((f) => ({ view: f.view, widget: f.widget }))) }, '*');
  // The wasm download starts now, while the figures' pages load.
  client.call('init', { backend: 'cpu' }).catch((err) => fail(err.message));
}
