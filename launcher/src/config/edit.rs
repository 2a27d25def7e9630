// SPDX-License-Identifier: MIT OR Apache-2.0

//! Changes to the configuration file while camwall runs: cameras added, changed and removed,
//! walls' camera lists set. The file is edited as a document (`toml_edit`), so its comments,
//! order and formatting stay; the result is validated exactly as at start-up before anything
//! is written; and it is written atomically (a temporary file, fsync, rename), with the
//! previous version kept beside it as `<file>.bak`. Edits are serialised by the file's lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value as Json};
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use super::{check_camera_url, Config, ConfigError};
use gstcamwall::lock;

/// The keys of a `[[camera]]` section, as the API takes them.
pub const CAMERA_FIELDS: &[&str] = &[
    "id",
    "name",
    "url",
    "detect_url",
    "codec",
    "detect_codec",
    "decoder",
    "transport",
    "priority",
    "enabled",
    "motion",
];
/// The keys of a camera's `motion` table.
pub const MOTION_FIELDS: &[&str] = &[
    "enabled",
    "threshold",
    "min_area",
    "min_frames",
    "hold_ms",
    "analysis_width",
    "zones",
    "learn_ignore",
];
/// Keys whose values are floats in the file even when written as whole numbers.
const FLOAT_FIELDS: &[&str] = &["min_area"];

/// Why an edit was not made. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file that would result does not validate: its problems, `file:line: key: ...`.
    #[error("{0}")]
    Invalid(ConfigError),
    /// A field of the request is wrong before any file is involved.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("no camera '{0}'")]
    UnknownCamera(String),
    #[error("a camera '{0}' exists already")]
    Exists(String),
    #[error("no wall '{0}'")]
    UnknownWall(String),
    #[error("no user '{0}'")]
    UnknownUser(String),
    #[error("a user '{0}' exists already")]
    UserExists(String),
    /// The edit would leave camwall with tokens but nobody who may change them.
    #[error("{0}")]
    NoAdmin(String),
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
}

