// SPDX-License-Identifier: MIT OR Apache-2.0

//! When each frame left the camera: the camera side of camera-to-viewer latency.
//!
//! The painter records the stamp it burnt into each frame under the frame's PTS; a probe on the
//! payloader's source pad records, for the first RTP packet of each PTS, the moment it was handed
//! to the RTSP server's session (there is no hold after it: see [`media`](super::media)). A client
//! that reads a frame's stamp can then split its latency into the camera's part (stamp -> sent)
//! and its own (sent -> received), on the same clock.

use std::collections::VecDeque;

use serde::Serialize;

/// Frames remembered, painted and sent: 20 s at 25 fps.
const KEEP: usize = 500;

/// One frame's way out of the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// The stamp painted into the frame (Unix ms).
    pub stamp_ms: u64,
    /// When its first RTP packet left the payloader (Unix ms).
    pub sent_ms: u64,
}

/// The newest frames painted (by PTS) and sent (by stamp) of one camera.
#[derive(Debug, Default)]
pub struct SentLog {
    painted: VecDeque<(u64, u64)>,
    sent: VecDeque<Sent>,
    last_pts: Option<u64>,
}

impl SentLog {
    /// The frame with this PTS was stamped `stamp_ms`.
    pub fn painted(&mut self, pts: u64, stamp_ms: u64) {
        if self.painted.len() == KEEP {
            self.painted.pop_front();
        }
        self.painted.push_back((pts, stamp_ms));
    }

    /// A packet of the frame with this PTS left at `now_ms`; only a frame's first one counts.
    pub fn packet(&mut self, pts: u64, now_ms: u64) {
        if self.last_pts == Some(pts) {
            return;
        }
        self.last_pts = Some(pts);
        let Some(&(_, stamp_ms)) = self.painted.iter().rev().find(|(p, _)| *p == pts) else {
            return;
        };
        if self.sent.len() == KEEP {
            self.sent.pop_front();
        }
        self.sent.push_back(Sent {
            stamp_ms,
            sent_ms: now_ms,
        });
    }

    /// The frames sent, oldest first.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_sent_once_under_its_stamp() {
        let mut log = SentLog::default();
        log.painted(0, 1000);
        log.painted(40, 1040);
        log.packet(0, 1003);
        log.packet(0, 1004);
        log.packet(40, 1045);
        log.packet(80, 1090); // never painted: not counted
        assert_eq!(
            log.sent(),
            vec![
                Sent {
                    stamp_ms: 1000,
                    sent_ms: 1003
                },
                Sent {
                    stamp_ms: 1040,
                    sent_ms: 1045
                }
            ]
        );
    }

    #[test]
    fn it_keeps_the_newest() {
        let mut log = SentLog::default();
        for i in 0..(KEEP as u64 + 10) {
            log.painted(i, i);
            log.packet(i, i + 1);
        }
        let sent = log.sent();
        assert_eq!(sent.len(), KEEP);
        assert_eq!(sent[0].stamp_ms, 10);
    }
}
