// <tl-stats>: a short list of named numbers (a definition list); a row with a key marks its
// number data-value=key, with the full precision in data-number.
/**
 * @typedef {object} StatsData  `el.data` of <tl-stats>
 * @property {Array<[string, number|string, string?]>} rows  [term, value, key?] in order
 */
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { numberNode } from './number.js';

export class Stats extends ToylensFigure {
  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.rows)) check.fail(`rows: expected an array of [term, value, key?], got ${check.describe(d.rows)}`);
    d.rows.forEach((r, k) => {
      if (!Array.isArray(r) || r.length < 2) check.fail(`rows[${k}]: expected [term, value, key?], got ${check.describe(r)}`);
    });
    return d.rows;
  }

  draw(rows) {
    const dl = document.createElement('dl');
    dl.className = 'tl-stats';
    for (const [term, value, key] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.append(numberNode(value, key));
      dl.append(dt, dd);
    }
    this.refs.body.replaceChildren(dl);
  }

  /** CSV: one row per term. */
  rows() {
    return [['term', 'value'], ...this._model.map(([term, value]) => [term, value])];
  }
}