impl EditError {
    fn field(field: &str, message: impl Into<String>) -> EditError {
        EditError::Field {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The configuration file camwall runs from, for the edits made while it runs.
pub struct ConfigFile {
    path: PathBuf,
    /// Held for a whole read-change-write: edits never interleave.
    write: Mutex<()>,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> ConfigFile {
        ConfigFile {
            path: path.into(),
            write: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the version before the last edit is kept.
    pub fn backup_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".bak");
        PathBuf::from(name)
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn read_text(&self) -> Result<String, EditError> {
        std::fs::read_to_string(&self.path)
            .map_err(|e| EditError::Io(format!("cannot read {}: {e}", self.name())))
    }

    /// The file as it is now, validated.
    pub fn load(&self) -> Result<Config, EditError> {
        let _one_at_a_time = lock(&self.write);
        Config::parse(&self.name(), &self.read_text()?).map_err(EditError::Invalid)
    }

    /// The file's document as it is now (for reading what the structs do not keep, such as
    /// which walls list a camera).
    pub fn document(&self) -> Result<DocumentMut, EditError> {
        let _one_at_a_time = lock(&self.write);
        parse_document(&self.name(), &self.read_text()?)
    }

    /// Applies `change` to the file's document; when the result validates, writes it in place
    /// of the file (the old one kept as [`Self::backup_path`]) and returns it parsed, with what
    /// `change` returned. Otherwise nothing is written.
    pub fn edit<T>(
        &self,
        change: impl FnOnce(&mut DocumentMut) -> Result<T, EditError>,
    ) -> Result<(Config, T), EditError> {
        self.edit_checked(change, |_| Ok(()))
    }

    /// [`Self::edit`], with the resulting configuration also to pass `check` before anything
    /// is written.
    pub fn edit_checked<T>(
        &self,
        change: impl FnOnce(&mut DocumentMut) -> Result<T, EditError>,
        check: impl FnOnce(&Config) -> Result<(), EditError>,
    ) -> Result<(Config, T), EditError> {
        let _one_at_a_time = lock(&self.write);
        let name = self.name();
        let old = self.read_text()?;
        let mut doc = parse_document(&name, &old)?;
        let out = change(&mut doc)?;
        let new = doc.to_string();
        let config = Config::parse(&name, &new).map_err(EditError::Invalid)?;
        check(&config)?;
        if new != old {
            write_replacing(&self.path, &self.backup_path(), &old, &new)
                .map_err(|e| EditError::Io(format!("cannot write {name}: {e}")))?;
        }
        Ok((config, out))
    }
}

fn parse_document(name: &str, text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| {
        EditError::Invalid(ConfigError {
            file: name.to_string(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            key: String::new(),
            message: format!("does not parse: {}", e.message()),
            also: Vec::new(),
        })
    })
}

/// Writes `text` to a new file beside `path`, synced to the disk, with `path`'s permissions.
fn write_synced(path: &Path, text: &str, like: &Path) -> std::io::Result<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir
        .unwrap_or(Path::new("."))
        .join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    if let Ok(meta) = std::fs::metadata(like) {
        file.set_permissions(meta.permissions())?;
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(tmp)
}

/// Replaces `path`'s contents `old` with `new` atomically: at every moment `path` is either
/// the whole old file or the whole new one. The old one is kept as `backup` first.
fn write_replacing(path: &Path, backup: &Path, old: &str, new: &str) -> std::io::Result<()> {
    let tmp = write_synced(backup, old, path)?;
    std::fs::rename(&tmp, backup)?;
    let tmp = write_synced(path, new, path)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the directory.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
}

/// The `[[camera]]` sections.
fn cameras(doc: &DocumentMut) -> Option<&ArrayOfTables> {
    doc.get("camera").and_then(Item::as_array_of_tables)
}

fn cameras_mut(doc: &mut DocumentMut) -> Option<&mut ArrayOfTables> {
    doc.get_mut("camera").and_then(Item::as_array_of_tables_mut)
}

/// Position of camera `id` among the `[[camera]]` sections.
pub fn camera_position(doc: &DocumentMut, id: &str) -> Option<usize> {
    cameras(doc)?
        .iter()
        .position(|t| t.get("id").and_then(Item::as_str) == Some(id))
}

/// Camera `id`'s URLs as the file has them (with their passwords): `url`, then `detect_url`.
pub fn stored_urls(doc: &DocumentMut, id: &str) -> Vec<String> {
    let Some(table) = camera_position(doc, id).and_then(|i| cameras(doc)?.get(i)) else {
        return Vec::new();
    };
    ["url", "detect_url"]
        .iter()
        .filter_map(|k| table.get(k)?.as_str().map(str::to_string))
        .collect()
}

/// The ids of the walls whose `cameras` list camera `id`.
pub fn walls_listing(doc: &DocumentMut, id: &str) -> Vec<String> {
    let Some(walls) = doc.get("wall").and_then(Item::as_array_of_tables) else {
        return Vec::new();
    };
    walls
        .iter()
        .filter(|w| {
            w.get("cameras")
                .and_then(Item::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(id)))
        })
        .filter_map(|w| w.get("id")?.as_str().map(str::to_string))
        .collect()
}

/// The user and password of a URL's `scheme://user:password@host/...`, if it has both.
fn credentials_of(url: &str) -> Option<(&str, &str)> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority[..authority.rfind('@')?].split_once(':')
}

/// A URL sent back with its password masked (`user:***@`, as the API shows it) means the
/// stored one's password, for the same user, whatever else changed (a new host or path): the
/// password is never echoed, and an edit that leaves it masked keeps it. A masked password
/// that has no stored one to stand for (another user, or none stored) is an error: `***` is
/// never saved as a password.
pub fn unmask_url(url: &str, stored: Option<&str>) -> Result<String, String> {
    let Some((user, "***")) = credentials_of(url) else {
        return Ok(url.to_string());
    };
    match stored.and_then(credentials_of) {
        Some((stored_user, password)) if stored_user == user => {
            Ok(url.replacen(":***@", &format!(":{password}@"), 1))
        }
        Some(_) => Err(format!(
            "the password is masked (***) for another user than the stored one's: type {user}'s password in place of ***"
        )),
        None => Err("the password is masked (***): type it in place of ***".into()),
    }
}

/// [`unmask_url`] against whichever of a camera's stored URLs (its main stream's and its
/// sub-stream's) names the same user as `url`, or the first when none does.
pub fn unmask_url_among(url: &str, stored: &[String]) -> Result<String, String> {
    let user = credentials_of(url).map(|(user, _)| user);
    let same_user = stored
        .iter()
        .find(|s| user.is_some() && credentials_of(s).map(|(u, _)| u) == user);
    unmask_url(url, same_user.or(stored.first()).map(String::as_str))
}

/// A JSON value of the API as a TOML value of the file.
fn to_toml(field: &str, json: &Json) -> Result<Value, EditError> {
    Ok(match json {
        Json::String(s) => Value::from(s.as_str()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) if FLOAT_FIELDS.contains(&field) => {
            Value::from(n.as_f64().unwrap_or(f64::NAN))
        }
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(to_toml(field, item)?);
            }
            Value::Array(array)
        }
        Json::Null | Json::Object(_) => {
            return Err(EditError::field(
                field,
                "must be a string, number or boolean",
            ))
        }
    })
}

