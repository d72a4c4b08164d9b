// Strict checks of widget data: each returns the checked value or throws an Error whose
// message names the field, so a figure can show what is wrong instead of drawing nonsense.

export function fail(message) {
  throw new Error(message);
}

export function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function object(v, what) {
  if (!isObject(v)) fail(`${what}: expected an object, got ${describe(v)}`);
  return v;
}

/** An array or typed array of numbers (NaN allowed: drawn as missing). */
export function numbers(v, what, length) {
  const ok = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  if (!ok) fail(`${what}: expected an array of numbers, got ${describe(v)}`);
  if (length !== undefined && v.length !== length) fail(`${what}: expected ${length} values, got ${v.length}`);
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) {
      if (typeof v[k] !== 'number') fail(`${what}[${k}]: expected a number, got ${describe(v[k])}`);
    }
  }
  return v;
}

export function finiteNumber(v, what) {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what}: expected a finite number, got ${describe(v)}`);
  return v;
}

/** An optional array of strings of exactly `length` entries (numbers are shown as text). */
export function labels(v, what, length) {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) fail(`${what}: expected an array of strings, got ${describe(v)}`);
  if (length !== undefined && v.length !== length) fail(`${what}: expected ${length} labels, got ${v.length}`);
  return v.map((s, k) => {
    if (typeof s !== 'string' && typeof s !== 'number') fail(`${what}[${k}]: expected a string, got ${describe(s)}`);
    return String(s);
  });
}

/** {shape: [d0, d1, ...], values} with `rank` dimensions and values.length = product. */
export function tensor(v, what, rank) {
  object(v, what);
  const { shape } = v;
  if (!Array.isArray(shape) || shape.length !== rank) {
    fail(`${what}.shape: expected ${rank} dimensions, got ${describe(shape)}`);
  }
  shape.forEach((n, k) => {
    if (!Number.isInteger(n) || n < 1) fail(`${what}.shape[${k}]: expected a positive integer, got ${describe(n)}`);
  });
  numbers(v.values, `${what}.values`, shape.reduce((a, b) => a * b, 1));
  return v;
}

export function optionalString(v, what) {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(`${what}: expected a string, got ${describe(v)}`);
  return v;
}

export function oneOf(v, what, options, fallback) {
  if (v === undefined || v === null) return fallback;
  if (!options.includes(v)) fail(`${what}: expected one of ${options.map((o) => `'${o}'`).join(', ')}, got ${describe(v)}`);
  return v;
}

/** An optional [lo, hi] with lo < hi. */
export function domain(v, what) {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length !== 2) fail(`${what}: expected [lo, hi], got ${describe(v)}`);
  finiteNumber(v[0], `${what}[0]`);
  finiteNumber(v[1], `${what}[1]`);
  if (!(v[0] < v[1])) fail(`${what}: expected lo < hi, got [${v[0]}, ${v[1]}]`);
  return [v[0], v[1]];
}

export function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}
