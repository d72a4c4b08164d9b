// toylens' service worker: after a first visit the whole site (pages, engine, wasm, the
// pretrained models) works with the network off, training included. Registered by
// offline.js, which also shows its state ("ready offline", "a new version is ready").
//
// Versioning. The build writes the manifest below (tools/precache.mjs: every file with its
// SHA-256, and a version hashing them all), so every build that changes a file is a new
// sw.js, and each version has its own cache, `toylens-<version>`. Every file of the
// manifest is answered cache-first from the cache of the version that controls the page,
// and the install checks each download against its hash (a deploy under way fails the
// install, which the browser retries later). So a page is always its own version's html,
// scripts and wasm, never an old page with a new wasm.
// Updates: a new version installs next to the old one and waits (no skipWaiting on install):
// open pages keep running on the old cache. It takes over when every page of the site is
// closed, or when the reader presses "reload" on the notice offline.js shows; then it
// deletes the old caches and every open page reloads (offline.js, on controllerchange),
// since an old page must not load the rest of itself from the new version.
// The first visit is not taken over (no clients.claim): that page came from the network;
// the next load is served from the cache.

/** @typedef {{path: string, sha256: string, size: number, lazy: boolean}} PrecacheFile */
/** @type {{version: string, files: PrecacheFile[]} | undefined} written at site build */
const PRECACHE = self.__TOYLENS_PRECACHE;
const ROOT = new URL('./', self.location.href); // sw.js sits at the site's root
const PREFIX = 'toylens-';
const CACHE = PRECACHE && PREFIX + PRECACHE.version;
const BY_PATH = new Map((PRECACHE?.files ?? []).map((f) => [f.path, f]));
const PARALLEL = 6;

/** Tells every page of the site (controlled or not) how the worker is doing. */
async function tell(message) {
  for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) {
    c.postMessage({ toylens: 'sw', version: PRECACHE?.version, ...message });
  }
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** Downloads `f` past the HTTP cache's freshness (it revalidates) and checks it is this version's. */
async function download(f) {
  const r = await fetch(new URL(f.path, ROOT), { cache: 'no-cache' });
  if (!r.ok) throw new Error(`${f.path}: HTTP ${r.status}`);
  const body = await r.arrayBuffer();
  if (hex(await crypto.subtle.digest('SHA-256', body)) !== f.sha256) {
    throw new Error(`${f.path} on the server is not version ${PRECACHE.version}'s (the site changed): reload the page`);
  }
  // Only the type is kept: the body is decoded, so the transfer's Content-Encoding and
  // Content-Length no longer apply (and the wasm needs application/wasm to stream).
  return new Response(body, { headers: { 'Content-Type': r.headers.get('Content-Type') || 'application/octet-stream' } });
}

async function precache() {
  if (!PRECACHE) throw new Error('sw.js has no manifest: serve the built site (./build.sh site)');
  const cache = await caches.open(CACHE);
  const todo = PRECACHE.files.filter((f) => !f.lazy);
  const total = todo.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const work = async () => {
    for (let f = todo.shift(); f; f = todo.shift()) {
      const key = new URL(f.path, ROOT);
      // An install the browser retries keeps what an interrupted one already stored.
      if (!(await cache.match(key))) await cache.put(key, await download(f));
      done += f.size;
      await tell({ state: 'saving', done, total });
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, work));
}

self.addEventListener('install', (e) => {
  e.waitUntil(precache().catch(async (err) => {
    await tell({ state: 'error', message: String(err.message || err) });
    throw err;
  }));
});

self.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== CACHE) await caches.delete(k);
  })());
});

self.addEventListener('message', (e) => {
  if (e.data === 'skip-waiting') self.skipWaiting();
  else if (e.data === 'version') e.ports[0]?.postMessage({ version: PRECACHE?.version, cache: CACHE });
});

/** Cache-first from this version's cache; a lazy file is downloaded, checked and kept on first use. */
async function answer(f) {
  const cache = await caches.open(CACHE);
  const key = new URL(f.path, ROOT);
  const hit = await cache.match(key);
  if (hit) return hit;
  try {
    const r = await download(f);
    await cache.put(key, r.clone());
    return r;
  } catch (err) {
    self.registration.update();
    return new Response(`toylens offline cache: ${err.message}\n`, { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  }
}

self.addEventListener('fetch', (e) => {
  if (!PRECACHE || e.request.method !== 'GET') return;
  const url = new URL(e.request.url);
  if (url.origin !== ROOT.origin || !url.pathname.startsWith(ROOT.pathname)) return;
  let rel;
  try {
    rel = decodeURIComponent(url.pathname.slice(ROOT.pathname.length));
  } catch {
    return;
  }
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const f = BY_PATH.get(rel);
  if (f) e.respondWith(answer(f));
  // A directory without its slash (the server redirects it too): the page's relative URLs need it.
  else if (BY_PATH.has(`${rel}/index.html`)) e.respondWith(Response.redirect(`${url.origin}${url.pathname}/${url.search}`, 301));
  // Anything else (not part of the site's build) goes to the network as usual.
});
