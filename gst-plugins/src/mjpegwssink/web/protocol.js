// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The messages of camwall's WebSocket, as JSDoc types: they mirror `gstcamwall::protocol`
// (gst-plugins/src/protocol.rs), the one module that defines them, and the reader of its binary
// frame messages.

/**
 * One JPEG frame; `jpeg` is the base64 of the JPEG bytes.
 * @typedef {object} FrameMessage
 * @property {'frame'} type
 * @property {string | null} camera  the camera id from the stream's `title` tag, or null
 * @property {number} seq            sequence number in the sink, from 1 (a gap: frames skipped)
 * @property {number} ts             unix ms when the sink received the frame
 * @property {number} [width]
 * @property {number} [height]
 * @property {string} jpeg
 */

/**
 * An alarm started or ended on a camera.
 * @typedef {object} AlarmMessage
 * @property {'alarm'} type
 * @property {string} camera
 * @property {string} kind
 * @property {boolean} active
 * @property {number} level
 * @property {number} ts
 * @property {boolean} [snoozed]  the camera is snoozed: known and sent out, but it takes no wall
 */

/**
 * The camera on screen changed.
 * @typedef {object} SwitchMessage
 * @property {'switch'} type
 * @property {string} camera    empty when nothing is shown
 * @property {string} previous
 * @property {'user' | 'alarm' | 'alarm-ended' | 'stalled' | 'pad-removed' | 'acknowledged'} reason
 * @property {number} ts
 * @property {string} [user_choice]  the user's choice, when the sender knows it (camwall does)
 * @property {string} [wall]  the wall that switched (camwall's launcher; a sink on its own leaves it out)
 * @property {string} [by]  who chose, for a switch to a user's choice (camwall, with users)
 */

/**
 * Why a camera is down.
 * @typedef {object} CameraError
 * @property {'auth' | 'not_found' | 'refused' | 'unreachable' | 'timeout' | 'unsupported' | 'stalled' | 'protocol'} kind
 * @property {string} message
 * @property {number} since     unix ms when this failure was first seen in the outage
 */

/**
 * A camera's connection state changed, or why it is down.
 * @typedef {object} CameraMessage
 * @property {'camera'} type
 * @property {string} camera
 * @property {'connecting' | 'live' | 'offline'} state
 * @property {number} ts
 * @property {number | null} [offline_since]
 * @property {CameraError | null} [error]
 */

/**
 * Someone acknowledged a camera's alarm on a wall.
 * @typedef {object} AckMessage
 * @property {'ack'} type
 * @property {string} camera
 * @property {string} wall
 * @property {string | null} by  who (null when the server has no users)
 * @property {number} ts
 */

/**
 * A camera was snoozed until `until` (unix ms), or woken (`until` null).
 * @typedef {object} SnoozeMessage
 * @property {'snooze'} type
 * @property {string} camera
 * @property {number | null} until
 * @property {string | null} by
 * @property {number} ts
 */

/**
 * Cameras were added, changed or removed while camwall runs; walls' camera lists changed.
 * @typedef {object} CamerasMessage
 * @property {'cameras'} type
 * @property {string[]} added
 * @property {string[]} changed
 * @property {string[]} removed
 * @property {string[]} walls
 * @property {number} ts
 */

/** @typedef {FrameMessage | AlarmMessage | SwitchMessage | CameraMessage | AckMessage | SnoozeMessage | CamerasMessage} Message */

export {};

/**
 * A binary frame message (`gstcamwall::protocol::binary`): its header and the frame's bytes.
 * @typedef {object} BinaryFrame
 * @property {'jpeg' | 'h264'} kind
 * @property {boolean} keyframe   a decoder can start here (every JPEG)
 * @property {number} seq
 * @property {number} ts          unix ms when the sink received the frame
 * @property {number} width       0: unknown
 * @property {number} height
 * @property {string | null} camera
 * @property {ArrayBuffer} data   the JPEG, or the H.264 access unit (Annex B)
 */

const BINARY_HEADER = 24;

/**
 * Reads a binary frame message; null when it is not one.
 * @param {ArrayBuffer} buf
 * @returns {BinaryFrame | null}
 */
export function parseBinary(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < BINARY_HEADER) return null;
  const v = new DataView(buf);
  if (v.getUint8(0) !== 0xca) return null;
  const k = v.getUint8(1);
  if (k !== 1 && k !== 2) return null;
  const n = v.getUint8(3);
  if (buf.byteLength < BINARY_HEADER + n) return null;
  let camera = null;
  try { camera = n ? new TextDecoder().decode(new Uint8Array(buf, BINARY_HEADER, n)) : null; } catch (e) { return null; }
  return {
    kind: k === 1 ? 'jpeg' : 'h264',
    keyframe: (v.getUint8(2) & 1) === 1,
    seq: Number(v.getBigUint64(4)),
    ts: Number(v.getBigUint64(12)),
    width: v.getUint16(20),
    height: v.getUint16(22),
    camera,
    data: buf.slice(BINARY_HEADER + n),
  };
}
