// <tl-backend>: which backend the page computes on and why, with the reader's override
// (auto / cpu / webgpu; remembered, and reloads the page so every figure uses it). The page
// sets `el.choice = {backend, reason, forced}` (from engine/backend.js) and
// `el.fallback(reason)` when a lost GPU moved the work to the CPU, `el.note(text)` for
// anything else that happened to the engine (it crashed and was restarted).
import { rememberBackend } from '../engine/backend.js';

const NAMES = { cpu: 'CPU (WebAssembly)', webgpu: 'WebGPU' };

export class BackendStatus extends HTMLElement {
  connectedCallback() {
    if (!this.dataset.view) this.dataset.view = this.getAttribute('view') || 'backend';
    if (!this.dataset.state) this.dataset.state = 'loading';
    if (this.built) return;
    this.built = true;
    this.classList.add('tl-backend');
    this.text = document.createElement('span');
    this.text.dataset.ref = 'status';
    this.text.textContent = 'Choosing a backend…';
    const label = document.createElement('label');
    label.textContent = 'Run on ';
    this.select = document.createElement('select');
    this.select.dataset.ref = 'override';
    for (const [v, t] of [['auto', 'best available'], ['cpu', NAMES.cpu], ['webgpu', NAMES.webgpu]]) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = t;
      this.select.append(o);
    }
    this.select.addEventListener('change', () => {
      rememberBackend(this.select.value);
      const u = new URL(location.href);
      u.searchParams.delete('backend');
      if (this.select.value !== 'auto') u.searchParams.set('backend', this.select.value);
      location.assign(u);
    });
    label.append(this.select);
    this.append(this.text, ' ', label);
  }

  set choice(c) {
    this.connectedCallback();
    this.dataset.backend = c.backend;
    this.text.textContent = `Computing on ${NAMES[c.backend]}: ${c.reason}.`;
    this.title = c.reason;
    this.select.value = c.forced ? c.backend : 'auto';
    // Pending: the CPU draws while the WebGPU self-test waits its turn; ready once decided.
    this.dataset.state = c.pending ? 'loading' : 'ready';
  }

  fallback(reason) {
    this.connectedCallback();
    this.dataset.backend = 'cpu';
    this.text.textContent = `The GPU was lost (${reason}); training continues on the CPU from the last checkpoint.`;
  }

  note(text) {
    this.connectedCallback();
    this.text.textContent = text;
  }

  setError(message) {
    this.connectedCallback();
    this.text.textContent = message;
    this.dataset.state = 'error';
  }
}
