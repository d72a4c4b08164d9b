// The service worker's manifest, written at site build into the built sw.js (in place of
// `self.__TOYLENS_PRECACHE`, as workbox's injectManifest does): every file with its SHA-256,
// and a version that is a hash of them all. Because the manifest is inside sw.js, a build
// that changes any file changes sw.js's bytes, which is what makes browsers install the new
// worker (and a new cache); see www/sw.js for the update flow. Run: node tools/precache.mjs DIR
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { siteFiles } from './site-files.mjs';

const TOKEN = 'self.__TOYLENS_PRECACHE';
/** Not cached at all: the worker itself, and type declarations no page loads. */
const SKIP = /^sw\.js$|\.d\.ts$/;
/**
 * Cached when first used, not on install: the smoke page's parity fixtures (19 MB) and the
 * big timeline checkpoints (addition's: 8 of 6.3 MB). The small models' timelines (7 MB in
 * all) are saved on install, so their pages scrub offline from the first visit.
 */
const lazy = (p, size) => /^fixtures\//.test(p) || (/^models\/[^/]+\/checkpoints\//.test(p) && size > 1e6);

/**
 * @typedef {{path: string, sha256: string, size: number, lazy: boolean}} PrecacheFile
 * @typedef {{version: string, files: PrecacheFile[]}} Precache
 * @returns {Precache}
 */
export function manifest(root) {
  const files = siteFiles(root).filter((p) => !SKIP.test(p)).map((p) => {
    const buf = fs.readFileSync(path.join(root, p));
    return { path: p, sha256: crypto.createHash('sha256').update(buf).digest('hex'), size: buf.length, lazy: lazy(p, buf.length) };
  });
  const version = crypto.createHash('sha256').update(files.map((f) => `${f.path} ${f.sha256}\n`).join('')).digest('hex').slice(0, 16);
  return { version, files };
}

/** Writes the manifest of `root` into `root`/sw.js; returns it. */
export function writeServiceWorker(root) {
  const sw = path.join(root, 'sw.js');
  const src = fs.readFileSync(sw, 'utf8');
  if (src.split(TOKEN).length !== 2) throw new Error(`${sw}: expected ${TOKEN} once (already written?)`);
  const m = manifest(root);
  fs.writeFileSync(sw, src.replace(TOKEN, JSON.stringify(m)));
  return m;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node tools/precache.mjs DIR');
  const m = writeServiceWorker(path.resolve(dir));
  const mb = (fs) => (fs.reduce((s, f) => s + f.size, 0) / 1e6).toFixed(1);
  console.error(`sw.js: version ${m.version}, precache ${mb(m.files.filter((f) => !f.lazy))} MB, ${mb(m.files.filter((f) => f.lazy))} MB more cached when used`);
}
