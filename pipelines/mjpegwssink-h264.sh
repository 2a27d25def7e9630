#!/usr/bin/env bash
# H.264 to the browser, the way camwall sends a wall: a low-latency encoder (no B-frames, one
# reference frame, SPS and PPS before every keyframe) into mjpegwssink, which takes
# video/x-h264 (byte-stream, one access unit a buffer) as well as image/jpeg. Each viewer
# starts at a keyframe: the frames since the last one when there are at most keyframe-replay
# (12), else a keyframe the sink asks the encoder for at once; frames go out as binary messages
# (see gstcamwall::protocol::binary). Open http://127.0.0.1:${PORT:-8080}/ in a browser with
# WebCodecs (Chromium, Chrome, Edge, Safari) once it runs.
set -euo pipefail
. "$(dirname "$0")/common.sh"
PORT="${PORT:-8080}"
echo "viewer: http://127.0.0.1:$PORT/   WebSocket: ws://127.0.0.1:$PORT/ws (binary H.264)"
exec gst-launch-1.0 -e \
  videotestsrc is-live=true pattern=ball \
  ! video/x-raw,width=1280,height=720,framerate=25/1 \
  ! timeoverlay \
  ! x264enc tune=zerolatency speed-preset=ultrafast bframes=0 ref=1 key-int-max=250 \
      threads=1 sliced-threads=false bitrate=1500 \
  ! video/x-h264,profile=constrained-baseline \
  ! h264parse config-interval=-1 \
  ! video/x-h264,stream-format=byte-stream,alignment=au \
  ! taginject tags="title=testsrc" \
  ! mjpegwssink port="$PORT" keyframe-replay=12
