# Sourced by the example scripts: builds the plugin once and points GStreamer at it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ ! -f "$TARGET_DIR/release/libgstcamwall.so" ] || [ -z "${CAMWALL_NO_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet -p gst-plugin-camwall) || exit 1
fi
export GST_PLUGIN_PATH="$TARGET_DIR/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
