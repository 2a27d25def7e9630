#!/usr/bin/env bash
# Installs what is missing, then runs camwall's whole test suite: format, lint, unit and
# end-to-end tests (real RTSP cameras, pipelines, sockets on 127.0.0.1), the page in headless
# Chromium, and the meson build.
# Works on a fresh Debian 12 machine with rustup's toolchain; non-interactive under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# Each step says when it starts, so a slow one shows in the log.
step() { printf '\n==> %s (at %d s)\n' "$*" "$((SECONDS - started))" >&2; }

step "set-up"
bash scripts/setup.sh

if cargo fmt --version >/dev/null 2>&1; then
  step "format"
  cargo fmt --all -- --check
else
  echo "warning: rustfmt is not installed; format check skipped" >&2
fi

step "build (release)"
cargo build --release --locked --workspace --all-targets

if cargo clippy --version >/dev/null 2>&1; then
  step "lint"
  cargo clippy --release --locked --workspace --all-targets -- -D warnings
else
  echo "warning: clippy is not installed; lint skipped" >&2
fi

step "tests"
cargo test --release --locked --workspace

step "browser tests (headless Chromium)"
bash tests/browser/run.sh

step "soak (60 s)"
bash scripts/soak.sh --seconds 60

step "meson build and test"
rm -rf builddir
meson setup builddir --prefix="$PWD/builddir/install" >/dev/null
# The plugin from the workspace build above; its unit tests (meson's `cargo` suite) ran with the
# workspace's tests.
CAMWALL_CARGO_SCOPE="--locked --workspace --all-targets" meson compile -C builddir >/dev/null
meson test -C builddir --print-errorlogs --no-suite cargo

step "done in $((SECONDS - started)) s"
