// SPDX-License-Identifier: MIT OR Apache-2.0

//! The camwall launcher as a library: the simulated cameras, the configuration, the pipeline and
//! the HTTP server that the `camwall` binary ties together.

pub mod app;
pub mod config;
pub mod control;
pub mod demo;
pub mod events;
pub mod fakecam;
pub mod faults;
pub mod framestamp;
pub mod health;
pub mod integrations;
pub mod pipeline;
pub mod probe;
pub mod ratelimit;
pub mod sched;
pub mod server;
pub mod sessions;
pub mod state;
pub mod supervisor;
pub mod taps;

pub use app::{init_gst, App};
