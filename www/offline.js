// Registers the site's service worker (sw.js: the site offline after a first visit) and shows
// its state in one status line at the end of the page's header: "saving for offline use",
// "ready offline", "a new version is ready" (with the button that applies it), or why the
// site cannot work offline. Imported for its effect by every page (notebook.js for the
// notebooks and the kit, a script tag elsewhere). Not in a frame (an embedded figure must
// not install the whole site into a host page's visitor) nor from another origin.
const SW = new URL('sw.js', import.meta.url);

/** @type {HTMLElement | null} */
let line = null;

/** state: saving | ready | update | error; the line carries it as data-state (the tests read it). */
function show(state, text, action) {
  if (!line) {
    line = Object.assign(document.createElement('p'), { className: 'tl-offline' });
    line.setAttribute('role', 'status');
    (document.querySelector('body > header') || document.body).append(line);
  }
  line.dataset.state = state;
  line.textContent = text;
  if (action) {
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: action.label });
    b.addEventListener('click', action.run);
    line.append(' ', b);
  }
}

const mb = (n) => (n / 1e6).toFixed(1);

function follow(reg) {
  const sw = navigator.serviceWorker;
  const showUpdate = () =>
    show('update', 'A new version of toylens is ready.', { label: 'Reload to update', run: () => reg.waiting?.postMessage('skip-waiting') });
  const track = (w) => {
    if (!w) return;
    const onState = () => {
      if (w.state === 'installed' && sw.controller) showUpdate();
      else if (w.state === 'activated' && !sw.controller) show('ready', 'Ready offline.');
    };
    w.addEventListener('statechange', onState);
    onState();
  };
  if (reg.waiting && sw.controller) showUpdate();
  else if (reg.active) show('ready', 'Ready offline.');
  track(reg.installing);
  reg.addEventListener('updatefound', () => track(reg.installing));
  // A first install that got ahead of this page (a busy page, a fast install) leaves no
  // statechange to see: the worker was already waiting or activating when the registration
  // resolved. ready settles once a worker is active, however late the page looks.
  if (!sw.controller) sw.ready.then(() => show('ready', 'Ready offline.'));
  sw.addEventListener('message', (e) => {
    const m = e.data;
    if (m?.toylens !== 'sw') return;
    // Progress of a first install only: an update saves quietly next to the working version.
    if (m.state === 'saving' && !sw.controller && line?.dataset.state !== 'ready') show('saving', `Saving toylens for offline use: ${mb(m.done)} of ${mb(m.total)} MB.`);
    else if (m.state === 'error') show('error', `Not available offline: ${m.message}`);
  });
  sw.startMessages();
}

async function register() {
  const sw = navigator.serviceWorker;
  // A page that was running on a version reloads when another takes over (the reader
  // applied an update here or in another tab): the rest of it must come from one version.
  if (sw.controller) sw.addEventListener('controllerchange', () => location.reload());
  try {
    // updateViaCache none: the update check never takes sw.js from the HTTP cache.
    const reg = await sw.register(SW, { updateViaCache: 'none' });
    if (reg) follow(reg); // (a test browser that blocks service workers answers nothing)
  } catch (e) {
    show('error', `Not available offline: ${e.message}`);
  }
}

// After the load event: the precache's downloads must not compete with the page's own.
if ('serviceWorker' in navigator && window.top === window && SW.origin === location.origin) {
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
