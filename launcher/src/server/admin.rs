// SPDX-License-Identifier: MIT OR Apache-2.0

//! Cameras and walls edited while camwall runs (admin): each edit goes into the configuration
//! file (`config::edit`: comments kept, validated as at start-up, written atomically) and is then
//! applied to the running pipeline (only what changed is built or taken down). Edits, reloads
//! and their application run one at a time, so the file and the pipeline never disagree.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/cameras/config` | every `[[camera]]` of the file (disabled ones too), URLs masked, with the walls that list it |
//! | `POST /api/cameras` `{id, url, ...}` | 201, the camera as the file has it, and what was applied |
//! | `PUT /api/cameras/{id}` `{field: value or null}` | 200; fields left out are kept, `null` ones go back to their default; a masked password keeps the stored one |
//! | `DELETE /api/cameras/{id}` | 200 `{"removed": id}`; walls listing it no longer do |
//! | `PUT /api/walls/{id}` `{"cameras": [...] or null, "name"}` | 200, the wall |
//! | `POST /api/reload` | re-reads the file and applies the difference (as SIGHUP does) |
//!
//! Errors: 400 `invalid-config` with `errors: [{key, field, line, message}]` (`field` within the
//! camera, e.g. `url`, `motion.min_area`), 404 `unknown-camera` / `unknown-wall`, 409 `exists`,
//! 409 `no-config-file` (camwall runs without one: the demo), 429 `busy` when too many edits
//! wait, 500 `write-failed`.

use std::sync::Arc;

use gstcamwall::http::{json_error, ApiError};
use serde_json::{json, Map, Value as Json};
use tracing::{info, warn};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::body::{limited_body, RequestBody};
use crate::config::edit::{self, ConfigFile, EditError};
use crate::config::{mask_url, CameraConfig, Config};
use crate::control::Control;
use crate::state::AppState;

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
    json!({
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
    })
}

/// The answer to an edit that was not made.
fn edit_error(e: EditError, section: Option<&str>) -> warp::reply::Response {
    match e {
        EditError::Invalid(config) => {
            let errors: Vec<Json> = edit::fields_of(&config, section.unwrap_or("\u{0}"))
                .into_iter()
                .map(|(field, e)| {
                    json!({"key": e.key, "field": field, "line": e.line, "message": e.message})
                })
                .collect();
            let body = json!({
                "error": "invalid-config",
                "reason": config.to_string(),
                "errors": errors,
            });
            warp::reply::with_status(warp::reply::json(&body), StatusCode::BAD_REQUEST)
                .into_response()
        }
        EditError::Field { field, message } => {
            let body = json!({
                "error": "invalid-config",
                "reason": format!("{field}: {message}"),
                "errors": [{"key": field, "field": field, "line": null, "message": message}],
            });
            warp::reply::with_status(warp::reply::json(&body), StatusCode::BAD_REQUEST)
                .into_response()
        }
        EditError::UnknownCamera(_) => {
            json_error(StatusCode::NOT_FOUND, "unknown-camera", e.to_string())
        }
        EditError::UnknownWall(_) => {
            json_error(StatusCode::NOT_FOUND, "unknown-wall", e.to_string())
        }
        EditError::Exists(_) => json_error(StatusCode::CONFLICT, "exists", e.to_string()),
        EditError::Io(why) => {
            warn!("configuration edit: {why}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "write-failed", why)
        }
    }
}

/// Everything an edit needs: the file, the supervisor, and the queue they share.
#[derive(Clone)]
struct Editor {
    state: Arc<AppState>,
    control: Control,
    /// One edit (or reload) at a time, from the file's change to its application.
    one: Arc<tokio::sync::Mutex<()>>,
    waiting: Arc<tokio::sync::Semaphore>,
}

/// What an edit did to the file, for its answer.
enum Outcome {
    Camera(String),
    Removed(String),
    Wall(String),
    Reloaded,
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

    /// Makes the edit `change` (on a blocking thread), then applies the file's new
    /// configuration to the running pipeline; answers with `what` was edited and what applying
    /// it did.
    async fn run(
        &self,
        section: Option<String>,
        created: bool,
        change: impl FnOnce(&ConfigFile) -> Result<(Config, Outcome), EditError> + Send + 'static,
    ) -> warp::reply::Response {
        let file = match self.file() {
            Ok(_) => self.state.clone(),
            Err(answer) => return answer.response(),
        };
        let Ok(_queued) = self.waiting.clone().try_acquire_owned() else {
            return json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                format!("{MAX_WAITING_EDITS} configuration edits are waiting; try again shortly"),
            );
        };
        let _one = self.one.lock().await;
        let done = tokio::task::spawn_blocking(move || {
            let file = file.config_file.get().expect("checked above");
            change(file)
        })
        .await;
        let (config, outcome) = match done {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return edit_error(e, section.as_deref()),
            Err(_) => {
                return ApiError::unavailable("edit-failed", "the edit could not run").response()
            }
        };
        let entry = match &outcome {
            Outcome::Camera(id) => config
                .cameras
                .iter()
                .find(|c| c.id() == id)
                .map(|c| camera_entry(c, walls_listing(&self.state, id))),
            Outcome::Wall(id) => config.walls().into_iter().find(|w| &w.id == id).map(|w| {
                let cameras: Vec<&str> = w
                    .cameras
                    .iter()
                    .filter_map(|&k| config.enabled_cameras().nth(k).map(|c| c.id()))
                    .collect();
                json!({"id": w.id, "name": w.name, "cameras": cameras})
            }),
            Outcome::Removed(id) => Some(json!({ "removed": id })),
            Outcome::Reloaded => Some(json!({})),
        };
        let applied = match self.control.apply(config).await {
            Ok(applied) => applied,
            Err(e) => {
                // The file has it; the next pipeline will.
                warn!("configuration saved, not applied yet: {e}");
                Default::default()
            }
        };
        let mut body = entry.unwrap_or_else(|| json!({}));
        body["applied"] = json!(applied);
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        warp::reply::with_status(warp::reply::json(&body), status).into_response()
    }
}

