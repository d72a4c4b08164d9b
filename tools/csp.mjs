// The site's Content-Security-Policy, said once: every HTML page carries it as the first
// thing after <meta charset> (a <meta http-equiv>, which static hosts honour without header
// configuration; it governs only what follows it in the page, hence first). This module
// writes it into the pages of www/ and checks a built site (build.sh and the browser tests).
//   node tools/csp.mjs DIR            check: every page of DIR carries exactly POLICY
//   node tools/csp.mjs --write DIR    write POLICY into every page of DIR (insert or replace)
// What it allows, and why:
//   script-src 'self' 'wasm-unsafe-eval'  the site's own modules; WebAssembly compiles (no eval)
//   style-src 'self'                      stylesheets only; no style attributes or <style>
//                                         (the CSSOM — el.style, d3's .style(), adopted sheets — is not governed)
//   img-src 'self' data: blob:            the favicon is data:,; exported figures paint from data:/blob:
//   connect-src 'self', worker-src 'self', frame-src 'self'  nothing leaves the origin: the
//                                         engine worker, the service worker and the embed frame are the site's
//   object-src 'none', base-uri 'self', form-action 'none'   no plugins, no rebased URLs, no form posts
// frame-ancestors cannot be set from a meta tag (a host's header would have to), so embedding
// stays open, as the embed system needs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { siteFiles } from './site-files.mjs';

export const POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

export const META = `<meta http-equiv="Content-Security-Policy" content="${POLICY}">`;

const ANY_META = /<meta\s+http-equiv=["']?Content-Security-Policy["']?[^>]*>/gi;
const CHARSET = /<meta charset="utf-8">/i;

/** The HTML pages of a site directory ('/'-separated, relative). */
export function pages(root) {
  return siteFiles(root).filter((p) => p.endsWith('.html'));
}

/**
 * What is wrong with one page's policy: '' if it carries exactly META once, right after
 * <meta charset> (before any script, style or link it must govern).
 */
export function problem(html) {
  const metas = html.match(ANY_META) ?? [];
  if (metas.length === 0) return 'no Content-Security-Policy meta';
  if (metas.length > 1) return `${metas.length} Content-Security-Policy metas (one expected)`;
  if (metas[0] !== META) return `another policy: ${metas[0]}`;
  const charset = html.match(CHARSET);
  if (!charset) return 'no <meta charset="utf-8">';
  const between = html.slice(charset.index + charset[0].length, html.indexOf(META));
  if (between.trim()) return 'the policy is not right after <meta charset> (it governs only what follows it)';
  return '';
}

/** Every page of `root` with what is wrong with it: [] when all carry the policy. */
export function check(root) {
  return pages(root).map((p) => ({ page: p, problem: problem(fs.readFileSync(path.join(root, p), 'utf8')) })).filter((x) => x.problem);
}

/** Writes META into every page of `root` (replacing any policy there); returns the pages changed. */
export function write(root) {
  const changed = [];
  for (const p of pages(root)) {
    const file = path.join(root, p);
    const html = fs.readFileSync(file, 'utf8');
    const charset = html.match(CHARSET);
    if (!charset) throw new Error(`${file}: no <meta charset="utf-8"> to put the policy after`);
    const bare = html.replace(new RegExp(`\\n[ \\t]*${ANY_META.source}`, 'gi'), '');
    const at = bare.indexOf(charset[0]) + charset[0].length;
    const indent = bare.slice(bare.lastIndexOf('\n', at - charset[0].length) + 1, at - charset[0].length);
    const out = `${bare.slice(0, at)}\n${indent}${META}${bare.slice(at)}`;
    if (out !== html) {
      fs.writeFileSync(file, out);
      changed.push(p);
    }
  }
  return changed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const writing = args[0] === '--write';
  const dir = args[writing ? 1 : 0];
  if (!dir) throw new Error('usage: node tools/csp.mjs [--write] DIR');
  if (writing) {
    console.error(`Content-Security-Policy written into ${write(path.resolve(dir)).length} page(s) of ${dir}`);
  } else {
    const bad = check(path.resolve(dir));
    for (const b of bad) console.error(`${dir}/${b.page}: ${b.problem}`);
    if (bad.length) process.exit(1);
    console.error(`Content-Security-Policy: all ${pages(path.resolve(dir)).length} pages of ${dir} carry it`);
  }
}
