#!/usr/bin/env bash
# Three live test cameras into alarmselector; it switches by itself:
# - "lobby" has the highest priority: with no user choice it is shown first;
# - "yard" (moving ball) goes through motionalarm: its alarm takes the screen;
# - "lobby" ends after 6 s and is passed over (reason "stalled"); "gate", next in priority,
#   replaces it.
# Watch the camwall-selector-switched messages printed by -m.
# Add sink_1::snoozed=true and yard's alarms are still posted but take no screen; add
# keep-stalled-choice=true (with sel's selected-pad set by an application) and a dead choice
# stays on screen instead of being stood in for. An application acknowledges the alarm on
# screen with the action signal: sel.emit_by_name::<bool>("acknowledge", &[&None::<gst::Pad>]).
#
#   pipelines/alarmselector-demo.sh                 # window (autovideosink)
#   SINK=fakesink pipelines/alarmselector-demo.sh   # headless
set -euo pipefail
. "$(dirname "$0")/common.sh"

SINK=${SINK:-"videoconvert ! autovideosink"}
CAPS="video/x-raw,width=320,height=240,framerate=25/1"

if gst-inspect-1.0 motionalarm >/dev/null 2>&1; then
  MOTION="videoconvert ! motionalarm !"
else
  echo "motionalarm is not built in this tree: yard raises no alarm, only the stall switch shows" >&2
  MOTION=""
fi

# shellcheck disable=SC2086 # SINK and MOTION are pipeline fragments
exec gst-launch-1.0 -m \
  alarmselector name=sel alarm-hold-ms=2000 stall-timeout-ms=1000 \
    sink_0::camera-id=lobby sink_0::priority=10 sink_1::camera-id=yard \
    sink_2::camera-id=gate sink_2::priority=5 \
    ! $SINK \
  videotestsrc is-live=true pattern=smpte num-buffers=150 ! $CAPS ! sel.sink_0 \
  videotestsrc is-live=true pattern=ball ! $CAPS ! $MOTION sel.sink_1 \
  videotestsrc is-live=true pattern=gradient ! video/x-raw,width=160,height=120,framerate=25/1 ! sel.sink_2
