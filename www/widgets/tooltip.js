// One tooltip per widget: a div inside the element, placed next to the pointer and kept
// inside the element's box. Lines are plain text (labels come from data; never HTML).
export class Tooltip {
  constructor(host) {
    this.host = host;
    this.node = document.createElement('div');
    this.node.className = 'tl-tooltip';
    this.node.dataset.ref = 'tooltip';
    this.node.setAttribute('role', 'status');
    this.node.hidden = true;
  }

  /** Shows `lines` (first line plain, the rest muted) near client point (x, y). */
  show(lines, clientX, clientY) {
    const n = this.node;
    n.replaceChildren(
      ...lines.map((text, k) => {
        const d = document.createElement('div');
        d.textContent = text;
        if (k) d.className = 'tl-sub';
        return d;
      }),
    );
    n.hidden = false;
    const box = this.host.getBoundingClientRect();
    let x = clientX - box.left + 12;
    let y = clientY - box.top + 14;
    if (x + n.offsetWidth > box.width) x = Math.max(0, clientX - box.left - n.offsetWidth - 12);
    // Within the box: a figure's content is clipped to it off screen (style.js: content-visibility).
    if (y + n.offsetHeight > box.height) y = Math.max(0, clientY - box.top - n.offsetHeight - 10);
    n.style.left = `${x}px`;
    n.style.top = `${y}px`;
  }

  hide() {
    this.node.hidden = true;
  }
}