/// Sets `fields` (the API's JSON) on a camera's table: `null` removes a key (its default
/// applies), anything else replaces it. `motion` is its own table, set the same way.
fn set_camera_fields(table: &mut Table, fields: &Map<String, Json>) -> Result<(), EditError> {
    for (key, value) in fields {
        if !CAMERA_FIELDS.contains(&key.as_str()) {
            return Err(EditError::field(
                key,
                format!("unknown field; a camera has {}", CAMERA_FIELDS.join(", ")),
            ));
        }
        match (key.as_str(), value) {
            (_, Json::Null) => {
                table.remove(key);
            }
            ("motion", Json::Object(motion)) => {
                if !table.get("motion").is_some_and(Item::is_table_like) {
                    table.insert("motion", Item::Table(Table::new()));
                }
                let Some(m) = table.get_mut("motion").and_then(Item::as_table_like_mut) else {
                    continue;
                };
                for (k, v) in motion {
                    let field = format!("motion.{k}");
                    if !MOTION_FIELDS.contains(&k.as_str()) {
                        return Err(EditError::field(
                            &field,
                            format!("unknown field; motion has {}", MOTION_FIELDS.join(", ")),
                        ));
                    }
                    match v {
                        Json::Null => {
                            m.remove(k);
                        }
                        v => {
                            // The comment beside the value it replaces stays.
                            let mut value = to_toml(k, v)?;
                            if let Some(old) = m.get(k).and_then(Item::as_value) {
                                *value.decor_mut() = old.decor().clone();
                            }
                            m.insert(k, Item::Value(value));
                        }
                    }
                }
            }
            ("motion", _) => return Err(EditError::field("motion", "must be an object")),
            // The camera's URLs: a masked password stands for the one the file has.
            (key @ ("url" | "detect_url"), Json::String(url)) => {
                let stored = table.get(key).and_then(Item::as_str);
                let url = unmask_url(url, stored).map_err(|why| EditError::field(key, why))?;
                check_camera_url(&url).map_err(|why| EditError::field(key, why))?;
                set_value(table, key, Value::from(url));
            }
            (key, value) => set_value(table, key, to_toml(key, value)?),
        }
    }
    Ok(())
}

/// Sets `key` keeping the decoration (comment, spacing) of the value it replaces.
fn set_value(table: &mut Table, key: &str, mut value: Value) {
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(value));
}

/// Adds a `[[camera]]` section after the last one, from the API's JSON. Answers its id.
pub fn add_camera(doc: &mut DocumentMut, fields: &Map<String, Json>) -> Result<String, EditError> {
    let id = match fields.get("id") {
        Some(Json::String(id)) => id.clone(),
        Some(_) => return Err(EditError::field("id", "must be a string")),
        None => return Err(EditError::field("id", "is required")),
    };
    if !fields.contains_key("url") {
        return Err(EditError::field("url", "is required"));
    }
    if camera_position(doc, &id).is_some() {
        return Err(EditError::Exists(id));
    }
    let mut table = Table::new();
    set_camera_fields(&mut table, fields)?;
    append_section(doc, "camera", CAMERA_FIELDS, table);
    Ok(id)
}

/// Adds `table` as the last `[[kind]]` section, its keys in `order` (the section's usual order),
/// whatever order the API's JSON gave them in.
fn append_section(doc: &mut DocumentMut, kind: &str, order: &[&str], mut table: Table) {
    table.sort_values_by(|a, _, b, _| {
        let rank = |k: &toml_edit::Key| order.iter().position(|f| *f == k.get());
        rank(a).cmp(&rank(b))
    });
    match doc.get_mut(kind).and_then(Item::as_array_of_tables_mut) {
        Some(all) => all.push(table),
        None => {
            let mut all = ArrayOfTables::new();
            all.push(table);
            doc.insert(kind, Item::ArrayOfTables(all));
        }
    }
}

/// Changes camera `id`'s section: the fields given are set, `null` ones removed, the others
/// kept. The id itself cannot change.
pub fn update_camera(
    doc: &mut DocumentMut,
    id: &str,
    fields: &Map<String, Json>,
) -> Result<(), EditError> {
    match fields.get("id") {
        None => {}
        Some(Json::String(same)) if same == id => {}
        Some(_) => {
            return Err(EditError::field(
                "id",
                "cannot change: remove the camera and add it again",
            ))
        }
    }
    let at = camera_position(doc, id).ok_or_else(|| EditError::UnknownCamera(id.into()))?;
    let table = cameras_mut(doc)
        .and_then(|all| all.get_mut(at))
        .ok_or_else(|| EditError::UnknownCamera(id.into()))?;
    let mut fields = fields.clone();
    fields.remove("id");
    set_camera_fields(table, &fields)
}

