// SPDX-License-Identifier: MIT OR Apache-2.0

//! Helpers shared by camwall's end-to-end tests: start-up, a frame grabber that pulls a camera
//! over RTSP, and a minimal HTTP client for loopback requests.

pub mod clips;
pub mod clipserver;
pub mod scenes;
pub mod score;
pub mod viewer;

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;

/// Initialises GStreamer and registers camwall's elements statically, once per process: the
/// launcher's own initialisation, so that a test that also starts a launcher never registers
/// the elements twice (their factories would be replaced under the elements made before).
pub fn init() {
    camwall::init_gst();
}

/// The cargo target directory of the running test binary (`target/<profile>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

/// A decoded frame as grey (luma) pixels.
#[derive(Clone)]
pub struct GreyFrame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl GreyFrame {
    /// Mean absolute difference against another frame over rows `[y0, y1)`.
    pub fn mean_abs_diff(&self, other: &GreyFrame, y0: usize, y1: usize) -> f64 {
        let w = self.width;
        let (mut sum, mut n) = (0u64, 0u64);
        for y in y0..y1.min(self.height).min(other.height) {
            for x in 0..w.min(other.width) {
                sum +=
                    u64::from(self.pixels[y * w + x].abs_diff(other.pixels[y * other.width + x]));
                n += 1;
            }
        }
        sum as f64 / n.max(1) as f64
    }

    pub fn stamp(&self) -> Option<camwall::framestamp::Stamp> {
        camwall::framestamp::read_luma(&self.pixels, self.width, self.width, self.height)
    }
}

/// Pulls one camera over RTSP (rtspsrc latency=0), decodes it and hands out grey frames.
pub struct FrameGrabber {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
}

impl FrameGrabber {
    pub fn start(url: &str) -> anyhow::Result<Self> {
        init();
        let pipeline = gst::parse::launch(&format!(
            "rtspsrc location={url} latency=0 protocols=tcp ! decodebin ! videoconvert \
             ! video/x-raw,format=GRAY8 ! appsink name=sink sync=false max-buffers=2 drop=true"
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .context("appsink")?;
        pipeline.set_state(gst::State::Playing)?;
        Ok(FrameGrabber { pipeline, sink })
    }

    /// The next frame, or an error on timeout, EOS or a pipeline error (with its message).
    pub fn next_frame(&self, timeout: Duration) -> anyhow::Result<GreyFrame> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(err) = self.pending_error() {
                bail!(err);
            }
            if let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
            {
                return grey_frame(&sample);
            }
            if self.sink.is_eos() {
                bail!("end of stream");
            }
        }
        bail!("no frame within {timeout:?}")
    }

    /// The first error on the bus, if any.
    pub fn pending_error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                return Some(format!("{}: {:?}", e.error(), e.debug()));
            }
        }
        None
    }
}

impl Drop for FrameGrabber {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn grey_frame(sample: &gst::Sample) -> anyhow::Result<GreyFrame> {
    let caps = sample.caps().context("sample caps")?;
    let info = gst_video::VideoInfo::from_caps(caps)?;
    let buffer = sample.buffer().context("sample buffer")?;
    let map = buffer.map_readable()?;
    let (w, h, stride) = (
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
    );
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        pixels.extend_from_slice(&map[y * stride..y * stride + w]);
    }
    Ok(GreyFrame {
        width: w,
        height: h,
        pixels,
    })
}

/// A response from [`http`].
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The response's headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// One HTTP request to a loopback server.
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    http_with_headers(method, addr, path, &[], body)
}

/// Like [`http`], with extra request headers. Made with `reqwest`'s blocking client; called
/// from inside a tokio runtime (an async test), the request runs on a thread of its own, as
/// the blocking client requires.
pub fn http_with_headers(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return std::thread::scope(|s| {
            s.spawn(|| send(method, addr, path, headers, body))
                .join()
                .map_err(|_| anyhow::anyhow!("the HTTP request's thread panicked"))?
        });
    }
    send(method, addr, path, headers, body)
}

fn send(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    static CLIENT: std::sync::LazyLock<reqwest::blocking::Client> =
        std::sync::LazyLock::new(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("the tests' HTTP client")
        });
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut req = CLIENT.request(method, format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let res = req.send()?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = res.bytes()?.to_vec();
    Ok(HttpResponse {
        status,
        body,
        headers,
    })
}

