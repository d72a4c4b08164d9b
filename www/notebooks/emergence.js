// The page's emergence view (<tl-claims>, the page's `task/claims`): a row per claim, a cell
// per checkpoint, where each claim holds. The pretrained timeline's cells come from the site
// build (tools/claims.mjs judged the same declarations on `toylens analyze` of every
// checkpoint, the page's example input, models/<task>/claims.json); the reader's run's fill
// in live, as the page judges the figures of each checkpoint it shows. A click on a cell
// moves the timeline there.
import { checked, testText } from './claims.js';

export class Emergence {
  /** `page`: the declaration; `nb`: its Notebook; `el`: the <tl-claims> element. */
  constructor(page, nb, el) {
    this.nb = nb;
    this.el = el;
    this.rows = checked(page).map((f) => ({ view: f.view, claim: f.claim, test: testText(f.check) }));
    this.verdicts = new Map(); // 'source:step' -> Map(view -> {state, value})
    this.loaded = false; // the build's verdicts are in (until then only a run's are drawn)
    el.addEventListener('select', (e) => nb.select({ source: e.detail.source, step: e.detail.step }));
    el.addEventListener('reveal', (e) => document.querySelector(`[data-view="${CSS.escape(e.detail.view)}"]`)?.scrollIntoView({ behavior: 'smooth', block: 'center' }));
    nb.addEventListener('model', () => this.draw());
    nb.session?.addEventListener('checkpoint', () => this.draw());
    nb.session?.addEventListener('status', () => this.draw());
  }

  /** Loads the pretrained timeline's verdicts (the site build's) and draws. */
  async start() {
    try {
      const built = await this.nb.timelineClaims();
      built.steps.forEach((step, i) => {
        const m = new Map();
        for (const r of this.rows) {
          const c = built.claims[r.view];
          if (c) m.set(r.view, { state: c.states[i], value: c.values[i] });
        }
        this.verdicts.set(`pretrained:${step}`, m);
      });
    } catch (e) {
      this.el.setError(`The pretrained timeline's claims could not be read: ${e.message}`);
      return;
    }
    this.loaded = true;
    this.draw();
  }

  /**
   * A verdict the page judged on the model shown. The reader's run fills its cells so; the
   * pretrained cells stay the build's (judged on the page's example input, whatever the reader
   * has typed since).
   */
  record(view, model, verdict) {
    if (!model || model.source === 'pretrained') return;
    const key = `${model.source}:${model.step}`;
    if (!this.verdicts.has(key)) this.verdicts.set(key, new Map());
    this.verdicts.get(key).set(view, { state: verdict.state, value: verdict.value });
    this.draw();
  }

  draw() {
    if (!this.loaded && !this.verdicts.size) return;
    const columns = [
      ...this.nb.pretrainedSteps.map((step) => ({ source: 'pretrained', step })),
      ...(this.nb.session?.timeline ?? []).map((t) => ({ source: 'run', step: t.step })),
    ];
    const at = (c) => this.verdicts.get(`${c.source}:${c.step}`);
    const cur = this.nb.current;
    this.el.data = {
      title: 'When does each claim become true?',
      rows: this.rows,
      columns,
      cells: this.rows.map((r) => columns.map((c) => at(c)?.get(r.view)?.state ?? null)),
      values: this.rows.map((r) => columns.map((c) => at(c)?.get(r.view)?.value ?? null)),
      current: cur && (cur.source === 'pretrained' || cur.source === 'run') ? { source: cur.source, step: cur.step } : null,
      note: 'Every figure below states a claim about the model on screen and checks it on the numbers it shows; here, where each claim holds along training: the moment each mechanism forms. Pretrained steps: judged when the site was built, on the page’s example input. Your run: judged here as its checkpoints are shown. A click moves the timeline.',
    };
  }
}