/// Removes camera `id`'s section, and the camera from every wall that lists it.
pub fn remove_camera(doc: &mut DocumentMut, id: &str) -> Result<(), EditError> {
    let at = camera_position(doc, id).ok_or_else(|| EditError::UnknownCamera(id.into()))?;
    if let Some(all) = cameras_mut(doc) {
        all.remove(at);
    }
    if let Some(walls) = doc.get_mut("wall").and_then(Item::as_array_of_tables_mut) {
        for wall in walls.iter_mut() {
            if let Some(list) = wall.get_mut("cameras").and_then(Item::as_array_mut) {
                let before = list.len();
                list.retain(|v| v.as_str() != Some(id));
                if list.len() != before {
                    // The spacing of what is left, as in `["a", "b"]`.
                    list.fmt();
                }
            }
        }
    }
    Ok(())
}

/// The keys of a `[[wall]]` the API sets.
pub const WALL_FIELDS: &[&str] = &["name", "cameras"];

/// Sets wall `id`'s `name` and `cameras` (`null`: every camera) from the API's JSON.
pub fn update_wall(
    doc: &mut DocumentMut,
    id: &str,
    fields: &Map<String, Json>,
) -> Result<(), EditError> {
    let walls = doc
        .get_mut("wall")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| EditError::UnknownWall(id.into()))?;
    let wall = walls
        .iter_mut()
        .find(|w| w.get("id").and_then(Item::as_str) == Some(id))
        .ok_or_else(|| EditError::UnknownWall(id.into()))?;
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("id", Json::String(same)) if same == id => {}
            ("id", _) => return Err(EditError::field("id", "cannot change")),
            ("name" | "cameras", Json::Null) => {
                wall.remove(key);
            }
            ("name", Json::String(_)) => set_value(wall, key, to_toml(key, value)?),
            ("cameras", Json::Array(items)) if items.iter().all(Json::is_string) => {
                set_value(wall, key, to_toml(key, value)?)
            }
            ("name", _) => return Err(EditError::field("name", "must be a string")),
            ("cameras", _) => {
                return Err(EditError::field(
                    "cameras",
                    "must be a list of camera ids, or null for every camera",
                ))
            }
            _ => {
                return Err(EditError::field(
                    key,
                    format!("unknown field; a wall's are {}", WALL_FIELDS.join(", ")),
                ))
            }
        }
    }
    Ok(())
}

/// The keys of a `[[user]]` section.
pub const USER_FIELDS: &[&str] = &["name", "token", "role"];

fn users_mut(doc: &mut DocumentMut) -> Option<&mut ArrayOfTables> {
    doc.get_mut("user").and_then(Item::as_array_of_tables_mut)
}

/// Position of user `name` among the `[[user]]` sections.
pub fn user_position(doc: &DocumentMut, name: &str) -> Option<usize> {
    doc.get("user")
        .and_then(Item::as_array_of_tables)?
        .iter()
        .position(|t| t.get("name").and_then(Item::as_str) == Some(name))
}

/// Sets a user's `token` and `role` from the API's JSON (both strings; neither can be removed).
fn set_user_fields(table: &mut Table, fields: &Map<String, Json>) -> Result<(), EditError> {
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("name", _) => {}
            ("token" | "role", Json::String(v)) => set_value(table, key, Value::from(v.as_str())),
            ("token" | "role", Json::Null) => {
                return Err(EditError::field(key, "is required"));
            }
            ("token" | "role", _) => return Err(EditError::field(key, "must be a string")),
            _ => {
                return Err(EditError::field(
                    key,
                    format!("unknown field; a user has {}", USER_FIELDS.join(", ")),
                ))
            }
        }
    }
    Ok(())
}

/// Adds a `[[user]]` section after the last one, from the API's JSON (`name`, `token`,
/// `role`). Answers the name.
pub fn add_user(doc: &mut DocumentMut, fields: &Map<String, Json>) -> Result<String, EditError> {
    let name = match fields.get("name") {
        Some(Json::String(name)) => name.clone(),
        Some(_) => return Err(EditError::field("name", "must be a string")),
        None => return Err(EditError::field("name", "is required")),
    };
    for key in ["token", "role"] {
        if !fields.contains_key(key) {
            return Err(EditError::field(key, "is required"));
        }
    }
    if user_position(doc, &name).is_some() {
        return Err(EditError::UserExists(name));
    }
    let mut table = Table::new();
    table.insert("name", Item::Value(Value::from(name.as_str())));
    set_user_fields(&mut table, fields)?;
    append_section(doc, "user", USER_FIELDS, table);
    Ok(name)
}

