#!/usr/bin/env bash
# camwall's page in real headless Chromium (Debian's chromium package, driven by playwright-core):
# installs what is missing (chromium; node and npm from apt only when there is no node at all),
# installs the npm packages from package-lock.json when they are absent or stale, builds the
# camwall binary when it is missing or older than the launcher's sources, type-checks the page's
# modules with tsc, and runs the tests.
# Non-interactive (CI=true, no stdin). Screenshots and figures land in tests/artifacts/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

extra=(chromium)
if ! command -v node >/dev/null 2>&1; then extra+=(nodejs npm); fi
bash scripts/setup.sh "${extra[@]}"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  echo "browser tests: node $(node --version) is too old; 18 or newer is needed" >&2
  exit 1
fi

# The binary under test: $CAMWALL_BIN, else the release build in $CARGO_TARGET_DIR (or target/).
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
if [ -z "${CAMWALL_BIN:-}" ]; then
  CAMWALL_BIN="$target_dir/release/camwall"
  # The page is compiled into the binary (and the plugin linked in): a binary older than the
  # sources would test an old page.
  if [ ! -x "$CAMWALL_BIN" ] ||
    [ -n "$(find launcher gst-plugins/src Cargo.lock -newer "$CAMWALL_BIN" -type f -print -quit)" ]; then
    cargo build --release --locked -p camwall
  fi
fi
export CAMWALL_BIN

cd "$here"
# npm ci when node_modules is absent or was installed from another package-lock.json.
if ! cmp -s package-lock.json node_modules/.camwall-package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.camwall-package-lock.json
fi

# The page's ES modules and the player they share with mjpegwssink, type-checked from their
# JSDoc types (which mirror gst-plugins/src/protocol.rs): nothing is built or bundled.
node_modules/.bin/tsc --noEmit -p tsconfig.json

mkdir -p "$root/tests/artifacts"
# Bounded: every wait in the tests has its own deadline; this is the backstop.
timeout --kill-after=10 600 node --test --test-reporter=spec stamp.test.mjs page.test.mjs operator.test.mjs video.test.mjs cameras.test.mjs long-alarm.test.mjs
