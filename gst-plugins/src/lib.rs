// SPDX-License-Identifier: MIT OR Apache-2.0
#![allow(clippy::non_send_fields_in_send_ty)]

//! camwall's GStreamer elements.
//!
//! - `motionalarm`: watches one camera for motion and raises and clears alarms.
//! - `alarmselector`: forwards one camera, chosen by the user unless an alarm overrides.
//! - `mjpegwssink`: pushes JPEG frames to browsers over WebSocket.
//!
//! The crate builds both the `libgstcamwall.so` plugin that `gst-launch-1.0` loads and an rlib:
//! applications and tests call [`plugin_register_static`] instead of setting a plugin path.

pub mod alarmselector;
pub mod http;
pub mod messages;
pub mod mjpegwssink;
pub mod motionalarm;
pub mod protocol;

/// Locks a mutex, recovering the data if a panicking thread poisoned it: a panic in a pad
/// function becomes an element error, and the element must stay usable, for shutdown at least.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    motionalarm::register(plugin)?;
    alarmselector::register(plugin)?;
    mjpegwssink::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    camwall,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
