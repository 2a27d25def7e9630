// SPDX-License-Identifier: MIT OR Apache-2.0

//! `[[wall]]`: the screens camwall drives, each its own selection of cameras with its own alarm
//! settings, fed by the same decoded cameras.
//!
//! ```toml
//! [[wall]]
//! id = "alarms"                  # a-z, 0-9, - and _; viewers follow it with ?wall=alarms
//! name = "Alarm monitor"
//! cameras = ["door", "yard"]     # default: every camera
//! alarm_override = true          # default: [selector]'s
//! alarm_hold_ms = 5000           # default: [selector]'s
//! alarm_policy = "latest"        # default: [selector]'s
//! on_offline = "stay"            # default: [selector]'s; "next-live" for a stand-in
//! ```
//!
//! Without any `[[wall]]`, there is one wall, `main`, made from `[selector]`: a file written
//! before walls existed means what it meant.

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use super::{valid_camera_id, AlarmPolicy, Config, OnOffline};

/// The id of the one wall of a configuration without `[[wall]]`.
pub const MAIN_WALL: &str = "main";

/// Most walls a configuration may have: each is a selector and an encoder.
pub const MAX_WALLS: usize = 16;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WallConfig {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub cameras: Option<Spanned<Vec<Spanned<String>>>>,
    pub alarm_override: Option<bool>,
    pub alarm_hold_ms: Option<u32>,
    pub alarm_policy: Option<AlarmPolicy>,
    pub on_offline: Option<OnOffline>,
}

/// A wall as it runs: its settings resolved, its cameras as indices into the enabled cameras.
#[derive(Debug, Clone, PartialEq)]
pub struct Wall {
    pub id: String,
    pub name: String,
    /// Indices into [`Config::enabled_cameras`], in the order the wall lists them.
    pub cameras: Vec<usize>,
    pub alarm_override: bool,
    pub alarm_hold_ms: u32,
    pub alarm_policy: AlarmPolicy,
    pub on_offline: OnOffline,
}

impl Config {
    /// The walls, resolved: every `[[wall]]`, or the one `main` wall of `[selector]`. Disabled
    /// cameras are left out of the walls that list them.
    pub fn walls(&self) -> Vec<Wall> {
        let enabled: Vec<&str> = self.enabled_cameras().map(|c| c.id()).collect();
        let index = |id: &str| enabled.iter().position(|e| *e == id);
        let sel = &self.selector;
        if self.walls.is_empty() {
            return vec![Wall {
                id: MAIN_WALL.to_string(),
                name: "Main".to_string(),
                cameras: (0..enabled.len()).collect(),
                alarm_override: sel.alarm_override,
                alarm_hold_ms: sel.alarm_hold_ms,
                alarm_policy: sel.alarm_policy,
                on_offline: sel.on_offline,
            }];
        }
        self.walls
            .iter()
            .map(|w| Wall {
                id: w.id.get_ref().clone(),
                name: w.name.clone().unwrap_or_else(|| w.id.get_ref().clone()),
                cameras: match &w.cameras {
                    Some(list) => list
                        .get_ref()
                        .iter()
                        .filter_map(|c| index(c.get_ref()))
                        .collect(),
                    None => (0..enabled.len()).collect(),
                },
                alarm_override: w.alarm_override.unwrap_or(sel.alarm_override),
                alarm_hold_ms: w.alarm_hold_ms.unwrap_or(sel.alarm_hold_ms),
                alarm_policy: w.alarm_policy.unwrap_or(sel.alarm_policy),
                on_offline: w.on_offline.unwrap_or(sel.on_offline),
            })
            .collect()
    }
}

