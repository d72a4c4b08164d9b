// The files of a built site, as '/'-separated paths relative to its root: symlinks followed
// (the tests serve copies made of links), dotfiles and precompressed variants left out.
import fs from 'node:fs';
import path from 'node:path';

/** @returns {string[]} sorted relative paths of the site's files */
export function siteFiles(root) {
  const out = [];
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(root, rel))) {
      if (name.startsWith('.') || /\.(br|gz)$/.test(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.statSync(path.join(root, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}
