// Static server for dist/: used by `./build.sh serve` and by the browser tests.
// sirv does the file serving (MIME types incl. application/wasm, ranges, path-traversal
// guard); node:http only hosts it. Run: node tests/e2e/static-server.mjs DIR [PORT]
// It answers as a static host with precompressed files does (nginx gzip_static, Netlify):
// NAME.br or NAME.gz (written by the site build, tools/precompress.mjs) by Accept-Encoding,
// br before gzip before the file itself, with Content-Encoding and Vary: Accept-Encoding;
// an ETag, and Cache-Control: no-cache (use it again after a revalidation, like Netlify's
// max-age=0, must-revalidate), so a reload costs 304s and a rebuild shows at once.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

// Types sirv's table lacks (it would send an empty Content-Type).
const TYPES = { '.jsonl': 'application/jsonl; charset=utf-8', '.safetensors': 'application/octet-stream', '.LICENSE': 'text/plain; charset=utf-8' };

function setHeaders(res, pathname) {
  const type = TYPES[path.extname(pathname)];
  if (type) res.setHeader('Content-Type', type);
}

export function startServer(rootDir, port = 0, host = '127.0.0.1') {
  const root = path.resolve(rootDir);
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    return Promise.reject(new Error(`not a directory: ${root}`));
  }
  // dev: read from disk on every request (a rebuild shows up without a restart); with etag,
  // sirv sends Cache-Control: no-cache, so a browser never runs a stale wasm next to new JS.
  const files = sirv(root, { dev: true, dotfiles: false, etag: true, gzip: true, brotli: true, setHeaders });
  const server = http.createServer((req, res) => {
    // On every answer, 304s included (sirv sets it on 200s only): a cache keys on the encoding.
    res.setHeader('Vary', 'Accept-Encoding');
    const url = new URL(req.url, 'http://x');
    let pathname = url.pathname;
    try { pathname = decodeURIComponent(pathname); } catch { /* malformed: sirv will 404 it */ }
    // sirv would serve /smoke as /smoke/index.html, where the page's relative URLs
    // (../fixtures/…) resolve one level too high; redirect like a static host does.
    if (!pathname.endsWith('/')) {
      const abs = path.join(root, pathname);
      if (abs.startsWith(root + path.sep) && fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
        res.writeHead(301, { Location: encodeURIComponent(pathname.split('/').pop()) + '/' + url.search });
        res.end();
        return;
      }
    }
    files(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`404 not found: ${pathname}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}/`,
        close: () => new Promise((r) => {
          server.closeAllConnections?.();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir = 'dist', port = '8080'] = process.argv.slice(2);
  startServer(dir, Number(port)).then(
    ({ url, close }) => {
      console.log(`serving ${path.resolve(dir)} at ${url}`);
      const stop = () => close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (e) => {
      console.error(`static-server: ${e.message}`);
      process.exit(1);
    },
  );
}
