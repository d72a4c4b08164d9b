// A number as the plain figures print it: 4 significant digits shown, the exact value kept
// in data-number (tests and readers' tooltips read it) and an optional data-value key.
import { fmt } from './scales.js';

/** A span showing `v` (integers in full, other numbers to 4 digits; text as it is). */
export function numberNode(v, key) {
  const s = document.createElement('span');
  s.textContent = typeof v !== 'number' ? String(v) : Number.isInteger(v) ? v.toLocaleString('en') : fmt(v);
  if (typeof v === 'number') {
    s.dataset.number = String(v);
    s.title = String(v);
  }
  if (key) s.dataset.value = key;
  return s;
}
