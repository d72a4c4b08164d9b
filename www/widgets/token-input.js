// <tl-token-input>: an editor for a token sequence. The reader types space-separated token
// strings (or clicks a chip to cycle its token; shift-click goes back); input is checked
// against the vocabulary, the exact length and fixed positions. Invalid input marks the bad
// chip, shows why and fires nothing; a valid edit fires `change` with detail {tokens}.
// Setting `tokens`, `vocab`, `fixed` or `length` from code fires no event.
/**
 * @typedef {object} TokenInputData  `el.data` of <tl-token-input> (or set the fields one by one)
 * @property {string[]} vocab  token strings by id
 * @property {number[]} [tokens]  the sequence shown, as ids
 * @property {number} [length]  the exact length an edit must have
 * @property {number} [maxLength]  the most tokens an edit may have (e.g. the model's context)
 * @property {Object<number, string>} [fixed]  position -> the token it must hold (e.g. {2: '='})
 */
import { ToylensFigure } from './base.js';
import * as check from './check.js';
import { visibleToken } from './scales.js';

export class TokenInput extends ToylensFigure {
  constructor() {
    super();
    this._config = { vocab: null, tokens: [], fixed: null, length: null, maxLength: null };
    this._tokens = [];
  }

  build(body) {
    this.input = body.appendChild(document.createElement('input'));
    this.input.type = 'text';
    this.input.className = 'tl-token-text';
    this.input.spellcheck = false;
    this.input.autocomplete = 'off';
    this.input.setAttribute('aria-label', 'tokens, separated by spaces');
    this.input.disabled = true;
    this.input.addEventListener('input', () => this._edited());
    // The inner input's own change event must not pass for this element's.
    this.input.addEventListener('change', (e) => e.stopPropagation());
    this.chips = body.appendChild(document.createElement('div'));
    this.chips.className = 'tl-chips';
    this.chips.dataset.ref = 'tokens';
    this.chips.addEventListener('click', (e) => {
      const chip = e.target.closest?.('button.tl-chip');
      if (chip) this._cycle(Number(chip.dataset.pos), e.shiftKey ? -1 : 1);
    });
  }

  get vocab() {
    return this._config.vocab;
  }

  set vocab(v) {
    this._configure({ vocab: v });
  }

  /** The last valid sequence of token ids. */
  get tokens() {
    return [...this._tokens];
  }

  set tokens(ids) {
    this._configure({ tokens: ids });
  }

  get fixed() {
    return this._config.fixed;
  }

  set fixed(f) {
    this._configure({ fixed: f });
  }

  get length() {
    return this._config.length;
  }

  set length(n) {
    this._configure({ length: n });
  }

  _configure(part) {
    this._skeleton();
    const config = { ...this._config, ...part };
    if (!config.vocab) {
      // Nothing to check against yet: keep what was given for when the vocabulary comes.
      this._config = config;
      return;
    }
    this.data = config;
  }

