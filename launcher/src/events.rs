// SPDX-License-Identifier: MIT OR Apache-2.0

//! The launcher's one event stream: alarms, switches and camera states as typed messages
//! (`gstcamwall::protocol::Message`, the same types the viewers' WebSocket carries). Each event
//! is serialised to JSON once, when it is published, for the edges that send text (viewers, the
//! event stream, history, MQTT's event topic); the others read its fields.

use std::sync::Arc;

use gstcamwall::protocol::Message;
use tokio::sync::broadcast::{self, error::RecvError};

/// One event, with its JSON text.
#[derive(Debug)]
pub struct Event {
    message: Message<'static>,
    json: Arc<str>,
}

impl Event {
    pub fn new(message: Message<'_>) -> Event {
        let json = Arc::from(message.to_json());
        Event {
            message: message.into_owned(),
            json,
        }
    }

    pub fn message(&self) -> &Message<'static> {
        &self.message
    }

    /// The JSON text of the message.
    pub fn json(&self) -> &Arc<str> {
        &self.json
    }

    /// `alarm`, `switch` or `camera`.
    pub fn kind(&self) -> &'static str {
        self.message.kind()
    }
}

/// Events waiting for a slow reader before it skips the oldest.
const CAPACITY: usize = 256;

/// Where events are published and subscribed to.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn send(&self, event: Arc<Event>) {
        // No subscriber is not an error: nobody is listening.
        let _ = self.tx.send(event);
    }
}

/// Calls `f` with each event until the stream closes. A reader that falls behind skips what
/// it missed, with a warning: the events are never worth holding the launcher's memory for.
pub async fn each_event<F, Fut>(
    what: &'static str,
    mut rx: broadcast::Receiver<Arc<Event>>,
    mut f: F,
) where
    F: FnMut(Arc<Event>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        match rx.recv().await {
            Ok(event) => f(event).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{what}: fell behind and skipped {n} events")
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstcamwall::protocol::Switch;

    #[tokio::test]
    async fn an_event_is_typed_for_readers_and_text_once_for_the_wire() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        let camera = String::from("cam2");
        bus.send(Arc::new(Event::new(Message::Switch(Switch {
            camera: camera.as_str().into(),
            previous: "cam1".into(),
            reason: "user".into(),
            ts: 7,
            user_choice: Some("cam2".into()),
            wall: None,
            by: None,
        }))));
        drop(camera);
        let got = rx.recv().await.unwrap();
        assert_eq!(got.kind(), "switch");
        let Message::Switch(s) = got.message() else {
            panic!("a switch")
        };
        assert_eq!((s.camera.as_ref(), s.ts), ("cam2", 7));
        assert_eq!(Message::from_json(got.json()).unwrap(), *got.message());
    }
}