/// The walls whose `cameras` list camera `id` in the file.
fn walls_listing(state: &AppState, id: &str) -> Vec<String> {
    state
        .config_file
        .get()
        .and_then(|f| f.document().ok())
        .map(|doc| edit::walls_listing(&doc, id))
        .unwrap_or_default()
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

/// The position camera `id` has (or, added, will have) among the file's cameras, as its
/// errors name it (`camera[3]`).
fn section_of(file: &ConfigFile, id: Option<&str>) -> Option<String> {
    let doc = file.document().ok()?;
    let position = match id {
        Some(id) => edit::camera_position(&doc, id)?,
        None => doc
            .get("camera")
            .and_then(toml_edit::Item::as_array_of_tables)
            .map_or(0, |a| a.len()),
    };
    Some(format!("camera[{position}]"))
}

/// Applies the file as it is now (SIGHUP, `camwall reload`, `POST /api/reload`).
pub async fn reload(
    state: Arc<AppState>,
    control: Control,
) -> Result<crate::supervisor::Applied, String> {
    let Some(_) = state.config_file.get() else {
        return Err("camwall runs without a configuration file".into());
    };
    let one = state.edits.clone();
    let _one = one.lock().await;
    let loaded = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.config_file.get().map(ConfigFile::load))
            .await
            .map_err(|e| e.to_string())?
    };
    let config = match loaded {
        Some(Ok(config)) => config,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("no configuration file".into()),
    };
    let applied = control.apply(config).await.map_err(|e| e.to_string())?;
    info!(?applied, "configuration reloaded");
    Ok(applied)
}

