// The engine worker's fetches (www/engine/worker.js, op `fetch`).

const fetched = new Map(); // absolute URL -> Promise<ArrayBuffer>, the most recently used last
const sizes = new Map(); // absolute URL -> bytes, for the files fetched so far
// What the worker keeps at most: a page prefetches its whole timeline (addition's is 8 files
// of 6.3 MB and a 12.7 MB final model, 63 MB), and pages that share the worker (embeds) add
// their own. Past this the least recently used files are dropped (fetched again if asked).
const KEEP_BYTES = 160e6;

// A file by URL, fetched once per worker while it is kept: however many figures read a model,
// it crosses the network once. A failed fetch is forgotten, so a later call tries again. The
// buffer is the one kept here: read it, never transfer it.
export function fetchKept(url) {
  let p = fetched.get(url);
  if (p) {
    fetched.delete(url); // most recently used last
  } else {
    p = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.arrayBuffer();
    });
    p.then((buf) => {
      if (fetched.get(url) !== p) return;
      sizes.set(url, buf.byteLength);
      evict(url);
    }, () => {
      if (fetched.get(url) === p) fetched.delete(url);
    });
  }
  fetched.set(url, p);
  return p;
}

// Drops the least recently used files until the kept ones fit (never `keep`, just fetched).
function evict(keep) {
  let total = [...sizes.values()].reduce((a, b) => a + b, 0);
  for (const url of fetched.keys()) {
    if (total <= KEEP_BYTES) return;
    if (url === keep || !sizes.has(url)) continue; // in flight: its size is not known yet
    total -= sizes.get(url);
    sizes.delete(url);
    fetched.delete(url);
  }
}

// The file at `url` (fetchKept) as `as` says: a copy of its bytes, JSON, text, or nothing.
export async function fetchOnce(url, as = 'bytes') {
  const buf = await fetchKept(url);
  if (as === 'none') return null; // a prefetch: the file is kept here for the next call
  if (as === 'bytes') return buf.slice(0); // the caller's own copy (it is transferred)
  const text = new TextDecoder().decode(buf);
  if (as === 'text') return text;
  if (as === 'json') return JSON.parse(text);
  throw new Error(`fetch: as must be 'bytes', 'json', 'text' or 'none', not ${JSON.stringify(as)}`);
}
