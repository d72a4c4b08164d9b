// The widgets' stylesheet, adopted by the document (or shadow root) an element joins:
// no extra request, and it applies before the first draw measures anything.
// Colours come from www/style.css's variables, with fallbacks for pages without it.
const CSS = `
:where(tl-heatmap, tl-attention, tl-bars, tl-lines, tl-scatter, tl-token-input, tl-claims) {
  display: block;
  position: relative;
  min-width: 0;
  color: var(--fg, CanvasText);
  font-size: 12px;
  line-height: 1.35;
  --tl-muted: var(--muted, GrayText);
  --tl-line: var(--line, #d9dce1);
  --tl-accent: var(--accent, #2f5fd0);
  --tl-bg: var(--bg, Canvas);
  --tl-bad: var(--bad, #b3261e);
}
/* Plain figures (numbers, text, a table) keep the text size of the prose around them. */
:where(tl-stats, tl-text, tl-table) {
  display: block;
  position: relative;
  --tl-muted: var(--muted, GrayText);
  --tl-line: var(--line, #d9dce1);
  --tl-bg: var(--bg, Canvas);
  --tl-bad: var(--bad, #b3261e);
}
/* Both columns shrink (and wrap) on a narrow screen rather than widen the page. */
dl.tl-stats { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, max-content); gap: .15rem 1.5rem; margin: 0; }
dl.tl-stats :is(dt, dd) { overflow-wrap: anywhere; }
dl.tl-stats dt { color: var(--tl-muted); }
dl.tl-stats dd { margin: 0; font-family: ui-monospace, monospace; font-variant-numeric: tabular-nums; }
.tl-title { font-weight: 600; margin: 0 0 .25rem; }
.tl-title:empty { display: none; }
.tl-body { position: relative; }
/* A page of many figures lays out and paints only those near the screen (a notebook page is
   ~9000 nodes: an input edit redraws nine figures, most of them off screen; this cut the
   page's main-thread time per edit by a quarter). Off screen a figure keeps the height it last
   had. Its content is clipped to its box, which the tooltip keeps within (tooltip.js); the
   claims grid's tooltip may be wider than a phone's grid, and the token editor is small. */
[data-view]:not(tl-token-input, tl-claims) { content-visibility: auto; contain-intrinsic-size: auto 300px; }
/* The figure's claim and its verdict on the model shown (data-claim: holds | fails). */
.tl-claim { font-size: 12px; color: var(--tl-muted); margin: .3rem 0 0; padding-left: .5rem; border-left: 3px solid var(--tl-line); }
.tl-claim:empty { display: none; }
[data-claim="holds"] > .tl-claim { border-left-color: var(--ok, #1d7a3a); }
[data-claim="holds"] > .tl-claim strong { color: var(--ok, #1d7a3a); }
[data-claim="fails"] > .tl-claim { border-left-color: var(--tl-bad); }
[data-claim="fails"] > .tl-claim strong { color: var(--tl-bad); }
.tl-claim-test { font-family: ui-monospace, monospace; font-variant-numeric: tabular-nums; }
/* While a figure follows a new model or input it still shows the old one: faded (after a
   moment, so a quick redraw does not flicker), its old verdict too. A first pass is of the new
   model, but its claim is judged on the exact figure: the old verdict is hidden meanwhile (its
   line keeps its place, so the page does not jump). */
:not(tl-token-input) > .tl-body { transition: opacity .2s; }
:not(tl-token-input)[data-state="loading"] > .tl-body:not(:empty) { opacity: .35; transition-delay: .15s; }
[data-state="loading"] > .tl-claim { opacity: .35; }
[data-state="refining"] > .tl-claim { visibility: hidden; }
/* A first pass from a smaller sample: said above the figure until the exact one replaces it. */
.tl-sample { font-size: 12px; color: var(--tl-muted); font-style: italic; }
.tl-sample:empty { display: none; }
/* The notebook's own number for what the figure measures (static text, not a verdict). */
.tl-notebook { font-size: 12px; color: var(--tl-muted); margin: .2rem 0 0; padding-left: .5rem; border-left: 3px dotted var(--tl-line); }
.tl-notebook:empty { display: none; }
[data-state="loading"] > .tl-body:empty::before { content: "Loading…"; color: var(--tl-muted); }
.tl-error {
  color: var(--tl-bad);
  border: 1px solid var(--tl-bad);
  border-radius: 4px;
  padding: .4rem .6rem;
  white-space: pre-wrap;
}
:not([data-state="error"]) > .tl-error { display: none; }
:not(tl-token-input)[data-state="error"] > :is(.tl-body, .tl-title) { display: none; }
.tl-tooltip {
  position: absolute;
  z-index: 10;
  pointer-events: none;
  max-width: 22rem;
  padding: .25rem .45rem;
  border: 1px solid var(--tl-line);
  border-radius: 4px;
  background: var(--tl-bg);
  box-shadow: 0 2px 6px rgb(0 0 0 / .18);
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}
.tl-tooltip[hidden] { display: none; }
.tl-tooltip .tl-sub { color: var(--tl-muted); }
.tl-svg { display: block; overflow: visible; }
.tl-svg text { fill: currentColor; }
.tl-svg .tl-axis-label { fill: var(--tl-muted); font-size: 11px; }
.tl-svg .tl-grid line { stroke: var(--tl-line); }
.tl-svg .tl-grid .domain { display: none; }
.tl-svg .tl-mark { stroke: var(--tl-accent); fill: none; stroke-width: 1.5; }
.tl-raster { position: absolute; image-rendering: pixelated; cursor: crosshair; }
.tl-raster.tl-smooth { image-rendering: auto; cursor: default; }
.tl-cell-mark { position: absolute; pointer-events: none; box-sizing: border-box; border: 2px solid var(--tl-accent); outline: 1px solid var(--tl-bg); }
.tl-cell-mark[hidden] { display: none; }
.tl-legend { display: flex; flex-wrap: wrap; gap: .2rem .9rem; margin: 0 0 .3rem; color: var(--tl-muted); }
.tl-legend:empty { display: none; }
.tl-legend span::before {
  content: ""; display: inline-block; width: .75em; height: .75em; margin-right: .3em;
  border-radius: 2px; background: var(--swatch); vertical-align: -.05em;
}
.tl-heads { display: flex; flex-wrap: wrap; gap: 10px; }
.tl-head { margin: 0; outline: 2px solid transparent; outline-offset: 2px; border-radius: 2px; }
.tl-head.tl-selected { outline-color: var(--tl-accent); }
.tl-head figcaption { margin: 0 0 2px; color: var(--tl-muted); font-size: 11px; }
.tl-head > div { position: relative; }
.tl-controls { margin: .4rem 0; color: var(--tl-muted); }
.tl-chips { display: flex; flex-wrap: wrap; gap: 3px; margin: .3rem 0; }
.tl-chip {
  font: 12px/1.3 ui-monospace, monospace;
  padding: .1rem .3rem;
  min-width: 1.2em;
  text-align: center;
  border: 1px solid var(--tl-line);
  border-radius: 3px;
  background: transparent;
  color: inherit;
  white-space: pre;
}
.tl-chip.tl-query { outline: 2px solid var(--tl-accent); }
.tl-chip.tl-future { opacity: .45; }
.tl-chip.tl-bad { border-color: var(--tl-bad); color: var(--tl-bad); }
.tl-chip.tl-fixed { border-style: dashed; }
button.tl-chip { cursor: pointer; }
button.tl-chip:disabled { cursor: default; }
.tl-token-text {
  box-sizing: border-box;
  width: 100%;
  font: 13px/1.4 ui-monospace, monospace;
  padding: .25rem .4rem;
  color: inherit;
  background: transparent;
  border: 1px solid var(--tl-line);
  border-radius: 4px;
}
[data-state="error"] .tl-token-text { border-color: var(--tl-bad); }
/* <tl-claims>, the emergence grid (claims.js): ✓ on a filled cell (holds), × on an outlined
   one (fails), a blank dotted cell (not evaluated): told apart by shape and glyph, not colour
   alone. The current checkpoint's column is tinted, its heading bold and underlined. The grid
   scrolls inside the element (never the page); the labels stay at its left. */
:where(tl-claims) { --tl-good: var(--ok, #1d7a3a); }
tl-claims .tl-tooltip { white-space: normal; width: max-content; }
.tl-claims-summary { margin: 0 0 .3rem; font-variant-numeric: tabular-nums; }
.tl-claims-summary:empty { display: none; }
.tl-claims-scroll { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding-bottom: 2px; }
table.tl-claims { width: auto; margin: 0; border-collapse: collapse; font-size: inherit; font-variant-numeric: tabular-nums; }
table.tl-claims :is(th, td) { padding: 2px; border: 0; text-align: center; vertical-align: middle; font-weight: normal; }
table.tl-claims :is(.tl-claims-label, .tl-claims-corner) { position: sticky; left: 0; z-index: 1; background: var(--tl-bg); text-align: left; }
table.tl-claims .tl-claims-corner { text-align: right; padding-right: .4rem; color: var(--tl-muted); font-size: 10px; }
table.tl-claims tr.tl-claims-sources th:not(.tl-claims-corner) { text-align: left; font-size: 10px; color: var(--tl-muted); border-bottom: 1px solid var(--tl-line); }
table.tl-claims .tl-claims-split { border-left: 1px solid var(--tl-line); }
table.tl-claims .tl-claims-current { background: color-mix(in srgb, var(--tl-accent) 15%, transparent); }
table.tl-claims th[scope="col"] { border-bottom: 2px solid transparent; }
table.tl-claims th.tl-claims-current { border-bottom-color: var(--tl-accent); }
table.tl-claims button { cursor: pointer; }
table.tl-claims button:focus-visible { outline: 2px solid var(--tl-accent); outline-offset: 1px; }
button.tl-claims-label {
  display: block; max-width: min(12rem, 38vw); margin: 0; padding: 0 .4rem 0 0;
  font: inherit; color: inherit; text-align: left; background: none; border: 0;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
button.tl-claims-label:hover { color: var(--tl-accent); text-decoration: underline; }
button.tl-claims-step {
  display: block; min-width: 18px; margin: 0 auto; padding: 0 1px;
  font: 10px/1.3 system-ui, sans-serif; letter-spacing: -.02em; white-space: nowrap;
  color: var(--tl-muted); background: none; border: 0; border-radius: 2px;
}
button.tl-claims-step:hover { color: var(--tl-accent); }
.tl-claims-current button.tl-claims-step { color: inherit; font-weight: 700; }
.tl-claims-cell {
  box-sizing: border-box; display: block; width: 18px; height: 18px; margin: 0 auto; padding: 0;
  font: 700 12px/16px system-ui, sans-serif; text-align: center;
  color: var(--tl-muted); background: transparent; border: 1px dotted var(--tl-muted); border-radius: 3px;
}
.tl-claims-cell.tl-holds { color: var(--tl-bg); background: var(--tl-good); border: 1px solid var(--tl-good); }
.tl-claims-cell.tl-fails {
  color: var(--tl-bad); font-weight: 400;
  background: color-mix(in srgb, var(--tl-bad) 7%, transparent);
  border: 1px solid var(--tl-bad); border-color: color-mix(in srgb, var(--tl-bad) 55%, transparent);
}
button.tl-claims-cell:hover { border-color: var(--tl-accent); box-shadow: 0 0 0 1px var(--tl-accent); }
.tl-claims-foot { display: flex; flex-wrap: wrap; gap: .2rem 1rem; margin: .35rem 0 0; color: var(--tl-muted); font-size: 11px; }
.tl-claims-key .tl-claims-cell { display: inline-block; width: 12px; height: 12px; margin-right: .15em; font-size: 9px; line-height: 10px; vertical-align: -2px; }
.tl-claims-note:empty { display: none; }
/* The save toolbar (export.js): over the figure's top right corner, shown on hover or focus
   (always, in its own row, on touch screens), only for a drawn figure. */
.tl-tools {
  position: absolute; top: 0; right: 0; z-index: 11;
  display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 2px; max-width: 100%;
  font: 11px/1.2 system-ui, sans-serif;
  opacity: 0; transition: opacity .12s;
}
:is(:hover, :focus-within) > .tl-tools { opacity: 1; }
/* A touch screen has no hover: the toolbar is always shown, in its own row so it covers no title. */
@media (hover: none) { .tl-tools { position: static; margin-bottom: 2px; opacity: 1; } }
:not([data-state="ready"]) > .tl-tools { display: none; }
.tl-tools button {
  font: inherit; padding: .1rem .35rem; cursor: pointer;
  color: var(--tl-muted); background: var(--tl-bg); border: 1px solid var(--tl-line); border-radius: 3px;
}
.tl-tools button:is(:hover, :focus-visible) { color: inherit; border-color: var(--tl-accent); }
.tl-tools button[hidden], .tl-tools-out[hidden] { display: none; }
.tl-tools-out {
  flex-basis: 100%; max-width: 26rem; padding: .25rem .4rem; text-align: left;
  background: var(--tl-bg); border: 1px solid var(--tl-line); border-radius: 3px;
}
.tl-tools-out textarea { display: block; width: 24rem; max-width: 100%; margin-top: .25rem; font: 11px/1.3 ui-monospace, monospace; }
`;

let sheet;

/** Adopts the widgets' stylesheet into the root (document or shadow root) `node` lives in. */
export function adoptStyles(node) {
  sheet ??= new CSSStyleSheet();
  if (!sheet.cssRules.length) sheet.replaceSync(CSS);
  const root = node.getRootNode();
  const target = root.adoptedStyleSheets ? root : document;
  if (!target.adoptedStyleSheets.includes(sheet)) target.adoptedStyleSheets = [...target.adoptedStyleSheets, sheet];
}
