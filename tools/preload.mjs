// Flattens the module waterfall of every page of a built site: each <script type="module">'s
// static imports, followed to the end, become <link rel="modulepreload"> in the page's head,
// so the browser asks for the whole graph at once instead of one level of imports per round
// trip (a notebook page's ~50 modules came in six levels, about a second before the engine's
// worker could start on this machine).
//   node tools/preload.mjs DIR     write the links into every page of DIR (replacing earlier ones)
// The engine worker's own imports are not listed: a page's preloads do not serve a worker.
// Static `import … from '…'` / `export … from '…'` / `import '…'` of relative paths are read with
// a regular expression: the site's own modules keep to that form (no bundler or parser needed
// for it), and a path that matches but does not exist is skipped.
import fs from 'node:fs';
import path from 'node:path';
import { pages } from './csp.mjs';

const STATIC_IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:[\w*{}\s,$]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+|\/[^'"]+)['"]/g;
const MODULE_SCRIPT = /<script\s+type="module"\s+src="([^"]+)"><\/script>/g;
const OLD_LINKS = /\n[ \t]*<link rel="modulepreload" href="[^"]*">/g;

/** The files (absolute paths) that `entry` imports statically, directly or not, in load order. */
export function importGraph(root, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !file.startsWith(root) || !fs.existsSync(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(STATIC_IMPORT)) {
      const spec = m[1];
      visit(spec.startsWith('/') ? path.join(root, spec) : path.resolve(path.dirname(file), spec));
    }
  };
  visit(entry);
  seen.delete(entry);
  return [...seen];
}

/** Writes the preload links into every page of `root`; returns how many modules each got. */
export function write(root) {
  const counts = {};
  for (const p of pages(root)) {
    const file = path.join(root, p);
    const html = fs.readFileSync(file, 'utf8').replace(OLD_LINKS, '');
    const scripts = [...html.matchAll(MODULE_SCRIPT)];
    if (!scripts.length) continue;
    const dir = path.dirname(file);
    const entries = scripts.map((m) => path.resolve(dir, m[1]));
    const modules = [...new Set(entries.flatMap((e) => importGraph(root, e)))].filter((f) => !entries.includes(f));
    if (!modules.length) continue;
    const first = scripts[0];
    const indent = html.slice(html.lastIndexOf('\n', first.index) + 1, first.index);
    const links = modules.map((f) => `<link rel="modulepreload" href="${path.relative(dir, f).split(path.sep).join('/')}">\n${indent}`).join('');
    fs.writeFileSync(file, html.slice(0, first.index) + links + html.slice(first.index));
    counts[p] = modules.length;
  }
  return counts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node tools/preload.mjs DIR');
  const counts = write(path.resolve(dir));
  const n = Object.values(counts);
  console.error(`modulepreload: ${n.length} pages of ${dir}, ${Math.min(...n)}–${Math.max(...n)} modules each`);
}
