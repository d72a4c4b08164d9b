// The engine frame: embed.js adds one, hidden, to a host page (per toylens site), and every
// figure of that page computes in its one worker. Why a frame and not a SharedWorker: a
// worker must come from the toylens origin, which a host page on another origin cannot
// start; a SharedWorker from inside the figure frames could (no host code at all), but
// Android Chrome has none, and in a third-party frame it is partitioned per host page anyway.
// A frame works in every browser, and its dedicated worker serves each figure through a
// MessagePort (the worker's `connect` op), so a post with N figures downloads and
// instantiates the wasm once and fetches each model once (the worker's `fetch` op).
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
