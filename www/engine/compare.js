// Comparing tensors against a reference (pure: the worker's `compare` op, and node code can
// import it): per name the largest |difference|, and the worst name by one ranking every
// caller shares.

// Max |a - b| over two equally shaped tensors. Equal values (also equal infinities: TL's
// masked attention scores are -inf) count as 0; any NaN makes the result NaN.
export function maxAbsDiff(a, b) {
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    const d = Math.abs(x - y);
    if (!(d <= m)) {
      if (Number.isNaN(d)) return NaN;
      m = d;
    }
  }
  return m;
}

const sameShape = (s, t) => s.length === t.length && s.every((d, k) => d === t[k]);

// How bad a difference is, for ranking: a shape error or a NaN beats every number.
const badness = (d) => (d.error || Number.isNaN(d.maxAbsDiff) ? Infinity : d.maxAbsDiff);

// {name: {shape, values}} x2 -> per-name max |diff| over the names in both, and the worst of
// them (the one ranking every caller uses: a NaN is never overwritten by a later finite value).
export function compare({ actual, expected, skip = [], apart = [] }) {
  if (!actual || !expected) throw new Error('compare needs {actual, expected}');
  const diffs = {};
  const missing = [];
  const extra = [];
  for (const [name, want] of Object.entries(expected)) {
    if (skip.includes(name)) continue;
    const got = actual[name];
    if (!got) {
      missing.push(name);
      continue;
    }
    diffs[name] = sameShape(got.shape, want.shape)
      ? { maxAbsDiff: maxAbsDiff(got.values, want.values) }
      : { maxAbsDiff: Infinity, error: `shape [${got.shape}] vs expected [${want.shape}]` };
  }
  for (const name of Object.keys(actual)) if (!(name in expected) && !skip.includes(name)) extra.push(name);
  let worst = null;
  for (const [name, d] of Object.entries(diffs)) {
    if (apart.includes(name)) continue;
    if (!worst || badness(d) > badness(worst)) worst = { name, maxAbsDiff: d.maxAbsDiff, error: d.error };
  }
  return { diffs, missing, extra, worst };
}
