// The figure frame's side of an embed: a notebook page opened as
// `notebooks/<task>/?view=NAME[&engine=shared]` inside another page (see www/embed.js).
// - Its engine: with `engine=shared` (set by embed.js), the host page's one engine worker,
//   reached through a MessagePort the host hands over; otherwise (the page opened directly, or
//   the plain-iframe form of the snippet) a worker of its own, as any page.
// - Its size and state: posted to the host as {toylens: 'embed', view, figure, height, state,
//   claim, error}, so embed.js sizes the frame to the figure and mirrors its data-state and
//   data-claim (figure: false when the page has no such view).
import { EngineClient } from '../engine/client.js';

const host = window.parent !== window ? window.parent : null;
// embed.js answers at once (its engine frame is up before it makes figure frames); past this,
// the figure starts its own worker rather than wait forever.
const PORT_WAIT_MS = 10_000;

/** The page's engine client: the host page's shared worker when embed.js asks for it, else its own. */
export async function engineClient() {
  if (!host || new URLSearchParams(location.search).get('engine') !== 'shared') return new EngineClient();
  const port = await new Promise((resolve) => {
    const done = (p) => {
      clearTimeout(timer);
      removeEventListener('message', onMessage);
      resolve(p);
    };
    const onMessage = (e) => {
      if (e.source === host && e.data?.toylens === 'engine-port') done(e.ports[0] ?? null);
    };
    const timer = setTimeout(() => done(null), PORT_WAIT_MS);
    addEventListener('message', onMessage);
    host.postMessage({ toylens: 'embed', need: 'engine' }, '*');
  });
  if (!port) {
    console.warn('toylens: the host page gave no shared engine; this figure starts its own');
    return new EngineClient();
  }
  const client = new EngineClient({ port });
  // The shared worker frees this figure's model when the figure goes away (a new view, a
  // removed element). A page restored from the back-forward cache has lost its port: reload.
  addEventListener('pagehide', () => client.terminate(), { once: true });
  addEventListener('pageshow', (e) => e.persisted && location.reload());
  return client;
}

/**
 * Keeps the host informed of `fig`'s state and of the height of what the page shows. The
 * height is the body's box: the hidden rest of the notebook is display:none and takes no
 * room, and (unlike document.scrollHeight) it does not grow to the frame's own height, so a
 * frame can shrink to its figure. `fig` null: the page has no such view (`error` says so).
 */
export function reportToHost(view, fig, error = '') {
  if (!host) return;
  const body = document.body;
  const post = () => {
    const height = Math.ceil(body.getBoundingClientRect().bottom + scrollY);
    const state = fig ? (fig.dataset.state ?? 'ready') : 'error';
    // The verdict on the figure's claim for the model it shows (data-claim), if it has one.
    const claim = fig?.dataset.claim ?? null;
    host.postMessage({ toylens: 'embed', view, figure: Boolean(fig), height, state, claim, error: fig ? (fig.errorMessage ?? '') : error }, '*');
  };
  new ResizeObserver(post).observe(body);
  if (fig) new MutationObserver(post).observe(fig, { attributes: true, attributeFilter: ['data-state', 'data-claim'] });
  post();
}
