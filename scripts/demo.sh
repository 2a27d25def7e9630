#!/usr/bin/env bash
# Installs what is missing, builds camwall in release mode and runs it on its embedded demo
# cameras. Open http://127.0.0.1:8080/ in a browser. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p camwall -p gst-plugin-camwall
exec ./target/release/camwall demo "$@"
