// The engine worker's fetches (www/engine/worker.js, op `fetch`).

const fetched = new Map(); // absolute URL -> Promise<ArrayBuffer>

// A file by URL, fetched once per worker: however many figures read a model, it crosses the
// network once. A failed fetch is forgotten, so a later call tries again. The buffer is the
// one kept here: read it, never transfer it.
export function fetchKept(url) {
  let p = fetched.get(url);
  if (!p) {
    p = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.arrayBuffer();
    });
    fetched.set(url, p);
    p.catch(() => fetched.delete(url));
  }
  return p;
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