/// Reports every problem of the `[[wall]]` entries.
pub(super) fn validate(config: &Config, c: &Checker<'_>) {
    if config.walls.len() > MAX_WALLS {
        c.report(&(0..0), "wall", format!("at most {MAX_WALLS} walls"));
    }
    let known: HashSet<&str> = config.cameras.iter().map(|c| c.id()).collect();
    let enabled: HashSet<&str> = config.enabled_cameras().map(|c| c.id()).collect();
    let mut ids = HashSet::new();
    for (i, wall) in config.walls.iter().enumerate() {
        let key = |k: &str| format!("wall[{i}].{k}");
        let id = wall.id.get_ref();
        if !valid_camera_id(id) {
            c.report(
                &wall.id.span(),
                key("id"),
                format!("'{id}' must be 1-64 characters of a-z, A-Z, 0-9, - and _"),
            );
        }
        if !ids.insert(id.as_str()) {
            c.report(&wall.id.span(), key("id"), format!("'{id}' is used twice"));
        }
        if wall.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            c.report(&wall.id.span(), key("name"), "at most 200 characters");
        }
        let Some(list) = &wall.cameras else {
            continue;
        };
        if list.get_ref().is_empty() {
            c.report(
                &list.span(),
                key("cameras"),
                "lists no camera (leave it out for every camera)",
            );
        }
        let mut listed = HashSet::new();
        for (j, cam) in list.get_ref().iter().enumerate() {
            let cam_id = cam.get_ref().as_str();
            if !known.contains(cam_id) {
                c.report(
                    &cam.span(),
                    format!("wall[{i}].cameras[{j}]"),
                    format!("no camera '{cam_id}'"),
                );
            } else if !listed.insert(cam_id) {
                c.report(
                    &cam.span(),
                    format!("wall[{i}].cameras[{j}]"),
                    format!("'{cam_id}' is listed twice"),
                );
            }
        }
        let any_known = list
            .get_ref()
            .iter()
            .any(|c| known.contains(c.get_ref().as_str()));
        if any_known
            && !list
                .get_ref()
                .iter()
                .any(|c| enabled.contains(c.get_ref().as_str()))
        {
            c.report(
                &list.span(),
                key("cameras"),
                "every camera of this wall is disabled",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERAS: &str = "[[camera]]\nid = \"a\"\nurl = \"rtsp://x/a\"\n\
                           [[camera]]\nid = \"b\"\nurl = \"rtsp://x/b\"\n\
                           [[camera]]\nid = \"c\"\nurl = \"rtsp://x/c\"\nenabled = false\n";

    #[test]
    fn without_walls_there_is_one_main_wall_from_the_selector_section() {
        let config = Config::parse(
            "t.toml",
            &format!("[selector]\nalarm_hold_ms = 1234\nalarm_policy = \"priority\"\n{CAMERAS}"),
        )
        .unwrap();
        let walls = config.walls();
        assert_eq!(walls.len(), 1);
        assert_eq!(walls[0].id, MAIN_WALL);
        assert_eq!(walls[0].cameras, [0, 1]);
        assert_eq!(walls[0].alarm_hold_ms, 1234);
        assert_eq!(walls[0].alarm_policy, AlarmPolicy::Priority);
        assert!(walls[0].alarm_override);
    }

    #[test]
    fn walls_take_their_cameras_and_settings_and_default_to_the_selector() {
        let config = Config::parse(
            "t.toml",
            &format!(
                "{CAMERAS}[[wall]]\nid = \"spot\"\nname = \"Spot monitor\"\ncameras = [\"b\", \"c\"]\n\
                 alarm_override = false\non_offline = \"next-live\"\n[[wall]]\nid = \"all\"\n"
            ),
        )
        .unwrap();
        let walls = config.walls();
        assert_eq!(walls.len(), 2);
        assert_eq!(walls[0].name, "Spot monitor");
        // c is disabled: left out.
        assert_eq!(walls[0].cameras, [1]);
        assert!(!walls[0].alarm_override);
        assert_eq!(walls[0].on_offline, OnOffline::NextLive);
        assert_eq!(walls[1].on_offline, OnOffline::Stay);
        assert_eq!(walls[1].name, "all");
        assert_eq!(walls[1].cameras, [0, 1]);
        assert!(walls[1].alarm_override);
        assert_eq!(walls[1].alarm_hold_ms, 5000);
    }

    #[test]
    fn bad_walls_are_reported_at_their_line() {
        let text = format!(
            "{CAMERAS}[[wall]]\nid = \"x y\"\n[[wall]]\nid = \"w\"\ncameras = [\"a\", \"nope\", \"a\"]\n\
             [[wall]]\nid = \"w\"\ncameras = []\n[[wall]]\nid = \"off\"\ncameras = [\"c\"]\n"
        );
        let err = Config::parse("w.toml", &text).unwrap_err();
        let all = err.to_string();
        for needle in [
            "w.toml:12: wall[0].id: 'x y' must be",
            "w.toml:15: wall[1].cameras[1]: no camera 'nope'",
            "w.toml:15: wall[1].cameras[2]: 'a' is listed twice",
            "w.toml:17: wall[2].id: 'w' is used twice",
            "w.toml:18: wall[2].cameras: lists no camera",
            "w.toml:21: wall[3].cameras: every camera of this wall is disabled",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }
}
