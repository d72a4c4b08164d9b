// Saved training runs, one IndexedDB record per key (weights, optimizer state, curves and
// timeline), through the vendored `idb` wrapper. One record is one put in one transaction:
// a save either lands whole or not at all (a tab killed mid-save reopens with the previous
// record), which is why a run is never split over several keys. Which tab may write a key:
// claimRecord (Web Locks).
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

/**
 * Saves `value` under `key`. A failure (a full quota above all) rejects with a message that
 * says how much the record needs (`bytes` on the error) and, when the browser tells, how much
 * this site has.
 */
export async function saveRecord(key, value) {
  try {
    return await (await open()).put(STORE, value, key);
  } catch (e) {
    const bytes = recordBytes(value);
    let why = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    if (e?.name === 'QuotaExceededError') {
      const est = await globalThis.navigator?.storage?.estimate?.().catch(() => null);
      why = `the browser's storage for this site is full${est?.quota ? ` (${mb(est.usage)} used of ${mb(est.quota)})` : ''}`;
    }
    throw Object.assign(new Error(`could not save the run in this browser: it needs ${mb(bytes)} and ${why}`), { bytes, cause: e });
  }
}

/** About the bytes a record takes: its buffers, plus the JSON of the rest. */
export function recordBytes(value) {
  let n = 0;
  const json = JSON.stringify(value, (k, v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      n += v.byteLength;
      return undefined;
    }
    return v;
  });
  return n + (json?.length ?? 0);
}

const mb = (bytes) => {
  if (bytes < 2 ** 20) return `${(bytes / 2 ** 10).toFixed(0)} KB`;
  return bytes < 2 ** 30 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : `${(bytes / 2 ** 30).toFixed(1)} GB`;
};

/**
 * Whether this tab may write `key`: the first tab of this browser to ask owns it until it
 * closes (a Web Lock held for the page's life); the others get false, and `onTakeover` runs
 * in one of them when the owner closes, which then owns it. Without Web Locks (an insecure
 * context) every tab writes: the last save wins.
 */
export function claimRecord(key, onTakeover) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(true);
  const name = `${DB}/${STORE}/${key}`;
  const hold = () => new Promise(() => {}); // released by the browser when the page goes away
  const owned = new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        return lock ? hold() : null;
      })
      .catch(reject);
  });
  owned.then((yes) => {
    if (yes) return;
    locks
      .request(name, () => {
        onTakeover();
        return hold();
      })
      // Aborted only as the page goes away: nothing left to tell.
      .catch(() => {});
  }, () => {}); // the caller gets the failure from `owned` itself
  return owned;
}

export async function loadRecord(key) {
  return (await open()).get(STORE, key);
}

export async function deleteRecord(key) {
  return (await open()).delete(STORE, key);
}