/// Changes user `name`'s `token` or `role`; the name itself cannot change.
pub fn update_user(
    doc: &mut DocumentMut,
    name: &str,
    fields: &Map<String, Json>,
) -> Result<(), EditError> {
    match fields.get("name") {
        None => {}
        Some(Json::String(same)) if same == name => {}
        Some(_) => {
            return Err(EditError::field(
                "name",
                "cannot change: remove the user and add them again",
            ))
        }
    }
    let at = user_position(doc, name).ok_or_else(|| EditError::UnknownUser(name.into()))?;
    let table = users_mut(doc)
        .and_then(|all| all.get_mut(at))
        .ok_or_else(|| EditError::UnknownUser(name.into()))?;
    set_user_fields(table, fields)
}

/// Removes user `name`'s section.
pub fn remove_user(doc: &mut DocumentMut, name: &str) -> Result<(), EditError> {
    let at = user_position(doc, name).ok_or_else(|| EditError::UnknownUser(name.into()))?;
    if let Some(all) = users_mut(doc) {
        all.remove(at);
    }
    Ok(())
}

/// Refuses a configuration in which nobody could edit the users any more: with tokens, one of
/// them must be an admin's (`server.token`, or a user whose role is `admin`).
pub fn keeps_an_admin(config: &Config) -> Result<(), EditError> {
    if config
        .credentials()
        .iter()
        .any(|c| c.identity.role == gstcamwall::http::Role::Admin)
    {
        return Ok(());
    }
    Err(EditError::NoAdmin(
        "camwall would be left without an admin (server.token or a user whose role is admin): \
         add or keep one first"
            .into(),
    ))
}

