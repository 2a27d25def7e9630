// SPDX-License-Identifier: MIT OR Apache-2.0

//! The processes under test: `camwall fakecam` and `camwall run`, each its own process so that
//! each one's CPU is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use camwall_tests::http;

use crate::procs::{free_port, Proc};

/// Picture size and rate of the simulated cameras.
#[derive(Debug, Clone, Copy)]
pub struct CamSize {
    pub width: u32,
    pub height: u32,
}

impl CamSize {
    pub const HD720: CamSize = CamSize {
        width: 1280,
        height: 720,
    };
    pub const HD1080: CamSize = CamSize {
        width: 1920,
        height: 1080,
    };

    pub fn label(&self) -> String {
        format!("{}p25", self.height)
    }

    pub fn parse(s: &str) -> anyhow::Result<CamSize> {
        let (w, h) = s
            .split_once('x')
            .with_context(|| format!("'{s}': expected WIDTHxHEIGHT"))?;
        Ok(CamSize {
            width: w.parse().with_context(|| format!("'{s}': width"))?,
            height: h.parse().with_context(|| format!("'{s}': height"))?,
        })
    }
}

/// `camwall fakecam` in its own process.
pub struct Fakecam {
    pub proc: Proc,
    /// `(id, rtsp url)` of each camera, `cam1`.. in order (stamp index = position).
    pub cameras: Vec<(String, String)>,
    /// `127.0.0.1:PORT` of the control endpoint.
    pub control: String,
    pub size: CamSize,
}

impl Fakecam {
    pub fn start(camwall: &Path, n: usize, size: CamSize) -> anyhow::Result<Fakecam> {
        let mut proc = Proc::spawn(
            "camwall fakecam",
            Command::new(camwall).args([
                "fakecam",
                "--port",
                "0",
                "--control-port",
                "0",
                "--cameras",
                &n.to_string(),
                "--width",
                &size.width.to_string(),
                "--height",
                &size.height.to_string(),
            ]),
        )?;
        let mut cameras = Vec::new();
        let control = loop {
            let line = proc.wait_line(Duration::from_secs(20), |l| {
                l.contains(" rtsp://") || l.starts_with("control ")
            })?;
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("control"), Some(url)) => {
                    break url
                        .trim_start_matches("http://")
                        .trim_end_matches("/cameras")
                        .to_string()
                }
                (Some(id), Some(url)) => cameras.push((id.to_string(), url.to_string())),
                _ => bail!("fakecam: unexpected line '{line}'"),
            }
        };
        if cameras.len() != n {
            bail!("fakecam announced {} cameras, not {n}", cameras.len());
        }
        Ok(Fakecam {
            proc,
            cameras,
            control,
            size,
        })
    }

    /// When each of the newest frames of every camera left the fakecam: `(camera index, stamp
    /// Unix ms) -> sent Unix ms`.
    pub fn sent(&self) -> anyhow::Result<std::collections::HashMap<(u8, u64), u64>> {
        let mut out = std::collections::HashMap::new();
        for (index, (id, _)) in self.cameras.iter().enumerate() {
            let res =
                camwall_tests::http("GET", &self.control, &format!("/cameras/{id}/sent"), None)?;
            anyhow::ensure!(res.status == 200, "GET /cameras/{id}/sent: {}", res.status);
            for e in res.json()?.as_array().into_iter().flatten() {
                if let (Some(stamp), Some(sent)) = (e["stamp_ms"].as_u64(), e["sent_ms"].as_u64()) {
                    out.insert((index as u8, stamp), sent);
                }
            }
        }
        Ok(out)
    }

    /// POSTs a control action (`motion/on`, ...) for a camera.
    pub fn control(&self, id: &str, action: &str) -> anyhow::Result<()> {
        camwall_tests::fakecam_control(&self.control, id, action)
    }
}

/// Cameras served by VLC from a clip made with ffmpeg ([`camwall_tests::clips`]), one VLC
/// process each, sent as they are.
pub struct VlcCams {
    _servers: Vec<camwall_tests::clips::VlcServer>,
    /// `(id, rtsp url)` of each camera, `clip1`...
    pub cameras: Vec<(String, String)>,
}

impl VlcCams {
    /// `n` VLC servers of `clip`; returns once each accepts connections.
    pub fn start(clip: &Path, n: usize) -> anyhow::Result<VlcCams> {
        let (mut servers, mut cameras) = (Vec::new(), Vec::new());
        for i in 1..=n {
            let id = format!("clip{i}");
            let server = camwall_tests::clips::VlcServer::start(clip, &id)?;
            cameras.push((id, server.url()));
            servers.push(server);
        }
        Ok(VlcCams {
            _servers: servers,
            cameras,
        })
    }
}

/// `camwall run` on a generated configuration, in its own process.
pub struct Camwall {
    pub proc: Proc,
    /// `127.0.0.1:PORT` of its page, API and WebSocket.
    pub addr: String,
    config: PathBuf,
}