/// A free port on 127.0.0.1 below the ephemeral range, so that no socket the system numbers
/// itself (the servers' and camwall's RTP ports among them) can take it between the pick and
/// the server's start; each call gives another one.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 500) as u16 * 20,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::AcqRel);
        assert!(port < 32_000, "no free port below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some`, up to `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fakecam with its HTTP control endpoint, both on loopback, stopped on drop.
pub struct FakeCamWithControl {
    pub cams: camwall::fakecam::FakeCam,
    /// `127.0.0.1:PORT` of the control endpoint.
    pub control: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeCamWithControl {
    pub fn start(config: camwall::fakecam::FakeCamConfig) -> anyhow::Result<Self> {
        init();
        let cams = camwall::fakecam::FakeCam::start(config)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let control = listener.local_addr()?.to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = cams.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                camwall::fakecam::control::serve(served, listener, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        Ok(FakeCamWithControl {
            cams,
            control,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn url(&self, id: &str) -> String {
        self.cams.url(id).expect("known camera")
    }

    /// POSTs a control action (`motion/on`, `offline`, ...) and checks it succeeded.
    pub fn control(&self, id: &str, action: &str) -> anyhow::Result<()> {
        fakecam_control(&self.control, id, action)
    }
}

impl Drop for FakeCamWithControl {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.cams.stop();
    }
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Runs `pipelines/<script>` with the test build's plugin until a line of its output contains
/// `expect` (returns that line) or `timeout` passes (error with the output); the script is
/// killed either way.
pub fn run_example_until(
    script: &str,
    args: &[&str],
    expect: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new("bash")
        .arg(repo_root().join("pipelines").join(script))
        .args(args)
        .env("CAMWALL_PLUGIN_DIR", profile_dir())
        .env("GST_REGISTRY", profile_dir().join("examples-registry.bin"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(expect) => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    found.ok_or_else(|| {
        let tail = seen[seen.len().saturating_sub(30)..].join("\n");
        anyhow!("{script}: no line with '{expect}' within {timeout:?}; output:\n{tail}")
    })
}

/// `n` small fakecam cameras (320x192, 25 fps) with their control endpoint.
pub fn small_cameras(n: usize) -> FakeCamWithControl {
    let mut config = camwall::fakecam::FakeCamConfig::with_cameras(n);
    config.width = 320;
    config.height = 192;
    FakeCamWithControl::start(config).expect("fakecam starts")
}

/// The launcher, in this process, on `fc`'s cameras; `extra` is TOML added after `listen` in
/// `[server]` (more keys there, or whole sections).
pub fn launcher_on(fc: &FakeCamWithControl, extra: &str) -> camwall::App {
    let config = camwall::demo::config_for(&fc.cams, "127.0.0.1:0", extra).expect("valid config");
    camwall::App::start(config).expect("launcher starts")
}

/// Waits up to 15 s for `n` cameras of the launcher at `addr` to be live; panics otherwise.
pub fn wait_all_live(addr: &str, n: usize) {
    wait_n_live(addr, n, Duration::from_secs(15));
}

/// Waits up to `timeout` for `n` cameras of the launcher at `addr` to be live; panics
/// otherwise, with what `/api/cameras` says.
pub fn wait_n_live(addr: &str, n: usize, timeout: Duration) {
    let all_live = wait_for(timeout, || {
        let cams = http("GET", addr, "/api/cameras", None).ok()?.json().ok()?;
        let live = cams
            .as_array()?
            .iter()
            .filter(|c| c["state"] == "live")
            .count();
        (live == n).then_some(())
    });
    assert!(
        all_live.is_some(),
        "all {n} cameras become live: {:?}",
        http("GET", addr, "/api/cameras", None).map(|r| r.json().ok())
    );
}

/// What `GET /api/cameras` of the launcher at `addr` says of camera `id` (`null` when it
/// cannot be had).
pub fn camera_view(addr: &str, id: &str) -> serde_json::Value {
    http("GET", addr, "/api/cameras", None)
        .ok()
        .and_then(|r| r.json().ok())
        .and_then(|v| v.as_array()?.iter().find(|c| c["id"] == id).cloned())
        .unwrap_or_default()
}

/// POSTs a control action (`motion/on`, `offline`, ...) for camera `id` to the fakecam control
/// endpoint at `control` (`127.0.0.1:PORT`), in or out of this process, and checks it succeeded.
pub fn fakecam_control(control: &str, id: &str, action: &str) -> anyhow::Result<()> {
    let res = http("POST", control, &format!("/cameras/{id}/{action}"), None)?;
    if res.status != 200 {
        bail!(
            "fakecam control {id}/{action}: {} {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        );
    }
    Ok(())
}
