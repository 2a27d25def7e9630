#!/usr/bin/env bash
# Soak test: camwall on simulated cameras that go down and come back while viewers churn.
# Prints resident memory over time, frames painted vs delivered per camera and recoveries;
# fails when memory grows or a camera does not recover.
#   scripts/soak.sh                # 30 minutes
#   scripts/soak.sh --seconds 60   # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
# The same selection as the test suite's build, so the features match and nothing is rebuilt.
cargo build --release --locked --workspace --all-targets
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/camwall-soak" "$@"
