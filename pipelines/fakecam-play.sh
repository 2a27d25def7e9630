#!/usr/bin/env bash
# Plays one fakecam camera through rtspsrc with latency=0 and prints the frame rate.
#
#   pipelines/fakecam-play.sh [rtsp://127.0.0.1:8554/cam1] [video sink]
#
# Start the cameras first: cargo run --release -p camwall -- fakecam
# With a display, pass autovideosink as the sink to watch it.
. "$(dirname "$0")/common.sh"
URL="${1:-rtsp://127.0.0.1:8554/cam1}"
SINK="${2:-fakesink}"
exec gst-launch-1.0 -e \
  rtspsrc location="$URL" latency=0 \
  ! rtph264depay ! h264parse ! avdec_h264 ! videoconvert \
  ! fpsdisplaysink video-sink="$SINK" text-overlay=false sync=false -v
