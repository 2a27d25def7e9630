// SPDX-License-Identifier: MIT OR Apache-2.0

//! Cameras, walls and users edited while camwall runs (admin): each edit goes into the
//! configuration file (`config::edit`: comments kept, validated as at start-up, written
//! atomically) and is then applied to the running pipeline (only what changed is built or taken
//! down) and to the guard (users' tokens and roles count from the next request). Edits, reloads
//! and their application run one at a time, so the file and what runs never disagree.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/cameras/config` | every `[[camera]]` of the file (disabled ones too), URLs masked, with the walls that list it |
//! | `POST /api/cameras` `{id, url, ...}` | 201, the camera as the file has it, and what was applied |
//! | `PUT /api/cameras/{id}` `{field: value or null}` | 200; fields left out are kept, `null` ones go back to their default; a masked password keeps the stored one |
//! | `DELETE /api/cameras/{id}` | 200 `{"removed": id}`; walls listing it no longer do |
//! | `PUT /api/walls/{id}` `{"cameras": [...] or null, "name"}` | 200, the wall |
//! | `GET /api/users` | `[{"name","role"}]`, never a token; `server.token`'s holder as `{"name":"admin","role":"admin","server_token":true}` |
//! | `POST /api/users` `{name, token, role}` | 201 `{"name","role"}` |
//! | `PUT /api/users/{name}` `{token, role}` | 200; a new token signs the user's pages out, a new role applies to them at once |
//! | `DELETE /api/users/{name}` | 200 `{"removed": name}`; their pages are signed out |
//! | `POST /api/reload` | re-reads the file and applies the difference (as SIGHUP does) |
//!
//! Errors: 400 `invalid-config` with `errors: [{key, field, line, message}]` (`field` within the
//! section, e.g. `url`, `motion.min_area`, `token`), 404 `unknown-camera` / `unknown-wall` /
//! `unknown-user`, 409 `exists`, 409 `no-admin` (nobody could edit the users any more), 409
//! `no-config-file` (camwall runs without one: the demo), 429 `busy` when too many edits wait,
//! 500 `write-failed`.

use std::sync::Arc;

use gstcamwall::http::{json_error, ApiError};
use serde_json::{json, Map, Value as Json};
use toml_edit::{DocumentMut, Item};
use tracing::{info, warn};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::body::{limited_body, RequestBody};
use crate::config::edit::{self, ConfigFile, EditError};
use crate::config::{mask_url, CameraConfig, Config};
use crate::control::Control;
use crate::state::AppState;
use crate::supervisor::Applied;

/// Edits waiting at most (beyond them: 429).
const MAX_WAITING_EDITS: usize = 16;

/// One camera of the file as the API shows it: the keys it sets, the URL masked.
pub fn camera_entry(cam: &CameraConfig, walls: Vec<String>) -> Json {
    let m = &cam.motion;
    let mut motion = Map::new();
    let mut put = |k: &str, v: Option<Json>| {
        if let Some(v) = v {
            motion.insert(k.to_string(), v);
        }
    };
    put("enabled", (!m.enabled).then_some(json!(false)));
    put("threshold", m.threshold.map(|v| json!(v)));
    put("min_area", m.min_area.as_ref().map(|v| json!(v.get_ref())));
    put("min_frames", m.min_frames.map(|v| json!(v)));
    put("hold_ms", m.hold_ms.map(|v| json!(v)));
    put("analysis_width", m.analysis_width.map(|v| json!(v)));
    put("zones", m.zones.as_ref().map(|v| json!(v.get_ref())));
    put("learn_ignore", m.learn_ignore.map(|v| json!(v)));
    let mut entry = json!({
        "id": cam.id(),
        "name": cam.name(),
        "url": mask_url(cam.url()),
        "codec": cam.codec,
        "decoder": cam.decoder,
        "transport": cam.transport,
        "priority": cam.priority,
        "enabled": cam.enabled,
        "motion": motion,
        "walls": walls,
    });
    if let Some(detect) = cam.detect_url() {
        entry["detect_url"] = json!(mask_url(detect));
    }
    if let Some(codec) = cam.detect_codec {
        entry["detect_codec"] = json!(codec);
    }
    entry
}

