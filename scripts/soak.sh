#!/usr/bin/env bash
# Soak test: camwall on simulated cameras that go down and come back while viewers churn.
# Prints resident memory over time, frames painted vs delivered per camera and recoveries;
# fails when memory grows or a camera does not recover.
#   scripts/soak.sh                # 30 minutes
#   scripts/soak.sh --seconds 60   # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p camwall-tests --bin camwall-soak
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/camwall-soak" "$@"
