// d3's UMD build sets globalThis.d3 when run as a module; this re-exports it so every
// widget imports one vendored copy (build.sh copies it to vendor/; no CDN).
import '../vendor/d3.min.js';

export default globalThis.d3;
