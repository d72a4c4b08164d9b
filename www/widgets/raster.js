// Matrices drawn one pixel a cell into a canvas, scaled up by CSS (image-rendering:
// pixelated): a 200×200 matrix is 40k table lookups, far below a frame.
import { lutIndex } from './scales.js';

/**
 * Paints rows×cols values (row-major, from `offset` in `values`) into `canvas`.
 * opts: {table, lo, hi, nan (packed pixel), masked (packed pixel; when set, cells with
 * col > row are drawn with it: the causal mask)}.
 */
export function paintCells(canvas, rows, cols, values, offset, opts) {
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(cols, rows);
  const px = new Uint32Array(img.data.buffer);
  const { table, lo, hi, nan, masked } = opts;
  for (let r = 0; r < rows; r++) {
    const row = offset + r * cols;
    for (let c = 0; c < cols; c++) {
      const v = values[row + c];
      let p;
      if (masked !== undefined && c > r) p = masked;
      else if (Number.isNaN(v)) p = nan;
      else p = table[lutIndex(v, lo, hi)];
      px[r * cols + c] = p;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** Places an absolutely positioned `node` (canvas, marker) at (left, top) with CSS size w×h. */
export function place(node, left, top, w, h) {
  const s = node.style;
  s.left = `${left}px`;
  s.top = `${top}px`;
  s.width = `${w}px`;
  s.height = `${h}px`;
}

/** The [row, col] of a client point over a canvas showing rows×cols cells, or null outside. */
export function cellAt(canvas, rows, cols, clientX, clientY) {
  const b = canvas.getBoundingClientRect();
  const c = Math.floor(((clientX - b.left) / b.width) * cols);
  const r = Math.floor(((clientY - b.top) / b.height) * rows);
  return r >= 0 && r < rows && c >= 0 && c < cols ? [r, c] : null;
}
