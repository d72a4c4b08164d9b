// Saved training runs, one IndexedDB record per key (weights, optimizer state, curves and
// timeline), through the vendored `idb` wrapper.
import { openDB } from '../vendor/idb/index.js';

const DB = 'toylens';
const STORE = 'runs';

let db = null;
function open() {
  db ??= openDB(DB, 1, {
    upgrade(d) {
      d.createObjectStore(STORE);
    },
  });
  return db;
}

export async function saveRecord(key, value) {
  return (await open()).put(STORE, value, key);
}

export async function loadRecord(key) {
  return (await open()).get(STORE, key);
}

export async function deleteRecord(key) {
  return (await open()).delete(STORE, key);
}