/// Everyone who may use camwall as the API shows them: names and roles, never a token.
fn user_entries(config: &Config) -> Json {
    let admin = config
        .token()
        .map(|_| json!({"name": "admin", "role": "admin", "server_token": true}));
    let users = config
        .users
        .iter()
        .map(|u| json!({"name": u.name.get_ref(), "role": u.role.get_ref()}));
    Json::Array(admin.into_iter().chain(users).collect())
}

/// An edit that was not made, with the section its errors are about (`camera[3]`, `user[0]`).
struct Refused(Box<EditError>, Option<String>);

impl From<EditError> for Refused {
    fn from(e: EditError) -> Refused {
        Refused(Box::new(e), None)
    }
}

impl Refused {
    /// The answer that says why.
    fn response(self) -> warp::reply::Response {
        let (e, section) = (*self.0, self.1);
        let invalid = |reason: String, errors: Vec<Json>| {
            let body = json!({"error": "invalid-config", "reason": reason, "errors": errors});
            warp::reply::with_status(warp::reply::json(&body), StatusCode::BAD_REQUEST)
                .into_response()
        };
        match e {
            EditError::Invalid(config) => invalid(
                config.to_string(),
                edit::fields_of(&config, section.as_deref().unwrap_or("\u{0}"))
                    .into_iter()
                    .map(|(field, e)| {
                        json!({"key": e.key, "field": field, "line": e.line, "message": e.message})
                    })
                    .collect(),
            ),
            EditError::Field { field, message } => invalid(
                format!("{field}: {message}"),
                vec![json!({"key": field, "field": field, "line": null, "message": message})],
            ),
            EditError::UnknownCamera(_) => {
                json_error(StatusCode::NOT_FOUND, "unknown-camera", e.to_string())
            }
            EditError::UnknownWall(_) => {
                json_error(StatusCode::NOT_FOUND, "unknown-wall", e.to_string())
            }
            EditError::UnknownUser(_) => {
                json_error(StatusCode::NOT_FOUND, "unknown-user", e.to_string())
            }
            EditError::Exists(_) | EditError::UserExists(_) => {
                json_error(StatusCode::CONFLICT, "exists", e.to_string())
            }
            EditError::NoAdmin(why) => json_error(StatusCode::CONFLICT, "no-admin", why),
            EditError::Io(why) => {
                warn!("configuration edit: {why}");
                json_error(StatusCode::INTERNAL_SERVER_ERROR, "write-failed", why)
            }
        }
    }
}

/// What an edit did to the file, for its answer.
enum Outcome {
    /// A camera added or changed, with the walls that list it.
    Camera {
        id: String,
        walls: Vec<String>,
    },
    Wall(String),
    User(String),
    Removed(String),
}

/// The section of kind `kind` (`camera`, `wall`, `user`) whose `key` is `value` as the
/// configuration's errors name it (`camera[3]`), or, for `None`, the one an addition makes.
fn section(doc: &DocumentMut, kind: &str, key: &str, value: Option<&str>) -> Option<String> {
    let all = doc.get(kind).and_then(Item::as_array_of_tables);
    let position = match value {
        Some(v) => all?
            .iter()
            .position(|t| t.get(key).and_then(Item::as_str) == Some(v))?,
        None => all.map_or(0, |a| a.len()),
    };
    Some(format!("{kind}[{position}]"))
}

/// Makes `change` to the section `(kind, key, value)` of the file (see [`section`]); the result
/// must also pass `check`. A refusal names the section.
fn edit_section<T>(
    file: &ConfigFile,
    (kind, key, value): (&str, &str, Option<&str>),
    check: fn(&Config) -> Result<(), EditError>,
    change: impl FnOnce(&mut DocumentMut) -> Result<T, EditError>,
) -> Result<(Config, T), Refused> {
    let mut named = None;
    let done = file.edit_checked(
        |doc| {
            named = section(doc, kind, key, value);
            change(doc)
        },
        check,
    );
    done.map_err(|e| Refused(Box::new(e), named))
}

