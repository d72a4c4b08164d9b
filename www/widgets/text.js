// <tl-text>: one line of text with numbers in it (numbers as <tl-stats> prints them).
/**
 * @typedef {object} TextData  `el.data` of <tl-text>
 * @property {Array<string | {value: number|string, key?: string}>} parts  text, and numbers (key: data-value)
 * @property {string} [className]  of the paragraph (e.g. 'pass' / 'fail')
 */
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { numberNode } from './number.js';

export class Text extends ToylensFigure {
  prepare(d) {
    check.object(d, 'data');
    if (!Array.isArray(d.parts)) check.fail(`parts: expected an array, got ${check.describe(d.parts)}`);
    return { parts: d.parts, className: check.optionalString(d.className, 'className') };
  }

  draw(m) {
    const p = document.createElement('p');
    p.className = m.className;
    p.append(...m.parts.map((x) => (typeof x === 'string' ? x : numberNode(x.value, x.key))));
    this.refs.body.replaceChildren(p);
  }

  /** CSV: the line, its numbers at full precision. */
  rows() {
    return [['text'], [this._model.parts.map((x) => (typeof x === 'string' ? x : String(x.value))).join('')]];
  }
}
