// Embed live figures of toylens notebooks anywhere, by their stable view names:
//   <script src="https://…/toylens/embed.js" defer></script>     (any host: needs no CORS)
//   <script type="module" src="https://…/toylens/embed.js"></script>  (the same, as a module:
//     the toylens host must then send Access-Control-Allow-Origin)
//   <toylens-view view="min/full-ov"></toylens-view>
// This file is self-contained (no imports) so that it runs as a classic script too.
//
// Each element is a frame of its notebook page (`notebooks/<task>/?view=NAME`) showing only
// that figure: nothing of the host page is touched, and the frame's height follows the
// figure's. All figures of a host page share one engine: the first element adds one hidden
// engine frame (embed/engine.html) per toylens site, which runs the one engine worker and
// tells this script the view names (read there from the pages' declarations, page.js: this
// script cannot import them from another origin without CORS). Each figure frame then gets a
// MessagePort to that worker, so a post with N figures downloads and instantiates the wasm
// once and fetches each model once (why a frame rather than a SharedWorker: embed/engine.js).
//
// Attributes (all live: a change re-renders):
//   view        task/name, as in docs/views.html
//   site        where toylens lives (default: next to this script)
//   checkpoint  a step of the pretrained training timeline
//   tokens      the input, as comma-separated token ids
//   backend     cpu | webgpu (default cpu: a figure's analyses run on the CPU whatever the
//               backend, and choosing WebGPU costs a self-test, seconds on a software adapter)
//   any other attribute (not id/class/style/title/hidden/lang/dir/slot/tabindex/data-*/
//               aria-*/height/loading) is a page pick, passed on as <name>=<value>
//   height      the frame's height (px) until the figure reports its own
//   loading     lazy: the frame loads when scrolled near (the iframe attribute)
// The element mirrors the figure's data-view, data-state (loading, ready, error) and
// data-claim (holds, fails: its claim on the model shown) and, in error, its errorMessage.
// When toylens cannot be reached (a wrong src or site, a host page whose
// Content-Security-Policy forbids the frame, an unknown view) the element says so, and what
// to do, in its own box.
(() => {
  if (!window.customElements || customElements.get('toylens-view')) return;

  // A classic script knows itself; a module script does not (and import.meta is a syntax
  // error in a classic one), so then: the last script whose src is an embed.js.
  const script = document.currentScript || [...document.querySelectorAll('script[src]')].reverse().find((s) => /\/embed\.js([?#]|$)/.test(s.src));
  const SCRIPT_SITE = script ? new URL('./', script.src).href : null;

  // A toylens page speaks while it loads, before its load event: silence this long after it
  // means the frame shows something else (an error page, a blocked frame).
  const ANSWER_MS = 4000;
  // No load event at all (a stalled network): give up after this.
  const LOAD_MS = 60_000;

  // Attributes that are the element's own, not a pick of the page.
  const OWN = new Set(['view', 'site', 'height', 'loading', 'id', 'class', 'style', 'title', 'hidden', 'lang', 'dir', 'slot', 'tabindex']);
  const isOwn = (name) => OWN.has(name) || name.startsWith('data-') || name.startsWith('aria-');
  // Changes to these re-render; cosmetic ones (class, style, data-state…) do not.
  const rerenders = (name) => name === 'view' || name === 'site' || !isOwn(name);

  // A constructed stylesheet, not a <style> element: a page whose Content-Security-Policy has
  // style-src without 'unsafe-inline' (toylens's own pages) refuses the element. :where()
  // keeps it below any rule of the page (as the element prepended to <head> was).
  const CSS = ':where(toylens-view) { display: block; }';
  if (document.adoptedStyleSheets) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } else {
    document.head.prepend(Object.assign(document.createElement('style'), { textContent: CSS }));
  }

  /**
   * Calls `onSilent()` unless `answered()` is true ANSWER_MS after `frame` loaded (or LOAD_MS
   * after it was made, if it never loads; not for a lazy frame, which loads when scrolled to).
   * A frame from another origin cannot be looked into: its messages are the only sign it is ours.
   */
  function watch(frame, answered, onSilent) {
    const check = () => answered() || onSilent();
    frame.addEventListener('load', () => setTimeout(check, ANSWER_MS), { once: true });
    if (frame.loading !== 'lazy') setTimeout(check, LOAD_MS);
  }

  const blocked = (url) =>
    `Open ${url} in a tab. If it does not load, the script's src (or the element's site attribute) does not point at toylens. ` +
    `If it does, this page does not let it run in a frame: its Content-Security-Policy must allow frames from ${new URL(url).origin} (frame-src).`;

  /** The hidden engine frame of one toylens site on this page. */
  class EngineFrame {
    constructor(site) {
      this.origin = new URL(site).origin;
      this.url = new URL('embed/engine.html', site).href;
      this.errors = new Set(); // callbacks for an engine that fails after it answered
      this.views = new Promise((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      this.views.catch(() => {});
      this.answered = false;
      const frame = (this.frame = document.createElement('iframe'));
      frame.src = this.url;
      frame.title = 'toylens engine';
      frame.style.display = 'none'; // inline: a host's iframe { display: … } must not show it
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      addEventListener('message', (e) => {
        if (e.source !== frame.contentWindow || e.data?.toylens !== 'engine') return;
        this.answered = true;
        if (Array.isArray(e.data.views)) this.resolve(e.data.views);
        if (e.data.error) this.#fail(e.data.error, 'Reload the page. If it happens again, open the notebook page itself to see the engine’s full report.');
      });
      watch(frame, () => this.answered, () => this.#fail(`toylens did not answer from ${this.url}.`, blocked(this.url)));
      document.body.append(frame);
    }

    #fail(message, fix) {
      const e = Object.assign(new Error(message), { fix });
      this.reject(e);
      for (const fn of this.errors) fn(e);
    }

    /** Hands `port` to the engine worker: the figure holding the other end computes there. */
    connect(port) {
      this.frame.contentWindow.postMessage({ toylens: 'connect' }, this.origin, [port]);
    }
  }

  const engines = new Map(); // site URL -> EngineFrame
  const engineFor = (site) => {
    if (!engines.has(site)) engines.set(site, new EngineFrame(site));
    return engines.get(site);
  };

  class ToylensView extends HTMLElement {
    connectedCallback() {
      this.gen ??= 0; // renders started; an older render that finishes late changes nothing
      this.onMessage = (e) => this.#onMessage(e);
      this.onEngineError = (e) => this.dataset.state !== 'ready' && this.#fail(e.message, e.fix);
      addEventListener('message', this.onMessage);
      this.observer = new MutationObserver((records) => {
        if (records.some((r) => rerenders(r.attributeName))) this.#render();
      });
      this.observer.observe(this, { attributes: true });
      this.#render();
    }

    disconnectedCallback() {
      removeEventListener('message', this.onMessage);
      this.observer.disconnect();
      this.engine?.errors.delete(this.onEngineError);
      this.gen++;
      this.frame = null;
      this.replaceChildren(); // the frame goes, and with it the figure's model in the worker
    }

    async #render() {
      const gen = ++this.gen;
      // The element's own text is for when this script cannot run: it has run.
      if (gen === 1) this.replaceChildren();
      const view = this.getAttribute('view') || '';
      this.dataset.view = view;
      this.dataset.state = 'loading';
      this.errorMessage = '';
      const site = this.#site();
      if (!site) return;
      this.engine?.errors.delete(this.onEngineError);
      this.engine = engineFor(site);
      this.engine.errors.add(this.onEngineError);
      let views;
      try {
        views = await this.engine.views;
      } catch (e) {
        if (gen === this.gen) this.#fail(e.message, e.fix);
        return;
      }
      if (gen !== this.gen) return;
      if (!views.some((v) => v.view === view)) {
        // The names of its notebook if there is one, else the notebooks.
        const task = `${view.split('/')[0]}/`;
        const names = views.filter((v) => v.view.startsWith(task)).map((v) => v.view);
        const tasks = [...new Set(views.map((v) => v.view.split('/')[0]))];
        const some = names.length ? `one of ${names.join(', ')}` : `task/name, the task one of ${tasks.join(', ')}`;
        this.#fail(`toylens has no view ${JSON.stringify(view)}.`, `Set view to ${some} (every name: ${new URL('docs/embedding.html', site).href}).`);
        return;
      }
      this.#show(this.#figureUrl(site, view), view);
    }

    #site() {
      const given = this.getAttribute('site') || SCRIPT_SITE;
      if (!given) {
        this.#fail('embed.js could not tell where toylens is.', 'Add site="https://…/toylens/" to this element.');
        return null;
      }
      try {
        const url = new URL(given, document.baseURI);
        if (!url.pathname.endsWith('/')) url.pathname += '/';
        return url.href;
      } catch {
        this.#fail(`site ${JSON.stringify(given)} is not a URL.`, 'Set site to the address of the toylens site, e.g. https://…/toylens/.');
        return null;
      }
    }

    /** notebooks/<task>/?view=NAME&engine=shared&backend=cpu plus every pick attribute, under the same name. */
    #figureUrl(site, view) {
      const url = new URL(`notebooks/${view.split('/')[0]}/`, site);
      url.searchParams.set('view', view);
      url.searchParams.set('engine', 'shared');
      url.searchParams.set('backend', 'cpu'); // unless the element says otherwise, just below
      for (const { name, value } of this.attributes) if (!isOwn(name)) url.searchParams.set(name, value);
      return url.href;
    }

    // A new frame for every render: messages still on their way from the previous one carry
    // another source and are ignored. It starts at the previous frame's height (no jump).
    #show(url, view) {
      const frame = document.createElement('iframe');
      const height = this.frame?.style.height || `${Number(this.getAttribute('height')) || 320}px`;
      frame.style.cssText = `display:block;width:100%;border:0;height:${height}`;
      frame.title = `toylens: ${view}`;
      if (this.getAttribute('loading') === 'lazy') frame.loading = 'lazy';
      frame.src = url;
      this.frame = frame;
      this.replaceChildren(frame);
      watch(
        frame,
        () => frame.answered || frame !== this.frame,
        () => this.#fail(`The figure ${view} did not answer from ${url}.`, blocked(url)),
      );
    }

    #onMessage(e) {
      const frame = this.frame;
      if (!frame || e.source !== frame.contentWindow || e.data?.toylens !== 'embed') return;
      frame.answered = true;
      const m = e.data;
      if (m.need === 'engine') {
        // The figure's end of a channel to the one engine worker.
        const channel = new MessageChannel();
        this.engine.connect(channel.port1);
        frame.contentWindow.postMessage({ toylens: 'engine-port' }, this.engine.origin, [channel.port2]);
        return;
      }
      if (Number.isFinite(m.height)) frame.style.height = `${Math.ceil(m.height)}px`;
      if (m.state === 'error' && !m.figure) {
        this.#fail(m.error || `The page of ${this.dataset.view} failed.`, 'Check the view name; reload the page.');
        return;
      }
      this.#box(null);
      frame.style.display = 'block';
      this.errorMessage = m.state === 'error' ? m.error || '' : '';
      this.dataset.state = m.state;
      if (m.claim) this.dataset.claim = m.claim;
      else delete this.dataset.claim;
    }

    #fail(message, fix) {
      this.dataset.state = 'error';
      this.errorMessage = message;
      if (this.frame) this.frame.style.display = 'none';
      this.#box(`toylens: ${message}\n${fix}`);
    }

    // The element's own message box (null: none), styled inline: the host's CSS is unknown.
    #box(text) {
      let box = this.querySelector(':scope > [data-toylens-error]');
      if (text === null) return box?.remove();
      if (!box) {
        box = document.createElement('div');
        box.dataset.toylensError = '';
        box.setAttribute('role', 'alert');
        box.style.cssText = 'border:1px solid #b3261e;color:#b3261e;border-radius:4px;padding:.5rem .75rem;font:14px/1.45 system-ui,sans-serif;white-space:pre-wrap;overflow-wrap:anywhere';
        this.append(box);
      }
      box.textContent = text;
    }
  }

  customElements.define('toylens-view', ToylensView);
})();
