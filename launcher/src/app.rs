// SPDX-License-Identifier: MIT OR Apache-2.0

//! The launcher as one running thing: state, supervisor (pipeline) and HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gstcamwall::mjpegwssink::ClientSet;
use tracing::info;
use warp::Filter;

use crate::config::Config;
use crate::state::AppState;
use crate::supervisor::Supervisor;

/// Initialises GStreamer and registers camwall's elements from the rlib: no plugin path needed.
pub fn init_gst() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstcamwall::plugin_register_static().expect("camwall's elements register");
    });
}

/// Serves `config` on `listener` until `shutdown` resolves, then stops everything within a
/// second.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_file(config, None, listener, shutdown).await
}

/// Like [`serve`], for `config` read from `file`: the API's edits change that file, and a
/// SIGHUP re-reads it and applies what changed.
pub async fn serve_file(
    config: Config,
    file: Option<std::path::PathBuf>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    init_gst();
    let state = AppState::new(config);
    if let Some(path) = file {
        let _ = state
            .config_file
            .set(crate::config::edit::ConfigFile::new(path));
    }
    // The control handle before its users; integrations before the supervisor, so that
    // history and MQTT see its first events.
    let (control, requests) = crate::control::channel();
    let integrations = crate::integrations::Integrations::start(&state, &control)?;
    let supervisor = Arc::new(Supervisor::start(state.clone(), control, requests)?);
    serve_with(state, supervisor, integrations, listener, shutdown).await
}

/// Like [`serve`], with the state, integrations and supervisor made by the caller (who keeps
/// handles to them).
pub async fn serve_with(
    state: Arc<AppState>,
    supervisor: Arc<Supervisor>,
    integrations: Arc<crate::integrations::Integrations>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let clients = ClientSet::new();
    let routes = crate::server::guarded(
        &state,
        crate::integrations::routes::routes(state.clone(), integrations)
            .or(crate::server::routes(
                state.clone(),
                supervisor.control().clone(),
                clients.clone(),
            ))
            .unify(),
    );
    let addr = listener.local_addr()?;
    if state.config_file.get().is_some() {
        tokio::spawn(reload_on_hangup(
            state.clone(),
            supervisor.control().clone(),
        ));
    }
    info!("camwall serving on http://{addr}/");
    let server = gstcamwall::http::serve(
        routes.map(warp::Reply::into_response).boxed(),
        listener,
        gstcamwall::http::HEADER_READ_TIMEOUT,
        std::future::pending(),
    );
    tokio::select! {
        _ = server => {},
        _ = shutdown => {
            info!("shutting down");
            clients.close_all(1001, "camwall is shutting down");
        },
    }
    let sup = supervisor.clone();
    tokio::task::spawn_blocking(move || sup.shutdown())
        .await
        .context("stopping the pipeline")?;
    Ok(())
}

/// Re-reads the configuration file at each SIGHUP and applies what changed.
async fn reload_on_hangup(state: Arc<AppState>, control: crate::control::Control) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: the configuration reloads only by the API");
        return;
    };
    while hangups.recv().await.is_some() {
        info!("SIGHUP: reloading the configuration");
        if let Err(e) = crate::server::reload(state.clone(), control.clone()).await {
            tracing::error!("the configuration was not reloaded:\n{e}");
        }
    }
}

/// A launcher running on its own runtime thread (for tests and embedding). Stops on drop.
pub struct App {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    supervisor: Arc<Supervisor>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl App {
    /// Binds `config`'s listen address (port 0 picks a free port) and starts serving.
    pub fn start(config: Config) -> anyhow::Result<App> {
        App::start_with(config, None)
    }

    /// Reads and starts the configuration `path`, which the API's edits then change.
    pub fn start_file(path: &std::path::Path) -> anyhow::Result<App> {
        App::start_with(Config::load(path)?, Some(path.to_path_buf()))
    }

    fn start_with(config: Config, file: Option<std::path::PathBuf>) -> anyhow::Result<App> {
        let listener = std::net::TcpListener::bind(config.listen_addr())
            .with_context(|| format!("listening on {}", config.listen_addr()))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        init_gst();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let state = AppState::new(config);
        if let Some(path) = file {
            let _ = state
                .config_file
                .set(crate::config::edit::ConfigFile::new(path));
        }
        // The integrations spawn their tasks on the runtime; they start before the supervisor
        // so that they see its first events.
        let (control, requests) = crate::control::channel();
        let integrations = {
            let _inside = rt.enter();
            crate::integrations::Integrations::start(&state, &control)?
        };
        let supervisor = Arc::new(Supervisor::start(state.clone(), control, requests)?);
        let (served_state, served_supervisor) = (state.clone(), supervisor.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("camwall-app".into())
            .spawn(move || {
                let result = rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve_with(
                        served_state,
                        served_supervisor,
                        integrations,
                        listener,
                        async {
                            let _ = stopped.await;
                        },
                    )
                    .await
                });
                rt.shutdown_timeout(Duration::from_millis(200));
                result
            })?;
        Ok(App {
            addr,
            state,
            supervisor,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// What the launcher knows: cameras, selection, the viewers' feed.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The pipeline's supervisor.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.supervisor
    }

    /// Stops the launcher and waits for it.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the launcher thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
