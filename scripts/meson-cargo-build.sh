#!/usr/bin/env bash
# meson's build step for the plugin: cargo builds it, meson gets the .so at its output path.
set -euo pipefail
src="$1"
out="$2"
target_dir="${CARGO_TARGET_DIR:-$src/target}"
cargo build --release --quiet -p gst-plugin-camwall --manifest-path "$src/Cargo.toml"
cp -f "$target_dir/release/libgstcamwall.so" "$out"