fn no_check(_: &Config) -> Result<(), EditError> {
    Ok(())
}

/// An edit of the file: the id (or name) the route names, `""` for an addition, and the body.
type Edit = fn(&ConfigFile, String, Map<String, Json>) -> Result<(Config, Outcome), Refused>;

fn add_camera(file: &ConfigFile, _: String, fields: Map<String, Json>) -> EditResult {
    edit_section(file, ("camera", "id", None), no_check, |doc| {
        let id = edit::add_camera(doc, &fields)?;
        let walls = edit::walls_listing(doc, &id);
        Ok(Outcome::Camera { id, walls })
    })
}

fn update_camera(file: &ConfigFile, id: String, fields: Map<String, Json>) -> EditResult {
    edit_section(file, ("camera", "id", Some(&id)), no_check, |doc| {
        edit::update_camera(doc, &id, &fields)?;
        let walls = edit::walls_listing(doc, &id);
        Ok(Outcome::Camera {
            id: id.clone(),
            walls,
        })
    })
}

fn remove_camera(file: &ConfigFile, id: String, _: Map<String, Json>) -> EditResult {
    edit_section(file, ("camera", "id", Some(&id)), no_check, |doc| {
        edit::remove_camera(doc, &id)?;
        Ok(Outcome::Removed(id.clone()))
    })
}

fn update_wall(file: &ConfigFile, id: String, fields: Map<String, Json>) -> EditResult {
    edit_section(file, ("wall", "id", Some(&id)), no_check, |doc| {
        edit::update_wall(doc, &id, &fields)?;
        Ok(Outcome::Wall(id.clone()))
    })
}

fn add_user(file: &ConfigFile, _: String, fields: Map<String, Json>) -> EditResult {
    edit_section(file, ("user", "name", None), edit::keeps_an_admin, |doc| {
        Ok(Outcome::User(edit::add_user(doc, &fields)?))
    })
}

fn update_user(file: &ConfigFile, name: String, fields: Map<String, Json>) -> EditResult {
    edit_section(
        file,
        ("user", "name", Some(&name)),
        edit::keeps_an_admin,
        |doc| {
            edit::update_user(doc, &name, &fields)?;
            Ok(Outcome::User(name.clone()))
        },
    )
}

fn remove_user(file: &ConfigFile, name: String, _: Map<String, Json>) -> EditResult {
    edit_section(
        file,
        ("user", "name", Some(&name)),
        edit::keeps_an_admin,
        |doc| {
            edit::remove_user(doc, &name)?;
            Ok(Outcome::Removed(name.clone()))
        },
    )
}

type EditResult = Result<(Config, Outcome), Refused>;

/// The answer's body for what an edit did, as the new configuration has it.
fn entry(config: &Config, outcome: Outcome) -> Json {
    let found = match &outcome {
        Outcome::Camera { id, walls } => config
            .cameras
            .iter()
            .find(|c| c.id() == id)
            .map(|c| camera_entry(c, walls.clone())),
        Outcome::Wall(id) => config.walls().into_iter().find(|w| &w.id == id).map(|w| {
            let cameras: Vec<&str> = w
                .cameras
                .iter()
                .filter_map(|&k| config.enabled_cameras().nth(k).map(|c| c.id()))
                .collect();
            json!({"id": w.id, "name": w.name, "cameras": cameras})
        }),
        Outcome::User(name) => config
            .users
            .iter()
            .find(|u| u.name.get_ref() == name)
            .map(|u| json!({"name": name, "role": u.role.get_ref()})),
        Outcome::Removed(id) => Some(json!({ "removed": id })),
    };
    found.unwrap_or_else(|| json!({}))
}

/// Makes `config` what runs: its users from the next request, its cameras and walls in the
/// pipeline. Called with the edit lock held.
async fn apply(state: &AppState, control: &Control, config: Config) -> Applied {
    let users = state.follow_users(&config);
    if !users.is_empty() {
        info!(?users, "users changed");
    }
    let mut applied = match control.apply(config).await {
        Ok(applied) => applied,
        Err(e) => {
            // The file has it; the next pipeline will.
            warn!("configuration saved, not applied yet: {e}");
            Applied::default()
        }
    };
    applied.users = users;
    applied
}

