// Saving a figure: as drawn, as a standalone SVG (the d3 charts as real SVG, canvases as
// images, the HTML parts — titles, legends, token chips, numbers — in a foreignObject, every
// computed style that matters copied into the SVG's own <style>, so no page stylesheet is
// needed) or as a PNG (that SVG
// painted on a canvas at devicePixelRatio 2); its data as CSV (the widget's rows()) or JSON
// (its `data`). The toolbar that offers them sits on every figure (see base.js), with an
// Embed button where the page gives a snippet (el.embedSnippet).

const SVG_NS = 'http://www.w3.org/2000/svg';
export const PNG_SCALE = 2;

// Inherited properties: written on the root, on every element the browser styles by its tag
// (a button's font, a th's weight), and on plain divs and spans where they change.
const INHERITED = [
  'color', 'font-family', 'font-size', 'font-weight', 'font-style', 'font-variant-numeric', 'line-height', 'letter-spacing',
  'text-align', 'white-space', 'visibility', 'image-rendering', 'border-collapse',
  'fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'stroke-linecap', 'text-anchor',
  'dominant-baseline', 'shape-rendering',
];
// Other properties of HTML elements, written when not at these initial values (null: always,
// as the browser's own defaults differ by tag: a figure's margin, a button's border;
// 'none': whenever the value is not some kind of none).
const OWN_HTML = {
  display: null, position: 'static', left: 'auto', top: 'auto', width: 'auto', height: 'auto', 'box-sizing': null,
  margin: null, padding: null, 'border-top': null, 'border-right': null, 'border-bottom': null, 'border-left': null, outline: 'none',
  'border-radius': '0px', 'background-color': 'rgba(0, 0, 0, 0)', opacity: '1', 'outline-offset': '0px',
  'flex-direction': 'row', 'flex-wrap': 'nowrap', 'flex-grow': '0', 'flex-shrink': '1', 'flex-basis': 'auto',
  'align-items': 'normal', 'justify-content': 'normal', 'row-gap': 'normal', 'column-gap': 'normal',
  'grid-template-columns': 'none', 'vertical-align': 'baseline', overflow: 'visible', 'min-width': 'auto', 'max-width': 'none',
};
// Other properties of SVG elements (geometry stays in the attributes d3 wrote).
const OWN_SVG = { display: null, opacity: '1' };

function differs(value, initial) {
  if (initial === null) return true;
  if (initial === 'none') return !/\bnone\b/.test(value);
  return value !== initial;
}

const PLAIN = new Set(['div', 'span']);

/**
 * The exported SVG's stylesheet: each distinct declaration block becomes one class. Not style
 * attributes: the page's Content-Security-Policy (style-src 'self') refuses those on any
 * element the page makes, even in a scratch document; a <style> inside the SVG's text is
 * only a string until the SVG is opened (or painted as an image) on its own.
 */
class Sheet {
  /** @type {Map<string, string>} declarations → class name */
  #classes = new Map();
  /** @type {WeakMap<Element, string[]>} what each styled node was given */
  #given = new WeakMap();

