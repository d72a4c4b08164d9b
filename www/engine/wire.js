// The worker's side of the wire: what arrives (tokens, bytes) checked and shaped for the
// engine, what leaves (buffers to transfer) found, and errors as messages with codes.

export const message = (e) => (e instanceof Error ? e.message || e.name : String(e));

// tokens: number[][] (rows of equal length), or {shape:[batch,pos], values} with values an
// Int32Array or number[] in row-major order.
export function toTokens(tokens) {
  let batch, pos, values;
  if (Array.isArray(tokens)) {
    batch = tokens.length;
    pos = Array.isArray(tokens[0]) ? tokens[0].length : 0;
    if (!batch || !pos || tokens.some((r) => !Array.isArray(r) || r.length !== pos)) {
      throw new Error('tokens must be a non-empty number[][] with rows of equal length');
    }
    values = new Int32Array(batch * pos);
    tokens.forEach((r, b) => values.set(r, b * pos));
    for (let k = 0; k < values.length; k++) {
      const t = tokens[Math.floor(k / pos)][k % pos];
      if (!Number.isInteger(t) || t !== values[k]) throw new Error(`token ${JSON.stringify(t)} is not a 32-bit integer`);
    }
  } else if (tokens && Array.isArray(tokens.shape) && tokens.shape.length === 2) {
    [batch, pos] = tokens.shape;
    values = tokens.values instanceof Int32Array ? tokens.values : Int32Array.from(tokens.values ?? []);
    if (!(batch > 0 && pos > 0) || values.length !== batch * pos) {
      throw new Error(`tokens: shape [${tokens.shape}] does not match ${values.length} values`);
    }
  } else {
    throw new Error('tokens must be number[][] or {shape:[batch,pos], values}');
  }
  return { values, batch, pos };
}

export const codedError = (msg, code) => Object.assign(new Error(msg), { code });

// A wasm-returned Uint8Array as its own ArrayBuffer (transferable, detached from wasm memory).
export function bufferOf(u8) {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.slice().buffer;
}

export function bytesOf(b, what) {
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new Error(`${what} must be an ArrayBuffer (safetensors or .pt bytes)`);
}

// Buffers of every typed array in a result, to transfer. Never wasm's own memory: wasm-bindgen
// returns copies, but transferring the memory itself would kill the instance.
export function transferables(value, memories, out = new Set(), depth = 0) {
  if (value == null || typeof value !== 'object' || depth > 8) return out;
  if (ArrayBuffer.isView(value)) {
    // (A SharedArrayBuffer is not an ArrayBuffer and cannot be transferred.)
    const own = memories.some((m) => m?.buffer === value.buffer);
    if (value.buffer instanceof ArrayBuffer && !own) out.add(value.buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) transferables(v, memories, out, depth + 1);
  return out;
}
