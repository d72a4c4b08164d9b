// <tl-train-panel>: "train it yourself". Bound to a TrainingSession (engine/session.js) with
// `el.session = s`: seed / steps / lr / batch inputs (the notebook's defaults), start, pause,
// resume, step and reset, live loss and accuracy curves, steps/s and ETA, an estimate before
// a long run, and weight import/export: the run downloads as TL-named safetensors and its
// TL config JSON, what HookedTransformer loads (docs/weights.html); two plain files, two
// buttons (one click each: browsers hold back a second download started by the same click,
// and a zip would be one more vendored library for one click less). Drop a file to import.
// Fires `import` with detail {name, bytes} for a dropped or chosen weights file.
// `el.smaller = {label, config, settings}` (optional): a smaller model (a TL config, with its
// own seed/steps/lr/batch), offered by a model choice beside the knobs and again when the
// estimate says the full run is long.

import { download } from './export.js';

const LONG_RUN_S = 120;

function fmtTime(s) {
  if (!Number.isFinite(s)) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export class TrainPanel extends HTMLElement {
  connectedCallback() {
    if (!this.dataset.view) this.dataset.view = this.getAttribute('view') || 'train';
    if (!this.dataset.state) this.dataset.state = 'loading';
    if (this.built) return;
    this.built = true;
    this.classList.add('tl-train-panel');
    const ref = (e, name) => {
      e.dataset.ref = name;
      return e;
    };
    this.inputs = {};
    const field = (name, label, attrs) => {
      const input = ref(el('input', { type: 'number', ...attrs }), name);
      this.inputs[name] = input;
      return el('label', {}, `${label} `, input);
    };
    const button = (name, text) => ref(el('button', { type: 'button', textContent: text }), name);
    this.buttons = {
      start: button('start', 'Train'),
      pause: button('pause', 'Pause'),
      resume: button('resume', 'Resume'),
      step: button('step', 'Step'),
      reset: button('reset', 'Reset'),
      export: button('export', 'Download weights'),
      exportConfig: button('export-config', 'Download config'),
    };
    this.fileInput = ref(el('input', { type: 'file', accept: '.safetensors,.pt,.pth' }), 'import');
    this.statusLine = ref(el('p', { className: 'tl-status', role: 'status' }), 'status');
    this.notice = ref(el('div', { className: 'tl-notice', hidden: true }), 'notice');
    this.errorBox = ref(el('div', { className: 'tl-error-text', role: 'alert' }), 'error');
    this.loss = ref(el('tl-lines'), 'loss');
    this.acc = ref(el('tl-lines'), 'accuracy');
    const task = this.getAttribute('task') || '';
    this.loss.setAttribute('view', `${task ? `${task}/` : ''}training-loss`);
    this.acc.setAttribute('view', `${task ? `${task}/` : ''}training-accuracy`);
    // The model to train: the page's, or its smaller one (shown once a page sets `smaller`).
    this.model = ref(el('select', {}, el('option', { value: 'task', textContent: 'this page’s model' })), 'model');
    this.modelField = el('label', { hidden: true }, 'model ', this.model);
    this.model.addEventListener('change', () => {
      const settings = this.model.value === 'smaller' ? this._smaller.settings : this.s?.defaults() ?? {};
      for (const [k, v] of Object.entries(settings)) this.inputs[k].value = v;
    });
    this.append(
      el('div', { className: 'tl-controls' },
        this.modelField,
        field('seed', 'seed', { min: 0, step: 1 }),
        field('steps', 'steps', { min: 1, step: 1 }),
        field('lr', 'lr', { min: 0, step: 'any' }),
        field('batch', 'batch', { min: 1, step: 1 })),
      el('div', { className: 'tl-controls' }, ...Object.values(this.buttons), el('label', { className: 'tl-file' }, 'Import weights ', this.fileInput)),
      this.notice,
      this.statusLine,
      this.errorBox,
      el('div', { className: 'tl-curves' }, this.loss, this.acc),
    );
    this.buttons.start.addEventListener('click', () => this.#act(() => this.#start()));
    this.buttons.pause.addEventListener('click', () => this.#act(() => this.s.pause()));
    this.buttons.resume.addEventListener('click', () => this.#act(() => this.s.start()));
    this.buttons.step.addEventListener('click', () => this.#act(() => this.s.stepOnce()));
    this.buttons.reset.addEventListener('click', () => this.#act(() => this.#reset()));
    this.buttons.export.addEventListener('click', () => this.#act(() => this.#export('weights')));
    this.buttons.exportConfig.addEventListener('click', () => this.#act(() => this.#export('config')));
    this.fileInput.addEventListener('change', () => this.fileInput.files[0] && this.#import(this.fileInput.files[0]));
    this.addEventListener('dragover', (e) => {
      e.preventDefault();
      this.classList.add('tl-drop');
    });
    this.addEventListener('dragleave', () => this.classList.remove('tl-drop'));
    this.addEventListener('drop', (e) => {
      e.preventDefault();
      this.classList.remove('tl-drop');
      const f = e.dataTransfer?.files?.[0];
      if (f) this.#import(f);
    });
    this.#update();
  }

  get s() {
    return this._session;
  }

  get smaller() {
    return this._smaller;
  }

  set smaller(small) {
    this.connectedCallback();
    this._smaller = small;
    // Short enough for a phone's width; the whole description is the option's title.
    this.model.replaceChildren(this.model.options[0], el('option', { value: 'smaller', textContent: 'the smaller model', title: small.label }));
    this.modelField.hidden = false;
  }

  set session(s) {
    this.connectedCallback();
    this._session = s;
    // The knobs as the engine reads them off the run's recipe (or the task's, before a run).
    for (const [k, v] of Object.entries(s.settings ?? s.defaults())) this.inputs[k].value = v;
    s.addEventListener('status', () => this.#update());
    s.addEventListener('progress', (e) => this.#progress(e.detail));
    s.addEventListener('eval', (e) => {
      this.loss.append('held-out loss', e.detail.step, e.detail.loss);
      this.acc.append('held-out accuracy', e.detail.step, e.detail.accuracy);
    });
    s.addEventListener('error', (e) => this.showError(e.detail.message));
    s.addEventListener('fallback', (e) => {
      this.#say(`The GPU was lost (${e.detail.reason.split('\n')[0]}); continuing on the CPU from the checkpoint at step ${e.detail.resumedAt}.`);
      this.#redrawCurves(); // the steps after that checkpoint are trained again
    });
    // The engine crashed and restarted; or another tab saves this page's run.
    s.addEventListener('restarted', (e) => {
      this.#say(`The engine crashed (${e.detail.reason.replace(/\s+/g, ' ')}) and was restarted; training resumed from step ${e.detail.resumedAt}.`);
      this.#redrawCurves();
    });
    s.addEventListener('notice', (e) => this.#say(e.detail.message));
    this.#redrawCurves();
    this.#update();
    this.dataset.state = 'ready';
  }

  #settings() {
    const n = (k) => Number(this.inputs[k].value);
    return { seed: n('seed'), steps: n('steps'), lr: n('lr'), batch: n('batch') };
  }

  async #act(fn) {
    this.errorBox.textContent = '';
    try {
      await fn();
    } catch (e) {
      this.showError(e.message);
    }
    this.#update();
  }

  // A fresh run: first time a few steps, and before a long run say how long and offer the
  // pretrained model or a shorter run instead.
  async #start() {
    const s = this.s;
    const small = this.smaller;
    if (this.model.value === 'smaller') await s.create(this.#settings(), { config: small.config, variant: small.label });
    else await s.create(this.#settings());
    this.#variantShown();
    this.#redrawCurves();
    this.#say('Measuring the speed of this machine…');
    const est = await s.estimate(3);
    if (est.seconds > LONG_RUN_S) {
      const fit = Math.max(s.step + 1, Math.floor((60 / est.secondsPerStep) || 1));
      const offerSmaller = small && this.model.value !== 'smaller';
      const choice = await this.#ask(
        `This run would take about ${fmtTime(est.seconds)} on ${est.backend === 'cpu' ? 'the CPU' : 'WebGPU'} ` +
          `(${est.secondsPerStep.toFixed(2)} s per step). The pretrained model on this page was trained the same way.`,
        [
          ['train', 'Train anyway'],
          ['short', `Train ${fit} steps (about a minute)`],
          ...(offerSmaller ? [['smaller', `Train ${small.label} instead (${small.settings.steps} steps)`]] : []),
          ['cancel', 'Keep the pretrained model'],
        ],
      );
      if (choice === 'cancel') {
        await s.reset();
        this.#redrawCurves();
        return;
      }
      if (choice === 'short') {
        this.inputs.steps.value = fit;
        await s.create({ ...this.#settings(), steps: fit }, this.model.value === 'smaller' ? { config: small.config, variant: small.label } : undefined);
        this.#redrawCurves();
      }
      if (choice === 'smaller') {
        for (const [k, v] of Object.entries(small.settings)) this.inputs[k].value = v;
        this.model.value = 'smaller';
        await s.create(small.settings, { config: small.config, variant: small.label });
        this.#variantShown();
        this.#redrawCurves();
      }
    }
    this.#say('');
    s.start();
  }

  #ask(text, options) {
    return new Promise((resolve) => {
      this.notice.replaceChildren(el('p', { textContent: text }));
      for (const [value, label] of options) {
        const b = el('button', { type: 'button', textContent: label });
        b.dataset.choice = value;
        b.addEventListener('click', () => {
          this.notice.hidden = true;
          resolve(value);
        });
        this.notice.append(b);
      }
      this.notice.hidden = false;
    });
  }

  // Which model the run trains, when it is not the task's own.
  #variantShown() {
    this.dataset.variant = this.s.variant ?? '';
    if (this.smaller) this.model.value = this.s.variant === this.smaller.label ? 'smaller' : 'task';
  }

  async #reset() {
    await this.s.reset();
    this.model.value = 'task';
    this.#variantShown();
    for (const [k, v] of Object.entries(this.s.defaults())) this.inputs[k].value = v;
    this.#redrawCurves();
  }

  // The run's weights (.safetensors) or its config (.config.json), named after task and step.
  async #export(what) {
    const { weights, config, step } = await this.s.exportWeights();
    const name = `${this.s.task}-step${step}`;
    if (what === 'weights') download(`${name}.safetensors`, new Blob([weights], { type: 'application/octet-stream' }));
    else download(`${name}.config.json`, new Blob([JSON.stringify(config, null, 1)], { type: 'application/json' }));
  }

  async #import(file) {
    this.errorBox.textContent = '';
    if (/\.(pt|pth)$/i.test(file.name)) {
      this.showError(`${file.name}: PyTorch checkpoints are read by the command line: \`toylens convert ${file.name} model.safetensors\`, then drop the .safetensors here.`);
      return;
    }
    const bytes = await file.arrayBuffer();
    this.dispatchEvent(new CustomEvent('import', { detail: { name: file.name, bytes } }));
  }

  #say(text) {
    this.notice.hidden = !text;
    this.notice.replaceChildren(el('p', { textContent: text }));
  }

  showError(message) {
    this.errorBox.textContent = message;
  }

  #redrawCurves() {
    const c = this.s?.curves ?? { train: [], eval: [] };
    const line = (name, pts, key) => ({ name, x: pts.map((p) => p.step), y: pts.map((p) => p[key]) });
    this.loss.data = { series: [line('training loss', c.train, 'loss'), line('held-out loss', c.eval, 'loss')], xLabel: 'step', yLabel: 'loss' };
    this.acc.data = { series: [line('training accuracy', c.train, 'accuracy'), line('held-out accuracy', c.eval, 'accuracy')], xLabel: 'step', yLabel: 'accuracy', yDomain: [0, 1] };
  }

  #progress(d) {
    this.loss.appendMany('training loss', d.logs.map((l) => l.step + 1), d.logs.map((l) => l.loss));
    this.acc.appendMany('training accuracy', d.logs.map((l) => l.step + 1), d.logs.map((l) => l.accuracy));
    this.#update(d);
  }

  #update(d = {}) {
    const s = this.s;
    if (!s) return;
    const st = s.status;
    this.dataset.status = st;
    this.dataset.step = s.step;
    const running = st === 'running';
    this.buttons.start.disabled = running;
    this.buttons.pause.disabled = !running;
    this.buttons.resume.disabled = running || st === 'idle' || st === 'done' || s.run == null;
    this.buttons.step.disabled = running || st === 'done';
    this.buttons.reset.disabled = running;
    this.buttons.export.disabled = s.run == null;
    this.buttons.exportConfig.disabled = s.run == null;
    for (const i of Object.values(this.inputs)) i.disabled = running;
    const rate = s.stepsPerSec;
    const eta = d.etaSeconds ?? (rate ? (s.total - s.step) / rate : NaN);
    this.statusLine.textContent =
      `${st} · step ${s.step} / ${s.total} · ${s.backend === 'cpu' ? 'CPU' : 'WebGPU'}` +
      (s.workers > 1 ? ` × ${s.workers} workers` : '') +
      (s.variant ? ` · ${s.variant}` : '') +
      (rate ? ` · ${rate.toFixed(rate < 10 ? 2 : 0)} steps/s · ETA ${fmtTime(eta)}` : '');
    this.dataset.stepsPerSec = rate ?? '';
  }
}