  /** Gives `node` the class of `decls` (its previous classes and style go: they mean nothing outside the page). */
  style(node, decls) {
    node.removeAttribute('style');
    this.#given.set(node, decls);
    const text = decls.join(';');
    if (!text) return node.removeAttribute('class');
    if (!this.#classes.has(text)) this.#classes.set(text, `s${this.#classes.size}`);
    node.setAttribute('class', this.#classes.get(text));
  }

  /** The declarations `node` was given (for a node that stands in for it). */
  decls(node) {
    return this.#given.get(node) ?? [];
  }

  /** The stylesheet as an SVG <style> element's markup. */
  markup() {
    const css = [...this.#classes].map(([text, name]) => `.${name}{${text}}`).join('\n');
    return `<style>${css.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</style>`;
  }
}

/** Copies the styles that matter from `src` (live) to `dst` (its clone), recursively. */
function copyStyles(sheet, src, dst, parentStyle, extra = []) {
  const cs = getComputedStyle(src);
  const decl = [];
  const all = !parentStyle || !(PLAIN.has(src.localName) || src.namespaceURI === SVG_NS);
  for (const p of INHERITED) {
    const v = cs.getPropertyValue(p);
    if (v && (all || parentStyle.getPropertyValue(p) !== v)) decl.push(`${p}:${v}`);
  }
  for (const [p, initial] of Object.entries(src.namespaceURI === SVG_NS ? OWN_SVG : OWN_HTML)) {
    const v = cs.getPropertyValue(p);
    if (v && differs(v, initial)) decl.push(`${p}:${v}`);
  }
  sheet.style(dst, [...decl, ...extra]);
  const copies = [...dst.children];
  [...src.children].forEach((k, i) => copies[i] && copyStyles(sheet, k, copies[i], cs));
}

const SKIP = '.tl-tools, .tl-tooltip, [hidden]';

/**
 * The figure `el` as a standalone SVG document (a string) and its size in CSS pixels.
 * @returns {{svg: string, width: number, height: number}}
 */
export function figureSvg(el) {
  const box = el.getBoundingClientRect();
  const width = Math.ceil(box.width);
  const height = Math.ceil(box.height);
  const at = (node) => {
    const r = node.getBoundingClientRect();
    return { x: r.left - box.left, y: r.top - box.top, w: r.width, h: r.height };
  };
  const sheet = new Sheet();
  const doc = document.implementation.createDocument(SVG_NS, 'svg', null);
  const root = doc.documentElement;
  setAll(root, { width, height, viewBox: `0 0 ${width} ${height}` });
  root.append(setAll(doc.createElementNS(SVG_NS, 'rect'), { width, height, fill: background(el) }));

  // The HTML parts, laid out as on the page (the element's own tag would upgrade when
  // cloned, so its children go into a plain div); charts and canvases are drawn over them.
  const html = document.createElement('div');
  html.append(...[...el.childNodes].map((n) => n.cloneNode(true)));
  copyStyles(sheet, el, html, null, ['margin:0']);
  prune(sheet, el, html);
  const fo = setAll(doc.createElementNS(SVG_NS, 'foreignObject'), { x: 0, y: 0, width, height });
  fo.append(doc.importNode(html, true));
  root.append(fo);

  for (const c of visible(el, 'canvas')) {
    const { x, y, w, h } = at(c);
    const img = setAll(doc.createElementNS(SVG_NS, 'image'), { x, y, width: w, height: h, href: c.toDataURL('image/png'), preserveAspectRatio: 'none' });
    sheet.style(img, [`image-rendering:${getComputedStyle(c).imageRendering === 'pixelated' ? 'pixelated' : 'auto'}`]);
    root.append(img);
  }
  for (const s of visible(el, 'svg')) {
    const { x, y, w, h } = at(s);
    const copy = s.cloneNode(true);
    copyStyles(sheet, s, copy, null);
    root.append(doc.importNode(setAll(copy, { x, y, width: w, height: h, overflow: 'visible' }), true));
  }
  // The stylesheet goes in first thing inside the root, as text (see Sheet).
  const svg = new XMLSerializer().serializeToString(doc).replace(/^<svg\b[^>]*>/, (open) => open + sheet.markup());
  return { svg, width, height };
}

function setAll(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// The HTML copy keeps only what is shown (no toolbar, tooltip or hidden parts); a chart or
// canvas (drawn over it) leaves a blank of its size; inputs keep the text they show.
function prune(sheet, src, copy) {
  const copies = [...copy.querySelectorAll('*')];
  [...src.querySelectorAll('*')].forEach((n, i) => {
    const c = copies[i];
    if (n.matches(SKIP) || getComputedStyle(n).display === 'none') c.remove();
    else if (n.localName === 'canvas' || (n.localName === 'svg' && !n.parentElement.closest('svg'))) {
      const r = n.getBoundingClientRect();
      const blank = document.createElement('div');
      sheet.style(blank, [...sheet.decls(c), 'visibility:hidden', `width:${r.width}px`, `height:${r.height}px`]);
      c.replaceWith(blank);
    } else if (n.localName === 'input') c.setAttribute('value', n.value);
  });
}

function visible(el, sel) {
  return [...el.querySelectorAll(sel)].filter((n) => !n.closest(SKIP) && n.getClientRects().length > 0 && !n.parentElement.closest('svg'));
}

// The first opaque background at or around the figure (figures are transparent on the page).
function background(el) {
  for (let n = el; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && !/^(transparent|rgba\(.*,\s*0\))$/.test(c)) return c;
  }
  return '#ffffff';
}

/** The figure as a PNG Blob, painted from its SVG at PNG_SCALE times its CSS size. */
export async function figurePng(el) {
  const { svg, width, height } = figureSvg(el);
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * PNG_SCALE);
  canvas.height = Math.round(height * PNG_SCALE);
  const ctx = canvas.getContext('2d');
  ctx.scale(PNG_SCALE, PNG_SCALE);
  ctx.drawImage(img, 0, 0, width, height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas gave no PNG'))), 'image/png'));
}

/** Rows (arrays of cells) as CSV: numbers at full precision, text quoted when it must be. */
export function toCsv(rows) {
  const cell = (v) => {
    const s = v == null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** A figure's data as JSON (typed arrays as arrays; functions such as formats left out). */
export function toJson(data) {
  return JSON.stringify(data, (_, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x), 1);
}

/** Saves `blob` as a download named `name`. */
export function download(name, blob) {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/**
 * The export toolbar of figure `host`: PNG, SVG, CSV, JSON and (when the page gives
 * host.embedSnippet) Embed. Keyboard reachable; shown on hover or focus (always on touch).
 */
export function buildTools(host) {
  const bar = document.createElement('div');
  bar.className = 'tl-tools';
  bar.dataset.ref = 'tools';
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', 'save this figure');
  const out = document.createElement('div');
  out.className = 'tl-tools-out';
  out.setAttribute('role', 'status');
  const say = (...parts) => {
    out.replaceChildren(...parts);
    out.hidden = !parts.some(Boolean);
  };
  say('');
  const name = (ext) => `${(host.dataset.view || host.localName).replace(/[^\w.-]+/g, '-')}.${ext}`;
  const actions = {
    png: ['PNG', 'the figure as a PNG image', async () => download(name('png'), await figurePng(host))],
    svg: ['SVG', 'the figure as an SVG image', () => download(name('svg'), new Blob([figureSvg(host).svg], { type: 'image/svg+xml' }))],
    csv: ['CSV', 'the figure’s numbers as CSV', () => download(name('csv'), new Blob([toCsv(host.rows())], { type: 'text/csv' }))],
    json: ['JSON', 'the figure’s data as JSON', () => download(name('json'), new Blob([toJson(host.data)], { type: 'application/json' }))],
    embed: ['Embed', 'copy the HTML that embeds this figure, as it is now', () => copyEmbed(host, say)],
  };
  for (const [key, [label, title, act]] of Object.entries(actions)) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.title = title;
    b.dataset.ref = `save-${key}`;
    b.addEventListener('click', async () => {
      say('');
      try {
        await act();
      } catch (e) {
        say(`${label}: ${e.message || e}`);
      }
    });
    bar.append(b);
  }
  bar.append(out);
  return bar;
}

// Copies the snippet; where the clipboard is refused, shows it selected for the reader to copy.
async function copyEmbed(host, say) {
  const { text, note } = host.embedSnippet();
  try {
    await navigator.clipboard.writeText(text);
    say(`copied${note ? ` · ${note}` : ''}`);
    setTimeout(() => say(''), note ? 8000 : 3000);
  } catch {
    const box = Object.assign(document.createElement('textarea'), { readOnly: true, value: text, rows: 3 });
    box.setAttribute('aria-label', 'embed snippet');
    say(note || 'The clipboard is not available here: copy this snippet.', box);
    box.focus();
    box.select();
  }
}
