// SPDX-License-Identifier: MIT OR Apache-2.0

//! MQTT: camwall's state on a broker, for home-automation hubs and anything else that speaks
//! MQTT. Topics, under the configured `prefix` (retained ones marked R):
//!
//! | topic | payload |
//! |---|---|
//! | `<prefix>/status` (R) | `online`; the broker publishes `offline` (last will) when camwall goes away |
//! | `<prefix>/camera/<id>/alarm` (R) | `ON` or `OFF` |
//! | `<prefix>/camera/<id>/state` (R) | `connecting`, `live` or `offline` |
//! | `<prefix>/selection` (R) | the id of the camera on screen |
//! | `<prefix>/selection/set` | camwall listens: a camera id makes it the user's choice |
//! | `<prefix>/events` | every alarm, switch and camera event as JSON (not retained) |
//!
//! With `discovery = true`, Home Assistant discovery configs (retained) make each camera's
//! alarm a `binary_sensor` (device class `motion`), its state a `sensor`, and the selection a
//! `select` whose options are the camera ids, all on one `camwall` device.
//!
//! The broker may go away and come back: the client reconnects every second, and on every
//! connection publishes the whole current state again, read from the launcher's state, so the
//! retained topics are right even after a broker restart that lost them.

use std::sync::Arc;
use std::time::Duration;

use gstcamwall::protocol::Message;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use serde_json::json;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{info, warn};

use crate::config::MqttConfig;
use crate::control::Control;
use crate::events;
use crate::state::AppState;

/// Longest selection command accepted (camera ids are at most 64 characters).
const MAX_COMMAND: usize = 256;

/// The topics of one camwall.
#[derive(Debug, Clone)]
pub struct Topics {
    pub prefix: String,
    discovery_prefix: String,
    node: String,
    /// The first wall, whose switches `{prefix}/selection` carries (`None`: every switch).
    pub main_wall: Option<String>,
}

impl Topics {
    pub fn new(prefix: &str, discovery_prefix: &str) -> Topics {
        Topics {
            prefix: prefix.to_string(),
            discovery_prefix: discovery_prefix.to_string(),
            node: format!("camwall_{}", prefix.replace('/', "_")),
            main_wall: None,
        }
    }
    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }
    pub fn alarm(&self, camera: &str) -> String {
        format!("{}/camera/{camera}/alarm", self.prefix)
    }
    pub fn state(&self, camera: &str) -> String {
        format!("{}/camera/{camera}/state", self.prefix)
    }
    pub fn selection(&self) -> String {
        format!("{}/selection", self.prefix)
    }
    /// Whether a camera is snoozed (`ON`/`OFF`).
    pub fn snoozed(&self, camera: &str) -> String {
        format!("{}/camera/{camera}/snoozed", self.prefix)
    }
    /// The camera on screen on one wall.
    pub fn wall_selection(&self, wall: &str) -> String {
        format!("{}/wall/{wall}/selection", self.prefix)
    }
    pub fn selection_set(&self) -> String {
        format!("{}/selection/set", self.prefix)
    }
    pub fn events(&self) -> String {
        format!("{}/events", self.prefix)
    }

    /// Home Assistant discovery: `(topic, config)` for every entity.
    pub fn discovery(&self, state: &AppState) -> Vec<(String, serde_json::Value)> {
        let device = json!({
            "identifiers": [self.node],
            "name": "camwall",
            "manufacturer": "camwall",
            "model": "camera wall",
        });
        let dp = &self.discovery_prefix;
        let node = &self.node;
        let mut out = Vec::new();
        for (_, cam) in state.cameras.all() {
            out.push((
                format!("{dp}/binary_sensor/{node}/{}_alarm/config", cam.id),
                json!({
                    "name": format!("{} alarm", cam.name),
                    "unique_id": format!("{node}_{}_alarm", cam.id),
                    "state_topic": self.alarm(&cam.id),
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "device_class": "motion",
                    "availability_topic": self.status(),
                    "device": device,
                }),
            ));
            out.push((
                format!("{dp}/sensor/{node}/{}_state/config", cam.id),
                json!({
                    "name": format!("{} state", cam.name),
                    "unique_id": format!("{node}_{}_state", cam.id),
                    "state_topic": self.state(&cam.id),
                    "device_class": "enum",
                    "options": ["connecting", "live", "offline"],
                    "availability_topic": self.status(),
                    "device": device,
                }),
            ));
        }
        out.push((
            format!("{dp}/select/{node}/selection/config"),
            json!({
                "name": "Camera on screen",
                "unique_id": format!("{node}_selection"),
                "state_topic": self.selection(),
                "command_topic": self.selection_set(),
                "options": state.cameras.all().iter().map(|(_, c)| c.id.clone()).collect::<Vec<_>>(),
                "availability_topic": self.status(),
                "device": device,
            }),
        ));
        out
    }

    /// The retained state as it is now: `(topic, payload)`.
    pub fn current_state(&self, state: &AppState) -> Vec<(String, String)> {
        let mut out = vec![(self.status(), "online".to_string())];
        for (_, cam) in state.cameras.all() {
            out.push((self.alarm(&cam.id), on_off(cam.alarm()).to_string()));
            out.push((self.state(&cam.id), cam.state().as_str().to_string()));
        }
        if let Some(camera) = state.selection().camera {
            out.push((self.selection(), camera));
        }
        for wall in &state.walls {
            if let Some(camera) = wall.selection().camera {
                out.push((self.wall_selection(&wall.id), camera));
            }
        }
        out
    }

    /// What one event changes: retained `(topic, payload)`s.
    pub fn for_event(&self, message: &Message<'_>) -> Vec<(String, String)> {
        match message {
            Message::Alarm(a) => vec![(self.alarm(&a.camera), on_off(a.active).into())],
            Message::Camera(c) => vec![(self.state(&c.camera), c.state.to_string())],
            Message::Snooze(z) => vec![(self.snoozed(&z.camera), on_off(z.until.is_some()).into())],
            Message::Switch(s) if !s.camera.is_empty() => {
                let mut out = Vec::new();
                let main = match (&s.wall, &self.main_wall) {
                    (Some(w), Some(main)) => w == main,
                    _ => true,
                };
                if main {
                    out.push((self.selection(), s.camera.to_string()));
                }
                if let Some(w) = &s.wall {
                    out.push((self.wall_selection(w), s.camera.to_string()));
                }
                out
            }
            _ => Vec::new(),
        }
    }
}

