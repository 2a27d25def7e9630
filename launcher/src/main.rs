// SPDX-License-Identifier: MIT OR Apache-2.0

use std::process::ExitCode;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tracing::{error, info};

use camwall::config::Config;
use camwall::demo;
use camwall::fakecam::{self, CameraConfig, Codec, FakeCam, FakeCamConfig};

/// camwall: a low-latency camera wall in the browser.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the camera wall described by a configuration file.
    Run {
        /// The TOML configuration (see `camwall::config`).
        #[arg(long, short, default_value = "camwall.toml")]
        config: PathBuf,
    },
    /// Run the camera wall on simulated cameras started in this process.
    Demo(DemoArgs),
    /// Check a configuration file and print the gst-launch-1.0 line it makes; then connect to
    /// each camera and warn about a codec setting that cannot decode what it sends.
    Check {
        #[arg(long, short, default_value = "camwall.toml")]
        config: PathBuf,
        /// Do not connect to the cameras.
        #[arg(long)]
        no_probe: bool,
    },
    /// Ask the running camwall to re-read its configuration file and apply what changed (as a
    /// SIGHUP does), through its API at the file's `listen` address with its token.
    Reload {
        #[arg(long, short, default_value = "camwall.toml")]
        config: PathBuf,
    },
    /// Serve simulated IP cameras over RTSP on 127.0.0.1, with an HTTP control endpoint.
    Fakecam(FakecamArgs),
}

#[derive(Args)]
struct DemoArgs {
    /// Address and port of the page, the API and the WebSocket.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Number of simulated cameras.
    #[arg(long, default_value_t = 4)]
    cameras: usize,
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
}

#[derive(Args)]
struct FakecamArgs {
    /// Number of cameras (cam1..camN).
    #[arg(long, default_value_t = 4)]
    cameras: usize,
    /// RTSP port (0 = any free port).
    #[arg(long, default_value_t = 8554)]
    port: u16,
    /// Control endpoint port (0 = any free port).
    #[arg(long, default_value_t = 8555)]
    control_port: u16,
    /// Address to listen on. Keep it on loopback unless you mean it.
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Frames between H.264 keyframes (0 = one second).
    #[arg(long, default_value_t = 0)]
    gop: u32,
    #[arg(long, value_enum, default_value_t = Codec::H264)]
    codec: Codec,
    /// Motion schedule for a camera, repeatable: cam2=5s..8s,20s..25s or cam3=every:20s:4s[@10s].
    #[arg(long = "motion", value_name = "CAMERA=SCHEDULE")]
    motion: Vec<String>,
    /// Do not paint the machine-readable capture-time strip along the bottom edge.
    #[arg(long)]
    no_stamp: bool,
    /// Ask every client for these credentials (RTSP basic authentication), as real cameras do.
    #[arg(long, value_name = "USER:PASSWORD")]
    auth: Option<String>,
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn fakecam_config(args: &FakecamArgs) -> anyhow::Result<FakeCamConfig> {
    let mut config = FakeCamConfig::with_cameras(args.cameras);
    config.address = args.address.clone();
    config.port = args.port;
    config.width = args.width;
    config.height = args.height;
    config.fps = args.fps;
    config.gop = args.gop;
    config.codec = args.codec;
    config.stamp = !args.no_stamp;
    config.auth = args
        .auth
        .as_deref()
        .map(fakecam::Credentials::parse)
        .transpose()?;
    for spec in &args.motion {
        let (id, schedule) = fakecam::schedule::parse_camera_spec(spec)?;
        let cam: &mut CameraConfig = config
            .cameras
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| anyhow::anyhow!("--motion {spec}: no camera named '{id}'"))?;
        cam.motion = schedule;
    }
    Ok(config)
}

async fn run_fakecam(args: FakecamArgs) -> anyhow::Result<()> {
    let config = fakecam_config(&args)?;
    let cams = FakeCam::start(config)?;
    let listener = tokio::net::TcpListener::bind((args.address.as_str(), args.control_port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "control endpoint on {}:{}: {e}",
                args.address,
                args.control_port
            )
        })?;
    let control = listener.local_addr()?;
    for cam in cams.cameras() {
        println!("{}  {}", cam.id, cam.url);
    }
    println!("control  http://{control}/cameras");
    info!(port = cams.port(), %control, "fakecam serving");
    fakecam::control::serve(cams.clone(), listener, shutdown_signal()).await;
    cams.stop();
    info!("fakecam stopped");
    Ok(())
}

