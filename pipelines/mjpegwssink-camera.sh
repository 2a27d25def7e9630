#!/usr/bin/env bash
# One camera to the browser: ./mjpegwssink-camera.sh rtsp://user:pass@camera/stream [camera-id]
# Any URI uridecodebin plays works (rtsp://, http://, file://). Open http://127.0.0.1:${PORT:-8080}/.
# Set TOKEN to require ?token=... from viewers.
set -euo pipefail
. "$(dirname "$0")/common.sh"
URI="${1:?usage: $0 <camera-uri> [camera-id]}"
CAMERA="${2:-cam1}"
PORT="${PORT:-8080}"
TOKEN_PROP=()
if [ -n "${TOKEN:-}" ]; then TOKEN_PROP=(token="$TOKEN"); fi
echo "viewer: http://127.0.0.1:$PORT/${TOKEN:+?token=$TOKEN}"
exec gst-launch-1.0 -e \
  uridecodebin uri="$URI" \
  ! videoconvert ! videoscale ! videorate drop-only=true \
  ! video/x-raw,width=1280,height=720,framerate=25/1 \
  ! jpegenc quality=75 \
  ! taginject tags="title=$CAMERA" \
  ! mjpegwssink port="$PORT" "${TOKEN_PROP[@]}"