fn on_off(active: bool) -> &'static str {
    if active {
        "ON"
    } else {
        "OFF"
    }
}

/// Connects to the broker and keeps camwall's state there until the runtime stops.
pub fn start(
    state: Arc<AppState>,
    config: MqttConfig,
    control: Control,
    mut rx: broadcast::Receiver<Arc<events::Event>>,
) {
    let mut topics = Topics::new(config.prefix.get_ref(), config.discovery_prefix.get_ref());
    topics.main_wall = Some(state.main_wall().id.clone());
    let (host, port) = config.host_port();
    let mut options = MqttOptions::new(config.client_id.get_ref().clone(), host.clone(), port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_clean_session(true);
    options.set_last_will(LastWill::new(
        topics.status(),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    if let Some(user) = &config.username {
        options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    // The connection's state is a watch (never lost, latest wins); selection commands queue
    // up to a bound. The event loop never waits on the publisher: commands that do not fit
    // are dropped.
    let (link, mut linked) = watch::channel(false);
    let (commands, mut command) = mpsc::channel::<String>(64);
    let command_topic = topics.selection_set();
    let broker = format!("{host}:{port}");
    tokio::spawn(async move {
        let mut connected = false;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    info!("mqtt: connected to {broker}");
                    connected = true;
                    link.send_replace(true);
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == command_topic => {
                    if p.payload.len() > MAX_COMMAND {
                        warn!(
                            "mqtt: selection command of {} bytes ignored",
                            p.payload.len()
                        );
                        continue;
                    }
                    let camera = String::from_utf8_lossy(&p.payload).trim().to_string();
                    if commands.try_send(camera).is_err() {
                        warn!("mqtt: too many selection commands; one dropped");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        warn!("mqtt: lost {broker}: {e}; reconnecting every second");
                        connected = false;
                        link.send_replace(false);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });

    tokio::spawn(async move {
        let mut connected = false;
        loop {
            tokio::select! {
                changed = linked.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Every ConnAck is a new connection, even when no disconnection was seen.
                    connected = *linked.borrow_and_update();
                    if connected {
                        publish_all(&client, &topics, &state, config.discovery).await;
                    }
                }
                camera = command.recv() => match camera {
                    Some(camera) => {
                        let control = control.clone();
                        tokio::spawn(async move {
                            match control.select(camera.clone()).await {
                                Ok(_) => info!("mqtt: selected '{camera}'"),
                                Err(e) => warn!("mqtt: selection '{camera}': {e}"),
                            }
                        });
                    }
                    None => return,
                },
                event = rx.recv() => match event {
                    // Offline, events are not queued: the state is published whole on reconnect.
                    Ok(event) if connected => {
                        for (topic, payload) in topics.for_event(event.message()) {
                            publish(&client, topic, payload, true).await;
                        }
                        publish(&client, topics.events(), event.json().to_string(), false).await;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) if connected => {
                        publish_all(&client, &topics, &state, false).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
}

async fn publish(client: &AsyncClient, topic: String, payload: String, retain: bool) {
    if let Err(e) = client
        .publish(topic.clone(), QoS::AtLeastOnce, retain, payload)
        .await
    {
        warn!("mqtt: publishing {topic}: {e}");
    }
}

async fn publish_all(client: &AsyncClient, topics: &Topics, state: &AppState, discovery: bool) {
    if let Err(e) = client
        .subscribe(topics.selection_set(), QoS::AtLeastOnce)
        .await
    {
        warn!("mqtt: subscribing to {}: {e}", topics.selection_set());
    }
    if discovery {
        for (topic, config) in topics.discovery(state) {
            publish(client, topic, config.to_string(), true).await;
        }
    }
    for (topic, payload) in topics.current_state(state) {
        publish(client, topic, payload, true).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message<'_> {
        Message::from_json(text).unwrap()
    }

    #[test]
    fn events_map_to_retained_topics() {
        let t = Topics::new("site/wall", "homeassistant");
        assert_eq!(
            t.for_event(&msg(r#"{"type":"alarm","camera":"cam2","kind":"motion","active":true,"level":0.1,"ts":1}"#)),
            vec![("site/wall/camera/cam2/alarm".to_string(), "ON".to_string())]
        );
        assert_eq!(
            t.for_event(&msg(
                r#"{"type":"camera","camera":"cam1","state":"offline","ts":1}"#
            )),
            vec![(
                "site/wall/camera/cam1/state".to_string(),
                "offline".to_string()
            )]
        );
        assert_eq!(
            t.for_event(&msg(
                r#"{"type":"switch","camera":"cam3","previous":"cam1","reason":"user","ts":1}"#
            )),
            vec![("site/wall/selection".to_string(), "cam3".to_string())]
        );
        // A switch to nothing leaves the last selection published.
        assert!(t
            .for_event(&msg(
                r#"{"type":"switch","camera":"","previous":"cam3","reason":"pad-removed","ts":2}"#
            ))
            .is_empty());
        assert_eq!(t.node, "camwall_site_wall");
    }
}
