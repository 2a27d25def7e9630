#!/usr/bin/env bash
# A moving test pattern to the browser: open http://127.0.0.1:${PORT:-8080}/ once it runs.
# Also served: ws://127.0.0.1:PORT/ws (base64 frames), /snapshot.jpg and /mjpeg.
set -euo pipefail
. "$(dirname "$0")/common.sh"
PORT="${PORT:-8080}"
echo "viewer: http://127.0.0.1:$PORT/   mjpeg: http://127.0.0.1:$PORT/mjpeg"
exec gst-launch-1.0 -e \
  videotestsrc is-live=true pattern=ball \
  ! video/x-raw,width=1280,height=720,framerate=25/1 \
  ! timeoverlay \
  ! jpegenc quality=75 \
  ! taginject tags="title=testsrc" \
  ! mjpegwssink port="$PORT"
