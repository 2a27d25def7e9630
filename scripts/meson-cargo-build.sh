#!/usr/bin/env bash
# meson's build step for the plugin: cargo builds it, meson gets the .so at its output path.
set -euo pipefail
src="$1"
out="$2"
target_dir="${CARGO_TARGET_DIR:-$src/target}"
# CAMWALL_CARGO_SCOPE: what cargo builds (by default the plugin alone). The test suite sets it to
# the workspace build it has just made, whose plugin is then up to date: the plugin alone unifies
# its dependencies' features differently and would be built again.
read -r -a scope <<<"${CAMWALL_CARGO_SCOPE:--p gst-plugin-camwall}"
cargo build --release --quiet "${scope[@]}" --manifest-path "$src/Cargo.toml"
cp -f "$target_dir/release/libgstcamwall.so" "$out"