/// The errors of an invalid edit that are about camera number `index`, each with its field
/// within the camera (`url`, `motion.min_area`); the file's others without one.
pub fn fields_of(error: &ConfigError, section: &str) -> Vec<(Option<String>, ConfigError)> {
    let prefix = format!("{section}.");
    error
        .all()
        .map(|e| {
            let field = e.key.strip_prefix(&prefix).map(str::to_string);
            (
                field,
                ConfigError {
                    also: Vec::new(),
                    ..e.clone()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# the site's cameras
[server]
listen = "127.0.0.1:0"   # loopback

# front of the building
[[camera]]
id = "door"          # the door
name = "Front door"
url = "rtsp://admin:secret@192.0.2.10/stream1"

[[camera]]
id = "yard"
url = "rtsp://192.0.2.11/s"
[camera.motion]
zones = "ignore:0,0,1,0.1"   # the clock

[[wall]]
id = "lobby"
cameras = ["door", "yard"]   # both
"#;

    fn temp_file(text: &str) -> (tempfile::TempDir, ConfigFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("camwall.toml");
        std::fs::write(&path, text).unwrap();
        (dir, ConfigFile::new(path))
    }

    fn json(v: serde_json::Value) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn an_edit_keeps_every_comment_and_the_order() {
        let (_dir, file) = temp_file(FILE);
        let fields = json(serde_json::json!({"name": "Yard", "priority": 3}));
        file.edit(|doc| update_camera(doc, "yard", &fields))
            .unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        for kept in [
            "# the site's cameras",
            "listen = \"127.0.0.1:0\"   # loopback",
            "# front of the building",
            "id = \"door\"          # the door",
            "zones = \"ignore:0,0,1,0.1\"   # the clock",
            "cameras = [\"door\", \"yard\"]   # both",
        ] {
            assert!(text.contains(kept), "lost '{kept}' in:\n{text}");
        }
        assert!(text.contains("name = \"Yard\""), "{text}");
        assert!(text.contains("priority = 3"), "{text}");
        assert!(text.find("id = \"door\"") < text.find("id = \"yard\""));
        assert_eq!(std::fs::read_to_string(file.backup_path()).unwrap(), FILE);
        // An edit that changes nothing leaves the file byte for byte.
        let (_dir, file) = temp_file(FILE);
        file.edit(|_| Ok(())).unwrap();
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), FILE);
    }

    #[test]
    fn a_camera_added_comes_after_the_others_and_is_parsed_back() {
        let (_dir, file) = temp_file(FILE);
        let fields = json(serde_json::json!({
            "url": "rtsp://192.0.2.12/s", "id": "gate", "codec": "h264",
            "motion": {"min_area": 1, "threshold": 30, "learn_ignore": false}
        }));
        let (config, id) = file.edit(|doc| add_camera(doc, &fields)).unwrap();
        assert_eq!(id, "gate");
        let ids: Vec<&str> = config.cameras.iter().map(|c| c.id()).collect();
        assert_eq!(ids, ["door", "yard", "gate"]);
        let gate = &config.cameras[2];
        assert_eq!(gate.codec, super::super::Codec::H264);
        assert_eq!(
            gate.motion.min_area.as_ref().map(|a| *a.get_ref()),
            Some(1.0)
        );
        assert_eq!(gate.motion.learn_ignore, Some(false));
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("learn_ignore = false"), "{text}");
        let gate_at = text.find("id = \"gate\"").unwrap();
        assert!(gate_at > text.find("id = \"yard\"").unwrap());
        assert!(text[gate_at..].find("url").unwrap() < text[gate_at..].find("codec").unwrap());
    }

    #[test]
    fn an_invalid_edit_writes_nothing_and_names_the_camera_field() {
        let (_dir, file) = temp_file(FILE);
        let fields =
            json(serde_json::json!({"id": "gate", "url": "rtsp://192.0.2.12/s", "codec": "h266"}));
        let Err(EditError::Invalid(e)) = file.edit(|doc| add_camera(doc, &fields)) else {
            panic!("an unknown codec is refused");
        };
        let fields = fields_of(&e, "camera[2]");
        assert_eq!(fields[0].0.as_deref(), Some("codec"), "{e}");
        assert!(e.to_string().contains("camwall.toml:"), "{e}");
        // A motion key of the wrong type is refused as the file would be, naming it.
        let wrong = json(
            serde_json::json!({"id": "gate", "url": "rtsp://192.0.2.12/s",
                                             "motion": {"learn_ignore": "yes"}}),
        );
        let Err(EditError::Invalid(e)) = file.edit(|doc| add_camera(doc, &wrong)) else {
            panic!("learn_ignore must be true or false");
        };
        assert_eq!(
            fields_of(&e, "camera[2]")[0].0.as_deref(),
            Some("motion.learn_ignore"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), FILE);
        assert!(!file.backup_path().exists());
        for (body, field) in [
            (serde_json::json!({"id": "x", "url": "http://a/b"}), "url"),
            (
                serde_json::json!({"id": "x", "url": "rtsp://a/\u{7}"}),
                "url",
            ),
            (
                serde_json::json!({"id": "x", "url": "rtsp://a/b", "colour": 1}),
                "colour",
            ),
            (
                serde_json::json!({"id": "x", "url": "rtsp://a/b", "motion": {"x": 1}}),
                "motion.x",
            ),
            (serde_json::json!({"id": 5, "url": "rtsp://a/b"}), "id"),
            (serde_json::json!({"url": "rtsp://a/b"}), "id"),
        ] {
            match file.edit(|doc| add_camera(doc, &json(body.clone()))) {
                Err(EditError::Field { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let dup = json(serde_json::json!({"id": "door", "url": "rtsp://a/b"}));
        assert!(matches!(
            file.edit(|doc| add_camera(doc, &dup)),
            Err(EditError::Exists(_))
        ));
        let bad_id = json(serde_json::json!({"id": "../etc", "url": "rtsp://a/b"}));
        let Err(EditError::Invalid(e)) = file.edit(|doc| add_camera(doc, &bad_id)) else {
            panic!("an unsafe id is refused");
        };
        assert_eq!(fields_of(&e, "camera[2]")[0].0.as_deref(), Some("id"));
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), FILE);
    }

    #[test]
    fn a_masked_password_keeps_the_stored_one() {
        let (_dir, file) = temp_file(FILE);
        let same = json(serde_json::json!({"url": "rtsp://admin:***@192.0.2.10/stream1"}));
        let (config, ()) = file.edit(|doc| update_camera(doc, "door", &same)).unwrap();
        assert_eq!(
            config.cameras[0].url(),
            "rtsp://admin:secret@192.0.2.10/stream1"
        );
        // A new host and path with the mask keep the same user's stored password.
        let moved = json(serde_json::json!({"url": "rtsp://admin:***@192.0.2.99:8554/main"}));
        let (config, ()) = file.edit(|doc| update_camera(doc, "door", &moved)).unwrap();
        assert_eq!(
            config.cameras[0].url(),
            "rtsp://admin:secret@192.0.2.99:8554/main"
        );
        // Another user, or a camera without a stored password: `***` is never saved.
        for (id, url) in [
            ("door", "rtsp://guest:***@192.0.2.99/main"),
            ("yard", "rtsp://admin:***@192.0.2.11/s"),
        ] {
            let masked = json(serde_json::json!({ "url": url }));
            match file.edit(|doc| update_camera(doc, id, &masked)) {
                Err(EditError::Field { field, message }) => {
                    assert_eq!(field, "url");
                    assert!(message.contains("type"), "{message}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        let added = json(serde_json::json!({"id": "gate", "url": "rtsp://admin:***@192.0.2.12/s"}));
        assert!(file.edit(|doc| add_camera(doc, &added)).is_err());
        // A sub-stream's URL keeps its own stored password the same way.
        let sub =
            json(serde_json::json!({"detect_url": "rtsp://viewer:sub-pass@192.0.2.10/stream2"}));
        file.edit(|doc| update_camera(doc, "door", &sub)).unwrap();
        let masked = json(
            serde_json::json!({"detect_url": "rtsp://viewer:***@192.0.2.10/s2", "codec": "h264"}),
        );
        let (config, ()) = file
            .edit(|doc| update_camera(doc, "door", &masked))
            .unwrap();
        assert_eq!(
            config.cameras[0].detect_url(),
            Some("rtsp://viewer:sub-pass@192.0.2.10/s2")
        );
        let same_as_main =
            json(serde_json::json!({"detect_url": "rtsp://admin:***@192.0.2.99:8554/main"}));
        assert!(
            file.edit(|doc| update_camera(doc, "door", &same_as_main))
                .is_err(),
            "the main stream's password is not the sub-stream's"
        );
        assert!(!std::fs::read_to_string(file.path())
            .unwrap()
            .contains(":***@"));
    }

    #[test]
    fn a_masked_url_is_unmasked_against_the_stored_url_of_its_user() {
        let stored = [
            "rtsp://admin:main-pass@192.0.2.10/stream1".to_string(),
            "rtsp://viewer:sub-pass@192.0.2.10/stream2".to_string(),
        ];
        assert_eq!(
            unmask_url_among("rtsp://viewer:***@192.0.2.10/s2", &stored).unwrap(),
            "rtsp://viewer:sub-pass@192.0.2.10/s2"
        );
        assert_eq!(
            unmask_url_among("rtsp://admin:***@192.0.2.10/s1", &stored).unwrap(),
            "rtsp://admin:main-pass@192.0.2.10/s1"
        );
        assert!(unmask_url_among("rtsp://guest:***@192.0.2.10/s", &stored).is_err());
        assert!(unmask_url_among("rtsp://admin:***@192.0.2.10/s", &[]).is_err());
        assert_eq!(
            unmask_url_among("rtsp://192.0.2.10/open", &stored).unwrap(),
            "rtsp://192.0.2.10/open"
        );
    }

    #[test]
    fn removing_a_camera_takes_it_off_the_walls() {
        let (_dir, file) = temp_file(FILE);
        let (config, ()) = file.edit(|doc| remove_camera(doc, "door")).unwrap();
        assert_eq!(config.cameras.len(), 1);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("cameras = [\"yard\"]"), "{text}");
        assert!(text.contains("# the site's cameras"));
        assert!(matches!(
            file.edit(|doc| remove_camera(doc, "door")),
            Err(EditError::UnknownCamera(_))
        ));
        // The last camera cannot go: a file without one does not start.
        assert!(matches!(
            file.edit(|doc| remove_camera(doc, "yard")),
            Err(EditError::Invalid(_))
        ));
    }

    #[test]
    fn a_wall_lists_other_cameras() {
        let (_dir, file) = temp_file(FILE);
        let only = json(serde_json::json!({"cameras": ["yard"], "name": "Lobby"}));
        let (config, ()) = file.edit(|doc| update_wall(doc, "lobby", &only)).unwrap();
        assert_eq!(config.walls()[0].cameras, vec![1]);
        let unknown = json(serde_json::json!({"cameras": ["nope"]}));
        assert!(matches!(
            file.edit(|doc| update_wall(doc, "lobby", &unknown)),
            Err(EditError::Invalid(_))
        ));
        let wrong = json(serde_json::json!({"cameras": "yard"}));
        assert!(matches!(
            file.edit(|doc| update_wall(doc, "lobby", &wrong)),
            Err(EditError::Field { .. })
        ));
        assert!(matches!(
            file.edit(|doc| update_wall(doc, "hall", &only)),
            Err(EditError::UnknownWall(_))
        ));
    }

    /// Every kind of section, with comments above, beside and between.
    const WHOLE: &str = r#"# camwall for the warehouse
# (kept by facilities)

[server]
listen = "127.0.0.1:8080"   # loopback
allowed_origins = ["https://wall.example.com"]

[stream]
jpeg_quality = 75
# a narrower picture for the old screens
max_width = 960

[selector]
alarm_hold_ms = 8000   # long enough to look

[reconnect]
initial_ms = 500

[[camera]]
id = "dock"   # loading dock
name = "Dock"
url = "rtsp://viewer:pw@192.0.2.20/h264"
codec = "h264"
priority = 2
[camera.motion]
threshold = 30
zones = "ignore:0,0,1,0.08"   # the clock

# the gate, on the sub-stream
[[camera]]
id = "gate"
url = "rtsp://192.0.2.21/sub"
transport = "tcp"

[[wall]]
id = "guard"
name = "Guard desk"
cameras = ["dock", "gate"]

[[user]]
name = "night"
token = "night-shift-token"
role = "operator"

[history]
file = "/var/lib/camwall/events.jsonl"
"#;

    #[test]
    fn the_whole_file_round_trips_with_its_comments() {
        let (_dir, file) = temp_file(WHOLE);
        // As it is.
        let (config, ()) = file.edit(|_| Ok(())).unwrap();
        assert_eq!(config.cameras.len(), 2);
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), WHOLE);
        // A camera added and removed again leaves the file byte for byte.
        let yard = json(
            serde_json::json!({"id": "yard", "url": "rtsp://192.0.2.22/s",
                                           "motion": {"threshold": 20}}),
        );
        file.edit(|doc| add_camera(doc, &yard)).unwrap();
        file.edit(|doc| remove_camera(doc, "yard")).unwrap();
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), WHOLE);
        // A value set to what it is, and a masked password sent back, change nothing.
        let same =
            json(serde_json::json!({"priority": 2, "url": "rtsp://viewer:***@192.0.2.20/h264"}));
        file.edit(|doc| update_camera(doc, "dock", &same)).unwrap();
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), WHOLE);
        // A changed value keeps its comment.
        let other = json(serde_json::json!({"motion": {"zones": "ignore:0,0,1,0.1"}}));
        file.edit(|doc| update_camera(doc, "dock", &other)).unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            text.contains("zones = \"ignore:0,0,1,0.1\"   # the clock"),
            "{text}"
        );
        assert_eq!(text.lines().count(), WHOLE.lines().count());
    }

    #[test]
    fn edits_from_many_threads_all_land() {
        let (_dir, file) = temp_file(FILE);
        let file = std::sync::Arc::new(file);
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let file = file.clone();
                std::thread::spawn(move || {
                    let fields = json(
                        serde_json::json!({"id": format!("c{i}"), "url": "rtsp://192.0.2.1/s"}),
                    );
                    file.edit(|doc| add_camera(doc, &fields)).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(file.load().unwrap().cameras.len(), 18);
    }

    #[test]
    fn users_are_added_changed_and_removed_and_an_admin_always_stays() {
        let (_dir, file) = temp_file(&format!(
            "{FILE}\n[[user]]\nname = \"ada\"   # the site's admin\ntoken = \"admin-token-1\"\nrole = \"admin\"\n"
        ));
        let checked = |change: &dyn Fn(&mut DocumentMut) -> Result<(), EditError>| {
            file.edit_checked(change, keeps_an_admin).map(|(c, ())| c)
        };
        let val =
            json(serde_json::json!({"name": "val", "token": "viewer-token", "role": "viewer"}));
        let config = checked(&|doc| add_user(doc, &val).map(drop)).unwrap();
        assert_eq!(config.users.len(), 2);
        assert!(matches!(
            checked(&|doc| add_user(doc, &val).map(drop)),
            Err(EditError::UserExists(n)) if n == "val"
        ));
        // Validated as at start-up, without the token in the error.
        let short = json(serde_json::json!({"token": "short"}));
        match checked(&|doc| update_user(doc, "val", &short)) {
            Err(EditError::Invalid(e)) => {
                let fields = fields_of(&e, "user[1]");
                assert_eq!(fields[0].0.as_deref(), Some("token"), "{e}");
                assert!(!e.to_string().contains("short"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let role = json(serde_json::json!({"role": "root"}));
        assert!(matches!(
            checked(&|doc| update_user(doc, "val", &role)),
            Err(EditError::Invalid(_))
        ));
        let op = json(serde_json::json!({"role": "operator"}));
        let config = checked(&|doc| update_user(doc, "val", &op)).unwrap();
        assert_eq!(config.users[1].role.get_ref(), "operator");
        // The last admin stays: neither demoted nor removed.
        let demote = json(serde_json::json!({"role": "viewer"}));
        assert!(matches!(
            checked(&|doc| update_user(doc, "ada", &demote)),
            Err(EditError::NoAdmin(_))
        ));
        assert!(matches!(
            checked(&|doc| remove_user(doc, "ada")),
            Err(EditError::NoAdmin(_))
        ));
        assert!(matches!(
            checked(&|doc| remove_user(doc, "nobody")),
            Err(EditError::UnknownUser(_))
        ));
        let config = checked(&|doc| remove_user(doc, "val")).unwrap();
        assert_eq!(config.users.len(), 1);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            text.contains("name = \"ada\"   # the site's admin"),
            "{text}"
        );
        assert!(text.starts_with(FILE), "{text}");
    }
}
