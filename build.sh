#!/usr/bin/env bash
# toylens: setup | build | site | serve [PORT] | lint | test | bench [toylens bench flags, e.g. --seconds 60]
# (site: only www/, fixtures and models into dist/, keeping the built wasm: for page work)
# (bench also writes bench/results/browser.json: in-page training speed and redraw times)
# Every subcommand is idempotent and installs only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
WASM_TARGET=wasm32-unknown-unknown
# TOYLENS_DIST: another output dir (e.g. one per working copy of the site during page work).
DIST="${TOYLENS_DIST:-$ROOT/dist}"
# TOYLENS_FEATURES: cargo features of the native CLI and its tests (gpu: `--backend wgpu`).
NATIVE_FEATURES=(${TOYLENS_FEATURES:+--features "$TOYLENS_FEATURES"})

# Each step with the time since the start: where a CI run's minutes go.
log() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

wasm_bindgen_version() {
  # The exact wasm-bindgen the lock file pins: the CLI must match it byte for byte.
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

setup() {
  log "setup"
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    rustup target add "$WASM_TARGET"
  fi
  local v; v="$(wasm_bindgen_version)"
  if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$v" ]; then
    # Not --locked: the CLI's own lock names a crate version the registry lacks. Without its
    # default TLS stack (only its test runner downloads) and unoptimized, the install took 45 s
    # instead of 119 s here (88 s at opt-level 1); its output is byte-identical, and binding the
    # full engine takes 1.7 s instead of 0.6 s (a CI run binds two engines once).
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install wasm-bindgen-cli --version "$v" --force --no-default-features
  fi
  if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.toylens-lock; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.toylens-lock
  fi
}

# Chromium, for the browser tests and the in-page bench only. `test` installs it in the
# background while it compiles (the download and unpacking wait on the network and the disk,
# the builds on the CPU), logging to the file it is given.
chromium_setup() {
  if [ ! -x /usr/bin/chromium ]; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
}

chromium_in_background() {
  CHROMIUM_LOG="$(mktemp)"
  chromium_setup >"$CHROMIUM_LOG" 2>&1 &
  CHROMIUM_PID=$!
}

chromium_wait() {
  if ! wait "$CHROMIUM_PID"; then
    cat "$CHROMIUM_LOG" >&2
    echo "installing chromium failed (log above)" >&2
    exit 1
  fi
  rm -f "$CHROMIUM_LOG"
}

build_native() {
  log "native CLI (release)"
  cargo build --release --locked -p toylens --bin toylens "${NATIVE_FEATURES[@]}"
}

build_wasm() {
  rm -rf "$DIST/pkg"
  # Two builds of the engine (www/engine/worker.js): the full one with WebGPU (pkg/toylens.js)
  # and the CPU-only one every page loads first (pkg/toylens_cpu.js, a third of the download).
  # Both leave their cdylib at the same path: each is bound right after it is built.
  local name features
  for name in toylens toylens_cpu; do
    if [ "$name" = toylens ]; then features=(--features webgpu); else features=(); fi
    log "wasm package: $name"
    cargo build --locked -p toylens --lib --target "$WASM_TARGET" --profile wasm "${features[@]}"
    # The name section (5.7 MB of function names) only serves debuggers; pages do not need it.
    wasm-bindgen --target web --remove-name-section --out-dir "$DIST/pkg" --out-name "$name" \
      "$CARGO_TARGET_DIR/$WASM_TARGET/wasm/toylens.wasm"
  done
}

build_site() {
  log "static site -> dist/"
  # One writer at a time: two builds copying into dist/ at once collide file by file.
  mkdir -p "$DIST"
  exec 9>"$DIST.lock"
  flock 9
  # Everything but the wasm package is rebuilt from www/, fixtures and models.
  find "$DIST" -mindepth 1 -maxdepth 1 ! -name pkg -exec rm -rf {} +
  cp -r www/. "$DIST/"
  mkdir -p "$DIST/fixtures" "$DIST/models"
  cp tests/fixtures/index.json "$DIST/fixtures/"
  for d in tests/fixtures/*/; do
    [ -f "$d"cache.safetensors ] || continue # a forward-parity fixture (training/ is apart)
    n="$(basename "$d")"
    mkdir -p "$DIST/fixtures/$n"
    cp "$d"config.json "$d"weights.safetensors "$d"cache.safetensors "$DIST/fixtures/$n/"
    if [ -f "$d"weights.pt ]; then cp "$d"weights.pt "$DIST/fixtures/$n/"; fi
  done
  # The training-parity runs (PyTorch's Adam/AdamW steps) the smoke page replays.
  cp -r tests/fixtures/training "$DIST/fixtures/"
  if compgen -G "models/*/" >/dev/null; then cp -r models/. "$DIST/models/"; fi
  # d3 is vendored (pages never reach a CDN): the widgets load it from vendor/.
  mkdir -p "$DIST/vendor"
  cp node_modules/d3/dist/d3.min.js "$DIST/vendor/"
  cp node_modules/d3/LICENSE "$DIST/vendor/d3.LICENSE"
  # idb (IndexedDB with promises) keeps readers' training runs across reloads.
  mkdir -p "$DIST/vendor/idb"
  cp node_modules/idb/build/index.js node_modules/idb/LICENSE "$DIST/vendor/idb/"
  models_index > "$DIST/models/index.json"
  # Every page's claims judged on every pretrained checkpoint by the native engine, with the
  # pages' own predicates (the emergence view; tests/e2e/claims.test.mjs reads them too).
  node tools/claims.mjs "$DIST" --cli "$CARGO_TARGET_DIR/release/toylens"
  # Every page carries the site's Content-Security-Policy (tools/csp.mjs; --write adds it to a new page).
  node tools/csp.mjs "$DIST"
  # Every page names its whole module graph up front (modulepreload), so its modules load at once.
  node tools/preload.mjs "$DIST"
  # Last, on the finished tree: the service worker's manifest (every file's hash and the
  # build's version, written into sw.js), then .br and .gz next to each compressible file.
  node tools/precache.mjs "$DIST"
  node tools/precompress.mjs "$DIST"
}

models_index() {
  # What the pages may load: each model's files and its training timeline's steps.
  local first=1 d t steps
  printf '{\n'
  for d in models/*/; do
    t="$(basename "$d")"
    steps="$(find "$d/checkpoints" -name 'step_*.safetensors' 2>/dev/null | sed 's/.*step_\([0-9]*\)\.safetensors/\1/' | sort -n | paste -sd, -)"
    [ "$first" = 1 ] || printf ',\n'
    first=0
    printf '  "%s": {"config": "%s/config.json", "weights": "%s/model.safetensors", "recipe": "%s/recipe.json", "metrics": "%s/metrics.jsonl", "claims": "%s/claims.json", "checkpoints": [%s]}' \
      "$t" "$t" "$t" "$t" "$t" "$t" "$steps"
  done
  printf '\n}\n'
}

build() {
  mkdir -p "$DIST"
  build_native
  build_wasm
  build_site
  log "built: $DIST ($(du -sh "$DIST" | cut -f1)); wasm $(du -h "$DIST/pkg/toylens_bg.wasm" | cut -f1), CPU-only $(du -h "$DIST/pkg/toylens_cpu_bg.wasm" | cut -f1)"
}

lint_rust() {
  log "rustfmt and clippy (native and wasm32, warnings denied)"
  cargo fmt --all --check
  cargo clippy --locked -p toylens --all-targets --release "${NATIVE_FEATURES[@]}" -- -D warnings
  local features
  for features in "" webgpu; do
    cargo clippy --locked -p toylens --lib --target "$WASM_TARGET" --profile wasm --features "$features" -- -D warnings
  done
}

# CI lints inside its builds: clippy-driver compiles the toylens crate of every build (the CLI,
# both wasm engines, the tests), linting as it goes, and the dependencies build as usual.
# `cargo clippy` would check every dependency a second time, in check mode (4 of a cold CI's
# minutes). CLIPPY_ARGS is how cargo-clippy passes `-- -D warnings` to the driver.
lint_in_builds() {
  log "rustfmt; clippy runs within the builds below (warnings denied)"
  cargo fmt --all --check
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
  export RUSTC_WORKSPACE_WRAPPER
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
}

lint_js() {
  log "eslint (www/, tests/e2e/)"
  # node_modules comes from setup (npm ci): no network here.
  npx --no-install eslint .
}

test_all() {
  log "native tests"
  cargo test --release --locked -p toylens "${NATIVE_FEATURES[@]}"
  # The wasm engine is tested in the site's own build (one wasm build, no second test binary):
  # smoke.test.mjs checks every fixture's whole activation cache against TransformerLens on
  # the CPU and on WebGPU, and the engine's error replies.
  log "browser end-to-end tests"
  # Two test files at a time: one at a time left a third of the two cores idle (a file waits
  # on one wasm thread or on SwiftShader's shader compiles); with two, the suite took 399 s
  # instead of 585 s on this 2-core machine. Each file has its own server port and browser
  # profile, so files share nothing but the read-only dist/.
  TOYLENS_DIST="$DIST" node --test --test-concurrency=2 tests/e2e/
}

bench_python() {
  # The PyTorch + TransformerLens reference runs in bench/.venv (reusing a system torch when
  # there is one); without it the benchmark still runs and says the reference was skipped.
  local venv="$ROOT/bench/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv --system-site-packages "$venv" >&2 || return 1
  fi
  if ! "$venv/bin/python" -c 'import torch, transformer_lens' 2>/dev/null; then
    log "installing the PyTorch reference into bench/.venv (large download)"
    "$venv/bin/pip" install -q -r tests/fixtures/requirements.txt >&2 || return 1
  fi
  echo "$venv/bin/python"
}

bench() {
  mkdir -p bench/results
  local py args=()
  if py="$(bench_python)"; then args=(--python "$py"); else log "no PyTorch reference: skipped"; fi
  "$CARGO_TARGET_DIR/release/toylens" bench --out bench/results "${args[@]}" "$@"
  log "browser: in-page training speed, widget redraws, input edits (headless Chromium)"
  node tests/e2e/bench-browser.mjs "$DIST" bench/results/browser.json --pytorch bench/results/bench.json
}

cmd="${1:-help}"
case "$cmd" in
  setup) setup ;;
  build) setup; build ;;
  site) build_site ;;
  serve) setup; build; log "serving dist/"; exec node tests/e2e/static-server.mjs "$DIST" "${2:-8080}" ;;
  # Style first: a format or eslint failure stops CI in seconds; clippy's in the first build.
  test) setup; chromium_in_background; lint_js; lint_in_builds; build; log "waiting for chromium"; chromium_wait; test_all ;;
  lint) setup; lint_js; lint_rust ;;
  bench) shift; setup; chromium_setup; build; bench "$@" ;;
  *) echo "usage: ./build.sh setup|build|site|serve [PORT]|lint|test|bench" >&2; exit 2 ;;
esac