async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))
}

async fn run(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    let listener = bind(config.server.listen.get_ref()).await?;
    camwall::app::serve_file(config, Some(path), listener, shutdown_signal()).await
}

async fn reload(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    let mut addr = config.listen_addr();
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}/api/reload"))
        .timeout(Duration::from_secs(30));
    if let Some(token) = config.token() {
        request = request.bearer_auth(token);
    }
    let answer = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach camwall at {addr}: {e}"))?;
    let status = answer.status();
    let body: serde_json::Value =
        serde_json::from_slice(&answer.bytes().await.unwrap_or_default()).unwrap_or_default();
    if !status.is_success() {
        let reason = body["reason"].as_str().unwrap_or("no reason given");
        anyhow::bail!("camwall refused the reload ({status}):\n{reason}");
    }
    let applied = &body["applied"];
    let list = |k: &str| {
        applied[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!(
        "reloaded: added [{}], changed [{}], removed [{}], walls [{}]",
        list("added"),
        list("changed"),
        list("removed"),
        list("walls")
    );
    for what in applied["restart_needed"].as_array().into_iter().flatten() {
        println!("needs a restart: {}", what.as_str().unwrap_or_default());
    }
    Ok(())
}

async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    camwall::init_gst();
    let cams = FakeCam::start(demo::fakecam_config(args.cameras, args.width, args.height))?;
    let control = bind("127.0.0.1:0").await?;
    let control_addr = control.local_addr()?;
    let config = demo::config_for(&cams, &args.listen, "")?;
    let listener = bind(&args.listen).await?;
    println!("camwall demo: open http://{}/", listener.local_addr()?);
    println!(
        "simulated cameras: control at http://{control_addr}/cameras (motion on cam2 every 20 s)"
    );
    let (stop_control, control_stopped) = tokio::sync::oneshot::channel::<()>();
    let control_task = tokio::spawn(fakecam::control::serve(cams.clone(), control, async {
        let _ = control_stopped.await;
    }));
    let result = camwall::app::serve(config, listener, shutdown_signal()).await;
    let _ = stop_control.send(());
    let _ = control_task.await;
    tokio::task::spawn_blocking(move || cams.stop()).await?;
    result
}

fn check(config: PathBuf, probe: bool) -> anyhow::Result<()> {
    let config = Config::load(&config)?;
    camwall::init_gst();
    let line = camwall::pipeline::launch_line(&config, config.listen_addr().port(), false);
    println!(
        "configuration is valid; as a gst-launch-1.0 pipeline (passwords masked):\n\n{line}\n"
    );
    for warning in camwall::pipeline::missing_decoders(&config) {
        println!("warning: {warning}");
    }
    if !probe {
        return Ok(());
    }
    // Every stream of every camera at once (its sub-stream too), each within 5 s.
    let probes: Vec<_> = config
        .enabled_cameras()
        .flat_map(|cam| {
            let main = (
                cam.id().to_string(),
                "codec",
                cam.url().to_string(),
                cam.codec,
            );
            let sub = cam.detect_url().map(|url| {
                let id = format!("{} (detect_url)", cam.id());
                (id, "detect_codec", url.to_string(), cam.detect_codec())
            });
            std::iter::once(main).chain(sub)
        })
        .map(|(id, key, url, codec)| {
            std::thread::spawn(move || {
                let found = camwall::probe::probe(&url, Duration::from_secs(5));
                camwall::probe::stream_verdict(&id, key, codec, &found)
            })
        })
        .collect();
    for handle in probes {
        if let Ok(line) = handle.join() {
            println!("{line}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAMWALL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a journal or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run { config } => run(config).await,
            Command::Demo(args) => run_demo(args).await,
            Command::Check { config, no_probe } => check(config, !no_probe),
            Command::Fakecam(args) => run_fakecam(args).await,
            Command::Reload { config } => reload(config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Said once, on standard error, where the log goes too. A configuration's
            // problems are one per line, each `file:line: key: what is wrong`.
            match e.downcast_ref::<camwall::config::ConfigError>() {
                Some(config) => eprintln!("camwall: the configuration has errors:\n{config}"),
                None => error!("{e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}
