// Embed one live figure of a toylens notebook anywhere, by its stable view name:
//   <script type="module" src="https://…/toylens/embed.js"></script>
//   <toylens-view view="min/full-ov"></toylens-view>
// The figure runs in a frame of its notebook page (`notebooks/<task>/?view=NAME`), engine and
// all, so nothing of the host page is touched; the frame takes the figure's height. The
// element mirrors the figure's data-view and data-state. `site` overrides where toylens lives
// (default: next to this script). The names are the pages' declarations
// (notebooks/<task>/page.js): an unknown name is refused here, with the list.
import PAGES from './notebooks/pages.js';
import { pageOf } from './notebooks/declare.js';

const SITE = new URL('./', import.meta.url);

class ToylensView extends HTMLElement {
  connectedCallback() {
    if (this.frame) return;
    const view = this.getAttribute('view') || '';
    this.dataset.view = view;
    this.dataset.state = 'loading';
    const page = pageOf(PAGES, view);
    if (!page) {
      const known = PAGES.flatMap((p) => p.figures.map((f) => f.view));
      this.#fail(`no view ${JSON.stringify(view)}; the views are ${known.join(', ')}`);
      return;
    }
    const task = page.task;
    const site = new URL(this.getAttribute('site') || SITE, location.href);
    const url = new URL(`notebooks/${task}/`, site);
    url.searchParams.set('view', view);
    for (const k of ['backend']) if (this.hasAttribute(k)) url.searchParams.set(k, this.getAttribute(k));
    this.frame = Object.assign(document.createElement('iframe'), { src: url.href, title: `toylens: ${view}` });
    this.frame.style.cssText = 'width:100%;border:0;display:block;height:' + (this.getAttribute('height') || '480') + 'px';
    this.onMessage = (e) => {
      if (e.source !== this.frame.contentWindow || e.data?.toylens !== 'embed') return;
      this.frame.style.height = `${Math.ceil(e.data.height)}px`;
      this.dataset.state = e.data.state;
      this.errorMessage = e.data.error;
    };
    window.addEventListener('message', this.onMessage);
    this.append(this.frame);
  }

  disconnectedCallback() {
    window.removeEventListener('message', this.onMessage);
  }

  #fail(message) {
    this.dataset.state = 'error';
    this.errorMessage = message;
    this.textContent = message;
  }
}

if (!customElements.get('toylens-view')) customElements.define('toylens-view', ToylensView);