/// The routes of this module.
pub(super) fn routes(
    state: Arc<AppState>,
    control: Control,
) -> BoxedFilter<(warp::reply::Response,)> {
    let editor = Editor {
        one: state.edits.clone(),
        state: state.clone(),
        control: control.clone(),
        waiting: Arc::new(tokio::sync::Semaphore::new(MAX_WAITING_EDITS)),
    };
    let list = {
        let editor = editor.clone();
        warp::path!("api" / "cameras" / "config")
            .and(warp::get())
            .then(move || {
                let editor = editor.clone();
                async move {
                    let state = match editor.file() {
                        Ok(_) => editor.state.clone(),
                        Err(answer) => return answer.response(),
                    };
                    let read = tokio::task::spawn_blocking(move || {
                        let file = state.config_file.get().expect("checked above");
                        let config = file.load()?;
                        let doc = file.document()?;
                        Ok::<_, EditError>(
                            config
                                .cameras
                                .iter()
                                .map(|c| camera_entry(c, edit::walls_listing(&doc, c.id())))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .await;
                    match read {
                        Ok(Ok(all)) => warp::reply::json(&all).into_response(),
                        Ok(Err(e)) => edit_error(e, None),
                        Err(_) => {
                            ApiError::unavailable("read-failed", "the file could not be read")
                                .response()
                        }
                    }
                }
            })
    };
    let add = {
        let editor = editor.clone();
        warp::path!("api" / "cameras")
            .and(warp::post())
            .and(limited_body())
            .then(move |body: RequestBody| {
                let editor = editor.clone();
                async move {
                    let fields = match object(body) {
                        Ok(f) => f,
                        Err(answer) => return answer.response(),
                    };
                    // The new camera's errors are those of the section after the last.
                    let section = editor.file().ok().and_then(|f| section_of(f, None));
                    editor
                        .run(section, true, move |file| {
                            let (config, id) = file.edit(|doc| edit::add_camera(doc, &fields))?;
                            Ok((config, Outcome::Camera(id)))
                        })
                        .await
                }
            })
    };
    let change = {
        let editor = editor.clone();
        warp::path!("api" / "cameras" / String)
            .and(warp::put())
            .and(limited_body())
            .then(move |id: String, body: RequestBody| {
                let editor = editor.clone();
                async move {
                    let fields = match object(body) {
                        Ok(f) => f,
                        Err(answer) => return answer.response(),
                    };
                    let section = editor.file().ok().and_then(|f| section_of(f, Some(&id)));
                    editor
                        .run(section, false, move |file| {
                            let (config, ()) =
                                file.edit(|doc| edit::update_camera(doc, &id, &fields))?;
                            Ok((config, Outcome::Camera(id)))
                        })
                        .await
                }
            })
    };
    let remove = {
        let editor = editor.clone();
        warp::path!("api" / "cameras" / String)
            .and(warp::delete())
            .then(move |id: String| {
                let editor = editor.clone();
                async move {
                    editor
                        .run(None, false, move |file| {
                            let (config, ()) = file.edit(|doc| edit::remove_camera(doc, &id))?;
                            Ok((config, Outcome::Removed(id)))
                        })
                        .await
                }
            })
    };
    let wall = {
        let editor = editor.clone();
        warp::path!("api" / "walls" / String)
            .and(warp::put())
            .and(limited_body())
            .then(move |id: String, body: RequestBody| {
                let editor = editor.clone();
                async move {
                    let fields = match object(body) {
                        Ok(f) => f,
                        Err(answer) => return answer.response(),
                    };
                    editor
                        .run(None, false, move |file| {
                            let (config, ()) =
                                file.edit(|doc| edit::update_wall(doc, &id, &fields))?;
                            Ok((config, Outcome::Wall(id)))
                        })
                        .await
                }
            })
    };
    let reload_route = {
        let editor = editor.clone();
        warp::path!("api" / "reload")
            .and(warp::post())
            .then(move || {
                let editor = editor.clone();
                async move {
                    if let Err(answer) = editor.file() {
                        return answer.response();
                    }
                    editor
                        .run(None, false, move |file| {
                            Ok((file.load()?, Outcome::Reloaded))
                        })
                        .await
                }
            })
    };
    list.or(add)
        .unify()
        .or(change)
        .unify()
        .or(remove)
        .unify()
        .or(wall)
        .unify()
        .or(reload_route)
        .unify()
        .boxed()
}
