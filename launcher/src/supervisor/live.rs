// SPDX-License-Identifier: MIT OR Apache-2.0

//! A changed configuration applied while everything runs: only the cameras that were added,
//! changed or removed are built or taken down, and only the walls whose camera lists changed
//! gain or lose pads. Every other camera, wall and viewer goes on untouched.

use super::build::{add_camera, link_to_wall, unlink_from_wall};
use super::*;
use crate::config::Config;

/// What applying a configuration did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Applied {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Walls whose camera lists changed.
    pub walls: Vec<String>,
    /// Users whose access changed (added, removed, a new token or role), from the next request.
    pub users: Vec<String>,
    /// What changed that only a restart applies (walls added or removed, other sections).
    pub restart_needed: Vec<String>,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.walls.is_empty()
    }
}

/// Makes the running cameras and walls those of `config`.
pub(super) fn apply_config(
    state: &Arc<AppState>,
    mut running: Option<&mut Running>,
    config: &Config,
) -> Applied {
    let mut applied = Applied {
        restart_needed: restart_needed(&state.config, config),
        ..Applied::default()
    };
    let wanted: Vec<&crate::config::CameraConfig> = config.enabled_cameras().collect();
    let lists_before: Vec<Vec<usize>> = state.walls.iter().map(|w| w.cameras()).collect();
    let ids = |list: &[usize]| -> Vec<String> {
        list.iter()
            .filter_map(|&i| Some(state.cameras.get(i)?.id.clone()))
            .collect()
    };
    let ids_before: Vec<Vec<String>> = lists_before.iter().map(|l| ids(l)).collect();
    // Gone first: their indices are free for the cameras added after.
    for (index, cam) in state.cameras.all() {
        if !wanted.iter().any(|w| w.id() == cam.id) {
            for wall in &state.walls {
                let mut list = wall.cameras();
                list.retain(|&i| i != index);
                wall.set_cameras(list);
            }
            if let Some(r) = running.as_deref_mut() {
                take_down(r, index);
            }
            state.cameras.set(index, None);
            info!(camera = %cam.id, "camera removed");
            applied.removed.push(cam.id.clone());
        }
    }
    for want in &wanted {
        match state.camera_index(want.id()) {
            Some(index) => {
                let Some(old) = state.cameras.get(index) else {
                    continue;
                };
                if old.config == **want {
                    continue;
                }
                if let Some(r) = running.as_deref_mut() {
                    take_down(r, index);
                }
                state.cameras.set(index, Some(old.changed((*want).clone())));
                bring_up(state, running.as_deref_mut(), index);
                info!(camera = %want.id(), "camera changed");
                applied.changed.push(want.id().to_string());
            }
            None => {
                let index = state.cameras.add(CameraRuntime::new((*want).clone()));
                // Walls that list every camera show it at once (their lists are set below).
                bring_up(state, running.as_deref_mut(), index);
                info!(camera = %want.id(), index, "camera added");
                applied.added.push(want.id().to_string());
            }
        }
    }
    // Each wall's list in the new configuration, as indices of the running cameras.
    for wall in config.walls() {
        let Some((position, runtime)) = state.wall(&wall.id) else {
            continue;
        };
        let list: Vec<usize> = wall
            .cameras
            .iter()
            .filter_map(|&k| state.camera_index(wanted.get(k)?.id()))
            .collect();
        let before = &lists_before[position];
        runtime.set_cameras(list.clone());
        if let Some(r) = running.as_deref_mut() {
            for &index in before.iter().filter(|i| !list.contains(i)) {
                unlink_from_wall(r, position, index);
            }
            for &index in list.iter() {
                if let Err(e) = link_to_wall(state, r, position, index) {
                    warn!(wall = %runtime.id, "cannot show camera {index}: {e:#}");
                }
            }
        }
        if ids(&list) != ids_before[position] {
            applied.walls.push(runtime.id.clone());
        }
        // A wall whose user's choice went away comes back to its first camera; one whose choice
        // was rebuilt chooses its new pad (the selector let go of the old one).
        let choice = runtime.selection().user_choice;
        let kept = choice
            .as_deref()
            .and_then(|c| state.camera_index(c))
            .filter(|&i| runtime.has(i));
        let target = match kept {
            Some(i) => choice
                .as_ref()
                .is_some_and(|c| applied.changed.contains(c))
                .then_some(i),
            None => {
                let first = list.first().copied();
                let id = first
                    .and_then(|i| state.cameras.get(i))
                    .map(|c| c.id.clone());
                runtime.update_selection(&state.cameras, |s| s.user_choice = id);
                first
            }
        };
        if let (Some(r), Some(i)) = (running.as_deref(), target) {
            if let Some(pad) = r.walls[position].pad(i) {
                r.walls[position].selector.set_property("selected-pad", pad);
            }
        }
    }
    if !applied.is_empty() {
        let to_cow = |v: &[String]| v.iter().map(|s| Cow::Owned(s.clone())).collect();
        state.publish(&protocol::Message::Cameras(protocol::Cameras {
            added: to_cow(&applied.added),
            changed: to_cow(&applied.changed),
            removed: to_cow(&applied.removed),
            walls: to_cow(&applied.walls),
            ts: unix_ms_now(),
        }));
    }
    for what in &applied.restart_needed {
        warn!("the configuration changed {what}: restart camwall to apply it");
    }
    applied
}

