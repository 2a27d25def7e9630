#!/usr/bin/env bash
# Builds camwall and its benchmark in release, installs the peers it is compared with (ffmpeg,
# motion; Debian packages) and runs the benchmark on simulated cameras, all on 127.0.0.1. Prints
# the figures and writes BENCHMARKS.md. Not part of the test suite.
#
#   scripts/bench.sh                         # everything, about 15 minutes
#   scripts/bench.sh --quick                 # about 2 minutes
#   scripts/bench.sh --only switch,latency   # some sections (see --help)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh ffmpeg motion
cargo build --release --locked -p camwall --bin camwall -p camwall-tests --bin camwall-bench >&2
target="${CARGO_TARGET_DIR:-target}/release"
exec "$target/camwall-bench" --camwall "$target/camwall" --out BENCHMARKS.md \
  --command "scripts/bench.sh${*:+ $*}" "$@"
