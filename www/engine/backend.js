// Which backend a page computes on, and why. WebGPU only when the browser gives an adapter,
// a short self-test (forwards of the same weights on both backends) matches the CPU, and the
// adapter is hardware or at least faster than the CPU; otherwise the CPU. The reader can
// force one with ?backend=cpu|webgpu or with the control (remembered in localStorage). Returns {backend, reason, forced, selftest?, webgpu}.

const KEY = 'toylens.backend';
const VALID = ['cpu', 'webgpu'];

export function requestedBackend() {
  const q = new URLSearchParams(location.search).get('backend');
  if (VALID.includes(q)) return { backend: q, how: 'the URL (?backend=)' };
  let saved = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    // storage may be disabled; the choice is then per page load
  }
  if (VALID.includes(saved)) return { backend: saved, how: 'your choice on this site' };
  return null;
}

export function rememberBackend(backend) {
  try {
    if (backend === 'auto') localStorage.removeItem(KEY);
    else if (VALID.includes(backend)) localStorage.setItem(KEY, backend);
  } catch {
    // not fatal: the override still applies to this page
  }
}

/** A backend decision: which, why, and what the worker said of WebGPU. */
const decided = (webgpu, backend, reason, more = {}) => ({ backend, reason, forced: false, webgpu, ...more });

/**
 * The backend a page starts on, at once: a forced one, the CPU when there is no WebGPU, else
 * the CPU with `pending: true` — the WebGPU self-test (settleBackend) runs after the first
 * figures are drawn, since the worker runs one request at a time and the test would hold
 * them back (4.7 s before the first figure, against 1.1 s on the CPU).
 */
export async function initialBackend(client) {
  const backends = await client.call('backends');
  const choice = (...a) => decided(backends.webgpu, ...a);
  const forced = requestedBackend();
  if (forced) {
    if (forced.backend === 'webgpu' && !backends.webgpu.available) {
      return choice('cpu', `WebGPU was asked for by ${forced.how}, but ${backends.webgpu.reason}; using the CPU`, { forced: true });
    }
    return choice(forced.backend, `${forced.backend === 'cpu' ? 'CPU' : 'WebGPU'} chosen by ${forced.how}`, { forced: true });
  }
  if (!backends.webgpu.available) return choice('cpu', backends.webgpu.reason);
  return choice('cpu', 'the figures are drawn here while WebGPU is tested', { pending: true });
}

/** The final choice after a pending one: the WebGPU self-test decides. */
export async function settleBackend(client, initial) {
  if (!initial.pending) return initial;
  const choice = (...a) => decided(initial.webgpu, ...a);
  let selftest;
  try {
    selftest = await client.call('selftest', {});
  } catch (e) {
    return choice('cpu', `the WebGPU self-test failed (${e.message})`);
  }
  if (!selftest.ok) return choice('cpu', selftest.reason, { selftest });
  // A software adapter (SwiftShader and the like) is correct but slower than our own CPU
  // path: train where it is fast. ?backend=webgpu still forces it.
  const { cpu, webgpu } = selftest.forwardMs;
  if (selftest.software && webgpu > cpu) {
    const why = `${selftest.reason}, but it is a software adapter, slower than the CPU here (a forward: ${webgpu.toFixed(0)} ms vs ${cpu.toFixed(0)} ms)`;
    return choice('cpu', why, { selftest });
  }
  return choice('webgpu', selftest.reason, { selftest });
}

/** Both steps at once (a caller with nothing to draw first). */
export async function chooseBackend(client) {
  return settleBackend(client, await initialBackend(client));
}
