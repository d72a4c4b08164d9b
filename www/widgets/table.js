// <tl-table>: rows of text cells under a row heading (e.g. a sequence, its labels and the
// model's answers, position by position).
/**
 * @typedef {object} TableData  `el.data` of <tl-table>
 * @property {{head: string, cells: Array<string|number>, classes?: string[]}[]} rows  numbers shown to 4 digits; classes: one CSS class per cell
 * @property {string} [className]  of the table
 */
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { fmt } from './scales.js';

export class Table extends ToylensFigure {
  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.rows)) check.fail(`rows: expected an array, got ${check.describe(d.rows)}`);
    d.rows.forEach((r, k) => {
      check.object(r, `rows[${k}]`);
      check.labels(r.cells, `rows[${k}].cells`);
      check.labels(r.classes, `rows[${k}].classes`, r.cells?.length);
    });
    return { rows: d.rows, className: check.optionalString(d.className, 'className') };
  }

  draw(m) {
    const table = document.createElement('table');
    table.className = m.className;
    for (const r of m.rows) {
      const tr = table.insertRow();
      const th = document.createElement('th');
      th.textContent = r.head;
      tr.append(th);
      r.cells.forEach((c, i) => {
        const td = tr.insertCell();
        td.textContent = typeof c === 'number' ? fmt(c) : c;
        if (r.classes?.[i]) td.className = r.classes[i];
      });
    }
    this.refs.body.replaceChildren(table);
  }

  /** CSV: the table as shown (row heading first), numbers at full precision. */
  rows() {
    return this._model.rows.map((r) => [r.head, ...r.cells]);
  }
}
