// Writes NAME.br and NAME.gz next to every compressible file of a built site, as a static
// host with precompressed files (nginx gzip_static/brotli_static, Netlify, …) serves them;
// tests/e2e/static-server.mjs picks one by Accept-Encoding. node:zlib only, no dependency.
// A variant newer than its source is kept (the 15 MB wasm is not rebuilt by `./build.sh
// site`, and brotli-11 takes ~30 s on it). Run: node tools/precompress.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { siteFiles } from './site-files.mjs';

const COMPRESSIBLE = /\.(wasm|js|html|css|json|jsonl|safetensors|svg)$/;
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Brotli quality: 11 everywhere but on weights (float32 noise: 11 gains ~1% over 9 and takes 30x as long: 40 s for addition's 12 MB). */
const quality = (file) => (file.endsWith('.safetensors') ? 9 : 11);

const ENCODERS = {
  br: (buf, file) => brotli(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality(file), [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }),
  gz: (buf) => gzip(buf, { level: 9 }),
};

/**
 * The most a variant may keep of its file's size to be written. A browser decodes what it is
 * sent before the engine sees a byte, and decoding costs more than the bytes it saves when
 * they barely shrink: addition's 6.3 MB checkpoints (float16 noise) shrink 8% under brotli,
 * and Chromium took 330-760 ms to decode one against 100-120 ms to read it raw from localhost
 * (a timeline move waits for it). Text and wasm keep 15-30% of their size.
 */
const WORTH = 0.85;

/** Compresses one file into each missing or stale variant; a variant that saves too little (WORTH) is not written. */
async function compressFile(abs) {
  const src = fs.statSync(abs);
  let buf;
  for (const [ext, encode] of Object.entries(ENCODERS)) {
    const out = `${abs}.${ext}`;
    const prev = fs.statSync(out, { throwIfNoEntry: false });
    if (prev && prev.mtimeMs >= src.mtimeMs) {
      if (prev.size > src.size * WORTH) fs.rmSync(out); // written under an older rule
      continue;
    }
    buf ??= fs.readFileSync(abs);
    const z = await encode(buf, abs);
    if (z.length <= buf.length * WORTH) fs.writeFileSync(out, z);
    else fs.rmSync(out, { force: true });
  }
}

/** Compresses every compressible file under `dir`, two at a time (zlib runs on libuv's thread pool). */
export async function precompress(dir, concurrency = 2) {
  const queue = siteFiles(dir).filter((f) => COMPRESSIBLE.test(f)).map((f) => path.join(dir, f));
  // Largest first: the wasm starts at once and the small files fill the other thread.
  queue.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
  const work = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await compressFile(f);
  };
  await Promise.all(Array.from({ length: concurrency }, work));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node tools/precompress.mjs DIR');
  const t0 = performance.now();
  await precompress(path.resolve(dir));
  console.error(`precompressed ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
