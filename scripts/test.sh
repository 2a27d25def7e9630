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

# Clippy checks every dependency again (cargo's check units are not its build units), which
# took as long as the tests. It runs beside the build and the tests on the CPU they leave idle
# (SCHED_IDLE, lowest I/O class), in a target directory of its own so that neither waits on
# the other's lock; its result is awaited before the end.
lint_pid=
waiting_pid=
lint_log=target/lint/clippy.log
# A step that fails stops the run: what still runs in the background stops with it.
stop_background() {
  local pid
  for pid in $lint_pid $waiting_pid; do kill "$pid" 2>/dev/null || true; done
}
trap stop_background EXIT
if cargo clippy --version >/dev/null 2>&1; then
  step "lint (started, on idle CPU)"
  mkdir -p target/lint
  CARGO_TARGET_DIR=target/lint ionice -c 3 chrt --idle 0 \
    cargo clippy --release --locked --workspace --all-targets -- -D warnings \
    >"$lint_log" 2>&1 &
  lint_pid=$!
else
  echo "warning: clippy is not installed; lint skipped" >&2
fi

step "build (release)"
cargo build --release --locked --workspace --all-targets

step "tests"
# The two longest end-to-end tests mostly wait: on camera servers kept down for up to 120 s
# (field_faults) and on network cuts (netem). They run beside the others; their output is
# shown when they end. Every run selects the whole workspace, as the build did, so that cargo
# reuses what the build compiled (a narrower selection unifies features differently and
# compiles the crates again); the test files are found, so a new one is never left out.
waiting=(field_faults netem)
others=()
for file in */tests/*.rs; do
  name=$(basename "$file" .rs)
  [[ " ${waiting[*]} " == *" $name "* ]] || others+=(--test "$name")
done
waiting_log=target/waiting-tests.log
cargo test --release --locked --workspace "${waiting[@]/#/--test=}" >"$waiting_log" 2>&1 &
waiting_pid=$!
cargo test --release --locked --workspace --lib --bins "${others[@]}"
cargo test --release --locked --workspace --doc
waiting_status=0
wait "$waiting_pid" || waiting_status=$?
waiting_pid=
cat "$waiting_log" >&2
if [ "$waiting_status" -ne 0 ]; then
  echo "tests ${waiting[*]} failed (exit $waiting_status)" >&2
  exit 1
fi

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

if [ -n "$lint_pid" ]; then
  step "lint (waiting for it)"
  lint_status=0
  wait "$lint_pid" || lint_status=$?
  lint_pid=
  if [ "$lint_status" -ne 0 ]; then
    cat "$lint_log" >&2
    echo "lint failed (exit $lint_status)" >&2
    exit 1
  fi
  echo "lint: clean ($lint_log)" >&2
fi

step "done in $((SECONDS - started)) s"
