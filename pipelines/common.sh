# Sourced by the example scripts: builds the plugin once and points GStreamer at it.
# CAMWALL_PLUGIN_DIR=<dir with libgstcamwall.so> skips the build (used by the tests).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${CAMWALL_PLUGIN_DIR:-}" ]; then
  PLUGIN_DIR="$CAMWALL_PLUGIN_DIR"
else
  PLUGIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
  (cd "$ROOT" && cargo build --release --quiet -p gst-plugin-camwall) || exit 1
fi
export GST_PLUGIN_PATH="$PLUGIN_DIR${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
