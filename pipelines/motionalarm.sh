#!/usr/bin/env bash
# motionalarm on a synthetic camera: a ball bouncing for 10 s, alarms printed as they happen.
#
#   pipelines/motionalarm.sh                  # the ball: an alarm starts, ends at EOS
#   PATTERN=smpte pipelines/motionalarm.sh    # a still picture: no alarm at all
#   ZONES='ignore:0,0,1,1' pipelines/motionalarm.sh   # everything ignored: no alarm
#
# Every alarm start and end shows up as a `camwall-alarm` element message.
. "$(dirname "$0")/common.sh"

zones=()
if [ -n "${ZONES:-}" ]; then zones=(zones="$ZONES"); fi

gst-launch-1.0 -m \
  videotestsrc pattern="${PATTERN:-ball}" is-live=true num-buffers="${FRAMES:-250}" \
  ! video/x-raw,format=I420,width=640,height=480,framerate=25/1 \
  ! motionalarm name=cam1 camera-id=cam1 hold-ms=1000 "${zones[@]}" \
  ! fakesink \
  | grep --line-buffered -E 'camwall-alarm|EOS'
