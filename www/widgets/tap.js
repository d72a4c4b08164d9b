// Touch screens have no hover. A tap on a figure replays, at the tapped point, what a mouse
// arriving there sends (pointerover, then pointermove), so each widget's own hover code shows
// its tooltip and marks; the next press anywhere else sends what a mouse leaving sends
// (pointerleave on the tapped element and each ancestor up to the figure), which hides them.
// A mouse needs none of this: it hovers.

/** The last tapped element and its figure, whose hover stays until a press elsewhere. */
let held = null;
/** The pointer type of the last press (a click is not a PointerEvent in every browser). */
let lastPressType = 'mouse';
const watching = new WeakSet();

/** Makes taps on `host` (a figure element) show what hovering shows. */
export function tapToHover(host) {
  watchPresses(host.ownerDocument);
  host.addEventListener('click', (e) => {
    const type = e.pointerType || lastPressType;
    if (type !== 'touch' && type !== 'pen') return;
    const target = e.composedPath()[0];
    if (!(target instanceof Element)) return;
    held = { target, host };
    const at = { clientX: e.clientX, clientY: e.clientY, screenX: e.screenX, screenY: e.screenY, pointerType: type, isPrimary: true };
    target.dispatchEvent(new PointerEvent('pointerover', { ...at, bubbles: true, composed: true }));
    target.dispatchEvent(new PointerEvent('pointermove', { ...at, bubbles: true, composed: true }));
  });
}

// One listener per document: a press outside the held element ends its hover.
function watchPresses(doc) {
  if (watching.has(doc)) return;
  watching.add(doc);
  doc.addEventListener('pointerdown', (e) => {
    lastPressType = e.pointerType || 'mouse';
    if (held && !e.composedPath().includes(held.target)) release();
  }, true);
}

function release() {
  const { target, host } = held;
  held = null;
  const init = { clientX: -1, clientY: -1, pointerType: lastPressType, isPrimary: true };
  target.dispatchEvent(new PointerEvent('pointerout', { ...init, bubbles: true, composed: true }));
  for (let n = target; n; n = n === host ? null : n.parentElement ?? n.getRootNode().host) {
    n.dispatchEvent(new PointerEvent('pointerleave', init));
  }
}