/// Everything an edit needs: the file, the supervisor, and the queue they share.
#[derive(Clone)]
struct Editor {
    state: Arc<AppState>,
    control: Control,
    waiting: Arc<tokio::sync::Semaphore>,
}

impl Editor {
    fn file(&self) -> Result<&ConfigFile, ApiError> {
        self.state.config_file.get().ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no-config-file",
                "camwall runs without a configuration file (the demo): there is nothing to edit",
            )
        })
    }

    /// A place in the queue of edits, or the answer that says it is full.
    fn queue(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.file()?;
        self.waiting.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                format!("{MAX_WAITING_EDITS} configuration edits are waiting; try again shortly"),
            )
        })
    }

    /// Makes the edit `change` (on a blocking thread), then applies the file's new
    /// configuration; answers with what was edited and what applying it did.
    async fn run(
        &self,
        created: bool,
        change: impl FnOnce(&ConfigFile) -> EditResult + Send + 'static,
    ) -> warp::reply::Response {
        let _queued = match self.queue() {
            Ok(permit) => permit,
            Err(answer) => return answer.response(),
        };
        let _one = self.state.edits.lock().await;
        let state = self.state.clone();
        let done = tokio::task::spawn_blocking(move || {
            change(state.config_file.get().expect("checked by queue"))
        })
        .await;
        let (config, outcome) = match done {
            Ok(Ok(done)) => done,
            Ok(Err(refused)) => return refused.response(),
            Err(_) => {
                return ApiError::unavailable("edit-failed", "the edit could not run").response()
            }
        };
        let mut body = entry(&config, outcome);
        body["applied"] = json!(apply(&self.state, &self.control, config).await);
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        warp::reply::with_status(warp::reply::json(&body), status).into_response()
    }

    /// A route that makes `change` with the JSON object of the request's body; `path`
    /// extracts the id it is about (`""` for an addition).
    fn with_body(
        &self,
        path: BoxedFilter<(String,)>,
        created: bool,
        change: Edit,
    ) -> BoxedFilter<(warp::reply::Response,)> {
        let editor = self.clone();
        path.and(limited_body())
            .then(move |id: String, body: RequestBody| {
                let editor = editor.clone();
                async move {
                    match object(body) {
                        Ok(fields) => {
                            editor
                                .run(created, move |file| change(file, id, fields))
                                .await
                        }
                        Err(answer) => answer.response(),
                    }
                }
            })
            .boxed()
    }

    /// A route without a body that makes `change` to the id `path` extracts.
    fn without_body(
        &self,
        path: BoxedFilter<(String,)>,
        change: Edit,
    ) -> BoxedFilter<(warp::reply::Response,)> {
        let editor = self.clone();
        path.then(move |id: String| {
            let editor = editor.clone();
            async move {
                editor
                    .run(false, move |file| change(file, id, Map::new()))
                    .await
            }
        })
        .boxed()
    }

    /// A route that answers `read` of the file as it is now.
    fn reading(
        &self,
        path: BoxedFilter<()>,
        read: fn(&ConfigFile) -> Result<Json, EditError>,
    ) -> BoxedFilter<(warp::reply::Response,)> {
        let editor = self.clone();
        path.then(move || {
            let editor = editor.clone();
            async move {
                if let Err(answer) = editor.file() {
                    return answer.response();
                }
                let state = editor.state.clone();
                let done = tokio::task::spawn_blocking(move || {
                    read(state.config_file.get().expect("checked above"))
                })
                .await;
                match done {
                    Ok(Ok(body)) => warp::reply::json(&body).into_response(),
                    Ok(Err(e)) => Refused::from(e).response(),
                    Err(_) => ApiError::unavailable("read-failed", "the file could not be read")
                        .response(),
                }
            }
        })
        .boxed()
    }
}