impl Camwall {
    /// Starts camwall on every camera of `cams` (with [`camwall::demo::fakecam_zones`]) and
    /// waits until all of them are live. `extra` is more TOML (e.g. a `[selector]` table).
    pub fn start(camwall: &Path, cams: &Fakecam, extra: &str) -> anyhow::Result<Camwall> {
        Self::start_on(camwall, &cams.cameras, extra)
    }

    /// [`Camwall::start`] on some of a fakecam's cameras only.
    pub fn start_on(
        camwall: &Path,
        cameras: &[(String, String)],
        extra: &str,
    ) -> anyhow::Result<Camwall> {
        Self::start_with(camwall, cameras, extra, "")
    }

    /// [`Camwall::start_on`] with `motion` (more TOML) in every camera's `[camera.motion]`.
    pub fn start_with(
        camwall: &Path,
        cameras: &[(String, String)],
        extra: &str,
        motion: &str,
    ) -> anyhow::Result<Camwall> {
        let cameras: Vec<_> = cameras
            .iter()
            .map(|(id, url)| (id.clone(), url.clone(), None))
            .collect();
        Self::start_detecting(camwall, &cameras, extra, motion)
    }

    /// [`Camwall::start_with`] on cameras of `(id, url, detect_url)`.
    pub fn start_detecting(
        camwall: &Path,
        cameras: &[(String, String, Option<String>)],
        extra: &str,
        motion: &str,
    ) -> anyhow::Result<Camwall> {
        let mut text = String::new();
        for (id, url, detect) in cameras {
            let detect = detect
                .as_ref()
                .map(|d| format!("detect_url = \"{d}\"\n"))
                .unwrap_or_default();
            text.push_str(&format!(
                "\n[[camera]]\nid = \"{id}\"\nurl = \"{url}\"\n{detect}codec = \"h264\"\n\
                 [camera.motion]\nzones = \"{}\"\n{motion}\n",
                camwall::demo::fakecam_zones()
            ));
        }
        Self::start_cameras(camwall, &format!("{extra}\n{text}"))
    }

    /// `camwall run` on `config` (TOML: its `[server]` table is added) until every camera in
    /// it is live.
    pub fn start_cameras(camwall: &Path, config: &str) -> anyhow::Result<Camwall> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let text = format!("[server]\nlisten = \"{addr}\"\n{config}\n");
        let config = std::env::temp_dir().join(format!(
            "camwall-bench-{}-{}.toml",
            std::process::id(),
            addr.replace([':', '.'], "_")
        ));
        std::fs::write(&config, text).with_context(|| format!("{}", config.display()))?;
        let mut proc = Proc::spawn(
            "camwall run",
            Command::new(camwall)
                .args(["run", "--config"])
                .arg(&config)
                .env("CAMWALL_LOG", "info"),
        )?;
        proc.wait_line(Duration::from_secs(20), |l| {
            l.contains("camwall serving on")
        })?;
        let camwall = Camwall { proc, addr, config };
        camwall.wait_all_live(Duration::from_secs(40))?;
        Ok(camwall)
    }

    fn wait_all_live(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(res) = http("GET", &self.addr, "/api/cameras", None) {
                if let Ok(serde_json::Value::Array(cams)) = res.json() {
                    if !cams.is_empty() && cams.iter().all(|c| c["state"] == "live") {
                        return Ok(());
                    }
                    last = serde_json::Value::Array(cams).to_string();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("camwall: not every camera live within {timeout:?}: {last}")
    }
}

/// PUT /api/selection on camwall at `addr`.
pub fn select(addr: &str, camera: &str) -> anyhow::Result<()> {
    let res = http(
        "PUT",
        addr,
        "/api/selection",
        Some(&format!("{{\"camera\":\"{camera}\"}}")),
    )?;
    if res.status != 200 {
        bail!("PUT /api/selection {camera}: HTTP {}", res.status);
    }
    Ok(())
}

/// GET /api/selection on camwall at `addr`.
pub fn selection(addr: &str) -> anyhow::Result<serde_json::Value> {
    http("GET", addr, "/api/selection", None)?.json()
}

/// The frames each camera of camwall at `addr` has counted (`frames` in `/api/cameras`, in its
/// order).
pub fn frames_counted(addr: &str) -> anyhow::Result<Vec<u64>> {
    counted(addr, "frames")
}

/// A count of each camera of camwall at `addr` (`frames`, `reconnects`: `/api/cameras`).
pub fn counted(addr: &str, field: &str) -> anyhow::Result<Vec<u64>> {
    let cams = http("GET", addr, "/api/cameras", None)?.json()?;
    Ok(cams
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c[field].as_u64().unwrap_or(0))
        .collect())
}

impl Drop for Camwall {
    fn drop(&mut self) {
        self.proc.stop();
        let _ = std::fs::remove_file(&self.config);
    }
}