  prepare(d) {
    check.object(d, 'data');
    const vocab = check.labels(d.vocab, 'vocab');
    if (!vocab?.length) check.fail('vocab: expected a non-empty array of token strings');
    const index = new Map();
    vocab.forEach((t, id) => index.has(t) || index.set(t, id));
    const length = d.length == null ? null : d.length;
    if (length !== null && !(Number.isInteger(length) && length > 0)) check.fail(`length: expected a positive integer, got ${check.describe(length)}`);
    const fixed = new Map();
    if (d.fixed != null) {
      check.object(d.fixed, 'fixed');
      for (const [key, tok] of Object.entries(d.fixed)) {
        const pos = Number(key);
        if (!Number.isInteger(pos) || pos < 0) check.fail(`fixed: ${JSON.stringify(key)} is not a position`);
        if (length !== null && pos >= length) check.fail(`fixed: position ${pos} is past the length ${length}`);
        if (!index.has(String(tok))) check.fail(`fixed: position ${pos} must hold ${JSON.stringify(String(tok))}, which is not in the vocabulary`);
        fixed.set(pos, String(tok));
      }
    }
    const ids = check.numbers(d.tokens ?? [], 'tokens');
    ids.forEach((id, k) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab.length) check.fail(`tokens[${k}]: ${id} is not a token id (0..${vocab.length - 1})`);
    });
    // Whatever the reader had typed is replaced only when the caller names tokens.
    if (d.tokens !== this._config.tokens || !this.input.value) this.input.value = Array.from(ids, (id) => vocab[id]).join(' ');
    const maxLength = d.maxLength ?? null;
    this._config = { vocab, tokens: d.tokens ?? [], fixed: d.fixed ?? null, length, maxLength };
    return { vocab, index, fixed, length, maxLength, summary: summarize(vocab) };
  }

  draw(m) {
    this.input.disabled = false;
    const words = this.input.value.trim().split(/\s+/).filter(Boolean);
    const problems = [];
    const chips = words.map((w, pos) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'tl-chip';
      chip.dataset.pos = String(pos);
      chip.textContent = visibleToken(w);
      const want = m.fixed.get(pos);
      let problem = null;
      if (!m.index.has(w)) problem = `${JSON.stringify(w)} is not in the vocabulary (tokens: ${m.summary})`;
      else if (want !== undefined && w !== want) problem = `position ${pos} must be ${JSON.stringify(want)}, not ${JSON.stringify(w)}`;
      if (problem) {
        problems.push(problem);
        chip.classList.add('tl-bad');
        chip.dataset.bad = '';
      }
      chip.classList.toggle('tl-fixed', want !== undefined);
      chip.disabled = want !== undefined;
      chip.title = problem ?? (want !== undefined ? `fixed: ${want}` : 'click: next token, shift-click: previous');
      return chip;
    });
    this.chips.replaceChildren(...chips);
    if (!words.length) problems.push('type tokens separated by spaces');
    if (m.length !== null && words.length !== m.length) problems.push(`expected ${m.length} tokens, got ${words.length}`);
    if (m.maxLength !== null && words.length > m.maxLength) problems.push(`at most ${m.maxLength} tokens, got ${words.length}`);
    if (problems.length) return problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more problems)` : problems[0];
    this._tokens = words.map((w) => m.index.get(w));
    return null;
  }

  /** CSV: one row per position of the last valid sequence. */
  rows() {
    return [['position', 'id', 'token'], ...this._tokens.map((id, k) => [k, id, this._model.vocab[id]])];
  }

  _edited() {
    if (!this._config.vocab) return;
    const before = this._tokens.join(',');
    // After a rejected setting (say, an out-of-range id) the last accepted one still holds.
    if (this._model) this.redraw();
    else this.data = this._config;
    if (this.dataset.state === 'ready' && this._tokens.join(',') !== before) {
      this.dispatchEvent(new CustomEvent('change', { detail: { tokens: this.tokens } }));
    }
  }

  _cycle(pos, step) {
    const m = this._model;
    if (!m) return;
    const words = this.input.value.trim().split(/\s+/);
    const id = m.index.get(words[pos]) ?? -step;
    words[pos] = m.vocab[(((id + step) % m.vocab.length) + m.vocab.length) % m.vocab.length];
    this.input.value = words.join(' ');
    this._edited();
  }
}

/** The vocabulary in a line: runs of consecutive integers as a..b, at most a dozen parts. */
export function summarize(vocab) {
  const parts = [];
  let k = 0;
  while (k < vocab.length) {
    let end = k;
    if (/^-?\d+$/.test(vocab[k])) {
      while (end + 1 < vocab.length && /^-?\d+$/.test(vocab[end + 1]) && Number(vocab[end + 1]) === Number(vocab[end]) + 1) end++;
    }
    parts.push(end - k >= 2 ? `${vocab[k]}..${vocab[end]}` : visibleToken(vocab[k]));
    if (end - k === 1) parts.push(visibleToken(vocab[end]));
    k = end + 1;
  }
  return parts.length > 12 ? `${parts.slice(0, 10).join(', ')}, … ${vocab.length} in all` : parts.join(', ');
}