/// Every camera of the file, masked, with the walls that list it.
fn cameras_of(file: &ConfigFile) -> Result<Json, EditError> {
    let config = file.load()?;
    let doc = file.document()?;
    Ok(Json::Array(
        config
            .cameras
            .iter()
            .map(|c| camera_entry(c, edit::walls_listing(&doc, c.id())))
            .collect(),
    ))
}

fn users_of(file: &ConfigFile) -> Result<Json, EditError> {
    Ok(user_entries(&file.load()?))
}

/// The body as a JSON object, or the answer that says why it is not one.
fn object(body: RequestBody) -> Result<Map<String, Json>, ApiError> {
    let bytes = body.complete()?;
    match serde_json::from_slice::<Json>(&bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("expected a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("not JSON: {e}"))),
    }
}

/// Applies the file as it is now (SIGHUP, `camwall reload`, `POST /api/reload`).
pub async fn reload(state: Arc<AppState>, control: Control) -> Result<Applied, EditError> {
    if state.config_file.get().is_none() {
        return Err(EditError::Io(
            "camwall runs without a configuration file".into(),
        ));
    }
    let _one = state.edits.clone().lock_owned().await;
    let loaded = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.config_file.get().map(ConfigFile::load))
            .await
            .map_err(|e| EditError::Io(e.to_string()))?
    };
    let config = loaded.ok_or_else(|| EditError::Io("no configuration file".into()))??;
    let applied = apply(&state, &control, config).await;
    info!(?applied, "configuration reloaded");
    Ok(applied)
}

/// The routes of this module.
pub(super) fn routes(
    state: Arc<AppState>,
    control: Control,
) -> BoxedFilter<(warp::reply::Response,)> {
    let editor = Editor {
        state: state.clone(),
        control: control.clone(),
        waiting: Arc::new(tokio::sync::Semaphore::new(MAX_WAITING_EDITS)),
    };
    let none = || String::new();
    let cameras = editor.reading(
        warp::path!("api" / "cameras" / "config")
            .and(warp::get())
            .boxed(),
        cameras_of,
    );
    let users = editor.reading(
        warp::path!("api" / "users").and(warp::get()).boxed(),
        users_of,
    );
    let add_camera = editor.with_body(
        warp::path!("api" / "cameras")
            .and(warp::post())
            .map(none)
            .boxed(),
        true,
        add_camera,
    );
    let update_camera = editor.with_body(
        warp::path!("api" / "cameras" / String)
            .and(warp::put())
            .boxed(),
        false,
        update_camera,
    );
    let remove_camera = editor.without_body(
        warp::path!("api" / "cameras" / String)
            .and(warp::delete())
            .boxed(),
        remove_camera,
    );
    let update_wall = editor.with_body(
        warp::path!("api" / "walls" / String)
            .and(warp::put())
            .boxed(),
        false,
        update_wall,
    );
    let add_user = editor.with_body(
        warp::path!("api" / "users")
            .and(warp::post())
            .map(none)
            .boxed(),
        true,
        add_user,
    );
    let update_user = editor.with_body(
        warp::path!("api" / "users" / String)
            .and(warp::put())
            .boxed(),
        false,
        update_user,
    );
    let remove_user = editor.without_body(
        warp::path!("api" / "users" / String)
            .and(warp::delete())
            .boxed(),
        remove_user,
    );
    let reload_route = warp::path!("api" / "reload")
        .and(warp::post())
        .then(move || {
            let editor = editor.clone();
            async move {
                let _queued = match editor.queue() {
                    Ok(permit) => permit,
                    Err(answer) => return answer.response(),
                };
                match reload(editor.state.clone(), editor.control.clone()).await {
                    Ok(applied) => {
                        warp::reply::json(&json!({ "applied": applied })).into_response()
                    }
                    Err(e) => Refused::from(e).response(),
                }
            }
        });
    cameras
        .or(users)
        .unify()
        .or(add_camera)
        .unify()
        .or(update_camera)
        .unify()
        .or(remove_camera)
        .unify()
        .or(update_wall)
        .unify()
        .or(add_user)
        .unify()
        .or(update_user)
        .unify()
        .or(remove_user)
        .unify()
        .or(reload_route)
        .unify()
        .boxed()
}