/// Builds camera `index` into the running pipeline and starts it.
fn bring_up(state: &Arc<AppState>, running: Option<&mut Running>, index: usize) {
    let Some(r) = running else {
        return; // the next pipeline builds it
    };
    if let Err(e) = add_camera(state, r, index) {
        let id = state.cameras.get(index).map(|c| c.id.clone());
        error!(camera = ?id, "cannot add the camera: {e:#}");
        take_down(r, index);
        return;
    }
    if let Some(slot) = r.camera_mut(index) {
        restart_bin(slot, index);
    }
}

/// Takes camera `index`'s bin, tee, branches and wall pads out of the running pipeline.
fn take_down(running: &mut Running, index: usize) {
    for position in 0..running.walls.len() {
        unlink_from_wall(running, position, index);
    }
    let Some(slot) = running.cameras.get_mut(index).and_then(Option::take) else {
        return;
    };
    {
        // No restart of this bin runs meanwhile, and none that comes later finds it in the
        // pipeline (it then leaves it stopped).
        let _no_restart = lock(&slot.stopping);
        let _ = slot.bin.set_state(gst::State::Null);
        let _ = running.pipeline.remove(&slot.bin);
    }
    for element in &slot.elements {
        let _ = element.set_state(gst::State::Null);
        let _ = running.pipeline.remove(element);
    }
}

/// What differs between the running configuration and `next` that is not applied live.
fn restart_needed(running: &Config, next: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let ids = |c: &Config| -> Vec<String> { c.walls().into_iter().map(|w| w.id).collect() };
    let (before, after) = (ids(running), ids(next));
    if before != after {
        out.push(format!(
            "the walls ({} -> {})",
            before.join(", "),
            after.join(", ")
        ));
    }
    // `server.token` and the users apply at once (the guard follows them).
    let server = |c: &Config| (c.server.listen.clone(), c.server.allowed_origins.clone());
    if server(running) != server(next)
        || running.stream != next.stream
        || running.selector != next.selector
        || running.reconnect != next.reconnect
    {
        out.push("[server], [stream], [selector] or [reconnect]".into());
    }
    if running.snapshots != next.snapshots
        || running.history != next.history
        || running.mqtt != next.mqtt
        || running.webhooks != next.webhooks
        || running.metrics != next.metrics
    {
        out.push("the integrations".into());
    }
    let settings = |c: &Config| -> Vec<_> {
        c.walls()
            .into_iter()
            .map(|w| {
                (
                    w.id,
                    w.name,
                    w.alarm_override,
                    w.alarm_hold_ms,
                    w.alarm_policy,
                    w.on_offline,
                )
            })
            .collect()
    };
    if before == after && settings(running) != settings(next) {
        out.push("the walls' settings".into());
    }
    out
}
