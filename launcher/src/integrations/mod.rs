// SPDX-License-Identifier: MIT OR Apache-2.0

//! What carries camwall's alarms out of the box: alarm snapshots and on-demand camera
//! snapshots, the event history, MQTT (with Home Assistant discovery), webhooks and Prometheus
//! metrics.
//!
//! Every part listens to the launcher's event stream ([`AppState::subscribe_events`]) on its
//! own task, so none of them touches the pipeline or can hold the video path back; the only
//! thing the pipeline gives them directly is each camera's newest decoded frame, kept as a
//! [`gst::Sample`] reference by [`CameraTaps`] (no copy, no encoding until someone asks).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/cameras/{id}/snapshot.jpg` | that camera's newest frame as JPEG, encoded on demand |
//! | `GET /api/events/history?limit=N&type=alarm,ack` | the latest events (of those types), oldest first |
//! | `GET /api/events/picture.jpg?camera=ID&ts=MS` | the small picture kept for that camera's event (alarm start, acknowledge, snooze, offline) |
//! | `GET /metrics` | Prometheus text format |

pub mod history;
pub mod metrics;
pub mod mqtt;
pub mod pictures;
pub mod routes;
pub mod snapshots;
pub mod webhooks;

use std::sync::Arc;

use crate::control::Control;
use crate::state::AppState;

/// The running integrations, shared by their tasks and the routes.
pub struct Integrations {
    pub history: Arc<history::History>,
    pub metrics: Arc<metrics::Metrics>,
    pub pictures: Arc<pictures::EventPictures>,
}

impl Integrations {
    /// Starts every configured integration on the current Tokio runtime. Call it before the
    /// supervisor starts, so that no event is missed; `control` carries MQTT's selections.
    pub fn start(state: &Arc<AppState>, control: &Control) -> anyhow::Result<Arc<Integrations>> {
        let config = &state.config;
        let history = Arc::new(history::History::open(&config.history)?);
        let metrics = Arc::new(metrics::Metrics::new(state.clone()));

        tokio::spawn(history::record(history.clone(), state.subscribe_events()));
        tokio::spawn(metrics::watch(
            metrics.clone(),
            state.clone(),
            state.subscribe_events(),
        ));
        let store = config.snapshots.dir.as_ref().map(|dir| {
            snapshots::SnapshotStore::new(
                dir.get_ref().into(),
                *config.snapshots.max_count.get_ref(),
                *config.snapshots.max_bytes.get_ref(),
            )
        });
        if let Some(store) = &store {
            tokio::spawn(snapshots::on_alarms(
                state.clone(),
                store.clone(),
                state.subscribe_events(),
            ));
        }
        let pictures = Arc::new(pictures::EventPictures::new(store));
        tokio::spawn(pictures::record(
            pictures.clone(),
            state.clone(),
            state.subscribe_events(),
        ));
        if let Some(mqtt) = &config.mqtt {
            mqtt::start(
                state.clone(),
                mqtt.clone(),
                control.clone(),
                state.subscribe_events(),
            );
        }
        for hook in &config.webhooks {
            webhooks::start(
                state.clone(),
                metrics.clone(),
                hook.clone(),
                state.subscribe_events(),
            );
        }
        Ok(Arc::new(Integrations {
            history,
            metrics,
            pictures,
        }))
    }
}
