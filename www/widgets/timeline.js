// <tl-timeline>: the training-timeline scrubber every analysis follows. Two sources: the
// pretrained model's checkpoints and the reader's own run. Set `el.sources = {pretrained:
// [steps], run: [steps]}` and `el.select(source, step)`; it fires `change` with
// detail {source, step} when the reader lets go of it, and `scrub` with the same detail at
// each step it passes while dragged (pages follow live, dropping the steps they cannot keep
// up with). "Follow" keeps it on the newest checkpoint of the reader's run while it trains.

const LABELS = { pretrained: 'pretrained model', run: 'your run' };

export class Timeline extends HTMLElement {
  constructor() {
    super();
    this._sources = { pretrained: [], run: [] };
    this.source = 'pretrained';
    this.step = null;
    this.follow = true;
  }

  connectedCallback() {
    if (!this.dataset.view) this.dataset.view = this.getAttribute('view') || 'timeline';
    if (!this.dataset.state) this.dataset.state = 'loading';
    if (this.built) return;
    this.built = true;
    this.classList.add('tl-timeline');
    const mk = (tag, props = {}) => Object.assign(document.createElement(tag), props);
    this.sourceSel = mk('select');
    this.sourceSel.dataset.ref = 'source';
    this.sourceSel.setAttribute('aria-label', 'timeline source');
    this.range = mk('input', { type: 'range', min: 0, max: 0, step: 1, value: 0 });
    this.range.dataset.ref = 'range';
    this.range.setAttribute('aria-label', 'training step');
    this.label = mk('output');
    this.label.dataset.ref = 'label';
    this.append(Object.assign(document.createElement('span'), { textContent: 'Timeline ' }), this.sourceSel, this.range, this.label);
    this.sourceSel.addEventListener('change', () => {
      const steps = this._sources[this.sourceSel.value];
      this.select(this.sourceSel.value, steps.at(-1), true);
    });
    // Moving the slider shows the step at once, and tells the page (`scrub`) as it goes.
    this.range.addEventListener('input', () => {
      const step = this._sources[this.source][Number(this.range.value)];
      this._show(step);
      if (step != null) this.dispatchEvent(new CustomEvent('scrub', { detail: { source: this.source, step } }));
    });
    // While the reader drags, the page's model catches up behind the thumb: its selections
    // must not move the thumb back.
    this.range.addEventListener('pointerdown', () => (this._dragging = true));
    const release = () => (this._dragging = false);
    this.range.addEventListener('pointerup', release);
    this.range.addEventListener('pointercancel', release);
    this.range.addEventListener('change', () => {
      const steps = this._sources[this.source];
      this.follow = Number(this.range.value) === steps.length - 1;
      this.select(this.source, steps[Number(this.range.value)], true);
    });
    this._render();
  }

  set sources(s) {
    this._sources = { pretrained: s.pretrained ?? this._sources.pretrained, run: s.run ?? this._sources.run };
    this._render();
  }

  get sources() {
    return this._sources;
  }

  /** Moves to `step` of `source`; `fromReader` fires `change`. */
  select(source, step, fromReader = false) {
    this.source = source;
    this.step = step;
    this._render();
    if (fromReader) this.dispatchEvent(new CustomEvent('change', { detail: { source, step } }));
  }

  _render() {
    if (!this.built) return;
    const opts = Object.entries(this._sources).filter(([, v]) => v.length);
    this.sourceSel.replaceChildren(...opts.map(([k]) => Object.assign(document.createElement('option'), { value: k, textContent: LABELS[k] })));
    this.sourceSel.value = this.source;
    const steps = this._sources[this.source] ?? [];
    this.range.max = Math.max(0, steps.length - 1);
    const i = steps.indexOf(this.step);
    if (!this._dragging) this.range.value = i < 0 ? steps.length - 1 : i;
    this.range.disabled = steps.length < 2;
    if (!this._dragging) this._show(this.step);
    this.dataset.state = steps.length ? 'ready' : 'loading';
    this.dataset.source = this.source;
    if (this.step != null) this.dataset.step = this.step;
  }

  _show(step) {
    this.label.textContent = step == null ? '' : `step ${step} · ${LABELS[this.source]}`;
  }
}
