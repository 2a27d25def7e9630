// SPDX-License-Identifier: MIT OR Apache-2.0

//! The handle that asks the pipeline's supervisor to do things (select a camera, rebuild),
//! made before any of its users: the server, MQTT and the supervisor itself each get it at
//! their start, so nothing has to be tied together afterwards.
//!
//! The supervisor's thread waits on the running pipeline's bus (it has no other way to sleep
//! until either a bus message or a command comes), so every command also posts a wake-up
//! message on that bus.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::state::Selection;
use gstcamwall::lock;

/// Why a selection was refused.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("no camera '{0}'")]
    UnknownCamera(String),
    #[error("no wall '{0}'")]
    UnknownWall(String),
    #[error("the pipeline is not running")]
    NotRunning,
}

/// What an acknowledge did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Acked {
    /// Whether there was an unacknowledged alarm of the camera on the wall to take.
    pub acknowledged: bool,
    /// The wall's selection afterwards.
    pub selection: Selection,
}

/// What the supervisor is asked to do.
pub(crate) enum Command {
    Select {
        /// Index into `AppState::walls`.
        wall: usize,
        camera: String,
        /// Who chose (for the acknowledge a choice during an alarm makes).
        by: Option<String>,
        reply: tokio::sync::oneshot::Sender<Result<Selection, SelectError>>,
    },
    /// Acknowledge `camera`'s alarm on wall `wall` (`None`: the alarm on screen).
    Ack {
        wall: usize,
        camera: Option<String>,
        by: Option<String>,
        reply: tokio::sync::oneshot::Sender<Result<Acked, SelectError>>,
    },
    /// Snooze `camera` until `until` (unix ms), or wake it (`None`).
    Snooze {
        camera: String,
        until: Option<u64>,
        by: Option<String>,
        reply: tokio::sync::oneshot::Sender<Result<(), SelectError>>,
    },
    /// Make the running cameras and walls those of a changed configuration.
    Apply {
        config: Box<crate::config::Config>,
        reply: tokio::sync::oneshot::Sender<crate::supervisor::Applied>,
    },
    /// Rebuild the whole pipeline (as after a fault).
    Rebuild,
    /// Look an element of the running pipeline up by name.
    Element {
        name: String,
        reply: mpsc::Sender<Option<gst::Element>>,
    },
    Shutdown,
}

/// Name of the application message that wakes the supervisor from its wait on the bus.
pub(crate) const WAKE: &str = "camwall-supervisor-wake";

/// The bus the supervisor waits on, published by it while a pipeline runs.
pub(crate) type PublishedBus = Arc<Mutex<Option<gst::Bus>>>;

/// The sending side: cheap to clone, one per user.
#[derive(Clone)]
pub struct Control {
    tx: Sender<Command>,
    bus: PublishedBus,
}

/// The receiving side, handed to the supervisor when it starts.
pub struct Requests {
    pub(crate) rx: Receiver<Command>,
    pub(crate) bus: PublishedBus,
}

/// A new control handle and the requests it sends.
pub fn channel() -> (Control, Requests) {
    let (tx, rx) = mpsc::channel();
    let bus = PublishedBus::default();
    (
        Control {
            tx,
            bus: bus.clone(),
        },
        Requests { rx, bus },
    )
}

impl Control {
    fn send(&self, command: Command) -> Result<(), mpsc::SendError<Command>> {
        self.tx.send(command)?;
        // The thread publishes the bus before it looks for commands, so a command sent while
        // no bus is published is seen without a wake-up.
        let bus = lock(&self.bus).clone();
        if let Some(bus) = bus {
            let _ = bus.post(gst::message::Application::new(gst::Structure::new_empty(
                WAKE,
            )));
        }
        Ok(())
    }

    /// Makes `camera` the user's choice on the first wall. Answers with the selection that
    /// results.
    pub async fn select(&self, camera: String) -> Result<Selection, SelectError> {
        self.select_on(0, camera, None).await
    }

    /// Sends the command `make` builds around a reply channel, and waits for the answer.
    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, SelectError>>) -> Command,
    ) -> Result<T, SelectError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(make(reply))
            .map_err(|_| SelectError::NotRunning)?;
        answer.await.map_err(|_| SelectError::NotRunning)?
    }

    /// Makes `camera` the user's choice on wall `wall` (its index in `AppState::walls`), for
    /// `by`. A choice while an alarm holds the wall acknowledges that alarm too.
    pub async fn select_on(
        &self,
        wall: usize,
        camera: String,
        by: Option<String>,
    ) -> Result<Selection, SelectError> {
        self.ask(|reply| Command::Select {
            wall,
            camera,
            by,
            reply,
        })
        .await
    }

    /// Acknowledges `camera`'s alarm on wall `wall` (`None`: the one on screen), for `by`.
    pub async fn ack(
        &self,
        wall: usize,
        camera: Option<String>,
        by: Option<String>,
    ) -> Result<Acked, SelectError> {
        self.ask(|reply| Command::Ack {
            wall,
            camera,
            by,
            reply,
        })
        .await
    }

    /// Snoozes `camera` until `until` (unix ms), or wakes it (`None`), for `by`.
    pub async fn snooze(
        &self,
        camera: String,
        until: Option<u64>,
        by: Option<String>,
    ) -> Result<(), SelectError> {
        self.ask(|reply| Command::Snooze {
            camera,
            until,
            by,
            reply,
        })
        .await
    }

    /// Applies a changed configuration's cameras and walls while everything runs: only what
    /// changed is built or taken down. Answers what was done.
    pub async fn apply(
        &self,
        config: crate::config::Config,
    ) -> Result<crate::supervisor::Applied, SelectError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Command::Apply {
            config: Box::new(config),
            reply,
        })
        .map_err(|_| SelectError::NotRunning)?;
        answer.await.map_err(|_| SelectError::NotRunning)
    }

    /// Tears the pipeline down and builds it again; viewers stay connected.
    pub fn rebuild(&self) {
        let _ = self.send(Command::Rebuild);
    }

    /// The element called `name` in the running pipeline (e.g. `sel`, `sink`, or a camera's
    /// `src0`), or `None` when there is none or the pipeline is not running. For tests and
    /// diagnostics: with it a test can post an element error exactly as a failing element
    /// would, without any fault switch in the production code.
    pub fn element(&self, name: &str) -> Option<gst::Element> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::Element {
            name: name.to_string(),
            reply,
        })
        .ok()?;
        answer.recv_timeout(Duration::from_secs(5)).ok().flatten()
    }

    /// Asks the supervisor to stop the pipeline and its thread.
    pub(crate) fn shutdown(&self) {
        let _ = self.send(Command::Shutdown);
    }
}
