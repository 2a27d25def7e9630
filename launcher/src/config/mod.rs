// SPDX-License-Identifier: MIT OR Apache-2.0

//! `camwall.toml`: what the launcher runs, validated at start. Every error names the file, the
//! line and the key, e.g. `camwall.toml:14: camera[1].url: must start with rtsp:// or rtsps://`.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"      # default; loopback only unless you mean it
//! token = "s3cret"               # optional: API, page and WebSocket then need it
//! allowed_origins = ["https://wall.example.com"]  # pages elsewhere that may use the API/WebSocket
//!
//! [stream]
//! jpeg_quality = 80              # 1..=100
//! max_width = 1280               # scale the picture on screen down to this width (0 = never)
//! max_fps = 25                   # at most this many frames a second to viewers (0 = no limit)
//! thumb_width = 320              # the overview's live thumbnails: at most this wide (16..=1280)
//! thumb_fps = 4                  # and this many frames a second (1..=25)
//! default_video = "h264"         # what the page asks for: "h264" (JPEG where the browser
//!                                # cannot decode it) or "jpeg"
//! h264_bitrate = 1500            # kbit/s of each wall's H.264 stream (100..=20000)
//! h264_encoder = "x264"          # or "openh264"
//! h264_replay = 12               # a new H.264 viewer gets up to this many frames since the last keyframe, else a keyframe is made (0..=250; 0: always a keyframe)
//!
//! [selector]
//! alarm_override = true          # an alarm takes the screen over
//! alarm_hold_ms = 5000           # how long an alarmed camera stays after its alarm ends
//! alarm_policy = "latest"        # or "priority", "first": which alarm wins when several are active
//! stall_timeout_ms = 2000        # a camera without frames for this long is stalled
//! on_offline = "stay"            # the chosen camera stays when it dies; "next-live": a stand-in
//!
//! [reconnect]
//! initial_ms = 250               # first retry of a failed camera (one live for 10 s: at once)
//! max_ms = 1000                  # retries back off up to this, and go on forever
//!
//! [[camera]]
//! id = "door"                    # a-z, 0-9, - and _
//! name = "Front door"
//! url = "rtsp://user:pass@192.0.2.10/stream1"
//! codec = "auto"                 # auto, h264, h265 or mjpeg
//! decoder = "auto"               # auto (hardware when usable), software, vaapi or nvdec
//! transport = "auto"             # auto, tcp or udp
//! priority = 0                   # for alarm_policy = "priority"
//! enabled = true
//! [camera.motion]                # all optional: motionalarm's defaults otherwise
//! enabled = true
//! threshold = 25
//! min_area = 0.003
//! min_frames = 3
//! hold_ms = 2000
//! analysis_width = 320
//! zones = "ignore:0,0,1,0.1"
//! learn_ignore = true            # learn and ignore what ticks by itself (a burnt-in clock)
//!
//! [[wall]]                       # optional, any number: see `walls.rs`; without one, one
//! id = "lobby"                   # wall "main" made of [selector] and every camera
//! cameras = ["door"]
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

mod check;
pub mod edit;
mod integrations;
mod users;
mod walls;
use check::Checker;
pub use check::ConfigError;
pub use integrations::{HistoryConfig, MetricsConfig, MqttConfig, SnapshotsConfig, WebhookConfig};
pub use users::{UserConfig, MIN_TOKEN_LEN};
pub use walls::{Wall, WallConfig, MAIN_WALL, MAX_WALLS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    Auto,
    H264,
    H265,
    Mjpeg,
}

/// Which decoder a camera's video goes through (`decoder` of a `[[camera]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoder {
    /// A hardware decoder when GStreamer has a usable one (VA-API, then NVDEC), else software.
    #[default]
    Auto,
    /// Software (libav, or GStreamer's jpegdec).
    Software,
    /// VA-API (GStreamer's `va` plugin, else `vaapi`); software when there is none.
    Vaapi,
    /// NVIDIA's NVDEC (GStreamer's `nvcodec` plugin); software when there is none.
    Nvdec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Auto,
    Tcp,
    Udp,
}

/// `selector.alarm_policy`: the element's own type, read by its nick.
pub use gstcamwall::alarmselector::AlarmPolicy;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: Spanned<String>,
    pub token: Option<Spanned<String>>,
    /// Web origins (`https://wall.example.com`) besides camwall's own host whose pages may
    /// use the API and the WebSocket. A request whose `Origin` is neither is refused (403).
    pub allowed_origins: Vec<Spanned<String>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Spanned::new(0..0, "127.0.0.1:8080".into()),
            token: None,
            allowed_origins: Vec::new(),
        }
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lower case, nothing after.
pub fn valid_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority.len() <= 255
        && authority
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:[]".contains(c))
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    pub jpeg_quality: Spanned<u32>,
    pub max_width: u32,
    pub max_fps: u32,
    /// The overview's thumbnails: at most this wide, and this many frames a second.
    pub thumb_width: Spanned<u32>,
    pub thumb_fps: Spanned<u32>,
    /// What the page asks for unless its address says (`?video=`).
    pub default_video: Video,
    pub h264_bitrate: Spanned<u32>,
    pub h264_encoder: H264Encoder,
    /// A new H.264 viewer is sent up to this many frames since the last keyframe, else the
    /// encoder makes a keyframe (the sink's `keyframe-replay`).
    pub h264_replay: Spanned<u32>,
}

/// The picture's path to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Video {
    /// H.264, decoded by the browser's WebCodecs (JPEG where it cannot).
    #[default]
    H264,
    /// JPEG frames.
    Jpeg,
}

/// The element that encodes each wall's H.264 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum H264Encoder {
    /// x264enc (GStreamer's ugly plugins).
    #[default]
    X264,
    /// openh264enc (GStreamer's bad plugins, with Cisco's OpenH264).
    OpenH264,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            jpeg_quality: Spanned::new(0..0, 80),
            max_width: 1280,
            max_fps: 25,
            thumb_width: Spanned::new(0..0, 320),
            thumb_fps: Spanned::new(0..0, 4),
            default_video: Video::default(),
            h264_bitrate: Spanned::new(0..0, 1500),
            h264_encoder: H264Encoder::default(),
            h264_replay: Spanned::new(0..0, 12),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectorConfig {
    pub alarm_override: bool,
    pub alarm_hold_ms: u32,
    pub alarm_policy: AlarmPolicy,
    pub stall_timeout_ms: Spanned<u32>,
    pub on_offline: OnOffline,
}

/// What a wall shows when the camera the user chose stops sending pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnOffline {
    /// That camera, its last frame marked offline with the reason, until it comes back.
    #[default]
    Stay,
    /// Another live camera stands in for it until it comes back.
    NextLive,
}

impl Default for SelectorConfig {
    fn default() -> Self {
        SelectorConfig {
            alarm_override: true,
            alarm_hold_ms: 5000,
            alarm_policy: AlarmPolicy::Latest,
            stall_timeout_ms: Spanned::new(0..0, 2000),
            on_offline: OnOffline::Stay,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectConfig {
    pub initial_ms: Spanned<u32>,
    pub max_ms: Spanned<u32>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_ms: Spanned::new(0..0, 250),
            max_ms: Spanned::new(0..0, 1000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub threshold: Option<u32>,
    pub min_area: Option<Spanned<f64>>,
    pub min_frames: Option<u32>,
    pub hold_ms: Option<u32>,
    pub analysis_width: Option<u32>,
    pub zones: Option<Spanned<String>>,
    /// `motionalarm`'s `learn-ignore`: patches that change by themselves on a fixed cadence
    /// (a burnt-in clock) are learnt and ignored; unset is the element's default (on).
    pub learn_ignore: Option<bool>,
}

fn yes() -> bool {
    true
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            enabled: true,
            threshold: None,
            min_area: None,
            min_frames: None,
            hold_ms: None,
            analysis_width: None,
            zones: None,
            learn_ignore: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub url: Spanned<String>,
    /// A smaller second stream of the camera (its sub-stream), decoded and analysed for
    /// motion all the time; the main stream (`url`) is then decoded only while shown.
    pub detect_url: Option<Spanned<String>>,
    #[serde(default)]
    pub codec: Codec,
    /// The sub-stream's codec, when it is not the main stream's.
    pub detect_codec: Option<Codec>,
    #[serde(default)]
    pub decoder: Decoder,
    #[serde(default)]
    pub transport: Transport,
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub motion: MotionConfig,
}

impl CameraConfig {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.id())
    }

    pub fn url(&self) -> &str {
        self.url.get_ref()
    }

    /// The sub-stream motion is detected on, if the camera has one.
    pub fn detect_url(&self) -> Option<&str> {
        self.detect_url.as_ref().map(|u| u.get_ref().as_str())
    }

    /// The sub-stream's codec: `detect_codec`, else the main stream's.
    pub fn detect_codec(&self) -> Codec {
        self.detect_codec.unwrap_or(self.codec)
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub stream: StreamConfig,
    #[serde(default)]
    pub selector: SelectorConfig,
    #[serde(default)]
    pub reconnect: ReconnectConfig,
    #[serde(default, rename = "camera")]
    pub cameras: Vec<CameraConfig>,
    #[serde(default, rename = "wall")]
    pub walls: Vec<WallConfig>,
    #[serde(default, rename = "user")]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub snapshots: integrations::SnapshotsConfig,
    #[serde(default)]
    pub history: integrations::HistoryConfig,
    pub mqtt: Option<integrations::MqttConfig>,
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<integrations::WebhookConfig>,
    #[serde(default)]
    pub metrics: integrations::MetricsConfig,
}

/// Hides the password of `scheme://user:password@host/...` as `***`.
/// Whether `url` can be a camera's: `rtsp://` or `rtsps://` and a host, no spaces, quotes,
/// backslashes or control characters, at most 2048 bytes. The error names it, password masked.
pub fn check_camera_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("rtsp://")
        .or_else(|| url.strip_prefix("rtsps://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/'))
        || url.len() > 2048
        || url
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || ch == '"' || ch == '\\')
    {
        let shown: String = mask_url(url)
            .chars()
            .take(100)
            .filter(|c| !c.is_control())
            .collect();
        return Err(format!(
            "'{shown}' must start with rtsp:// or rtsps://, name a host, have no spaces, quotes or \
             control characters, and be at most 2048 bytes"
        ));
    }
    Ok(())
}

pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let masked = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_string(),
    };
    format!("{}{}{}", &url[..scheme_end], masked, &rest[at..])
}

/// Hides the password of every `scheme://user:password@host/...` URL inside a text (such as
/// a parser's message that quotes a value).
pub fn mask_urls_in_text(text: &str) -> String {
    let is_delimiter = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(is_delimiter).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        if word.contains("://") {
            out.push_str(&mask_url(word));
        } else {
            out.push_str(word);
        }
        let delimiter_len = after.chars().next().map_or(0, char::len_utf8);
        out.push_str(&after[..delimiter_len]);
        rest = &after[delimiter_len..];
    }
    out
}

/// The longest camera name: it is shown in a button.
pub const MAX_NAME_CHARS: usize = 100;

/// Whether a camera id is usable in paths, pad properties and JSON.
pub fn valid_camera_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            key: String::new(),
            message: format!("cannot read: {e}"),
            also: Vec::new(),
        })?;
        Config::parse(&file, &src)
    }

    /// Parses and validates configuration text; `file` names it in errors, which report
    /// every problem of the file at once.
    pub fn parse(file: &str, src: &str) -> Result<Config, ConfigError> {
        let checker = Checker::new(file, src);
        // A value of the wrong type or an unknown key stops the parser: each one found is
        // blanked out (lines kept) and the text parsed again, to find the others.
        let mut text = src.to_string();
        let config = loop {
            let e = match toml::from_str::<Config>(&text) {
                Ok(config) => break Some(config),
                Err(e) => e,
            };
            let at = e.span().map_or(0, |s| s.start);
            let (key, skip) =
                check::key_at(&text, at).unwrap_or_else(|| (check::section_at(&text, at), None));
            if checker.reported(&key) {
                break None; // what is left of a key already reported
            }
            let message = e.message().trim().replace('`', "'");
            checker.report(&(at..at + 1), key, message);
            match skip {
                // Byte for byte, so that the offsets of later errors still point into `src`.
                Some(range) => {
                    let blank: String = text[range.clone()]
                        .chars()
                        .map(|c| {
                            if c == '\n' {
                                "\n".into()
                            } else {
                                " ".repeat(c.len_utf8())
                            }
                        })
                        .collect();
                    text.replace_range(range, &blank);
                }
                None => break None,
            }
        };
        if let Some(config) = &config {
            config.validate(&checker);
        }
        checker.finish()?;
        config.ok_or_else(|| ConfigError {
            file: file.to_string(),
            line: None,
            key: String::new(),
            message: "does not parse".into(),
            also: Vec::new(),
        })
    }

    /// Reports every problem of a parsed configuration to `c`.
    fn validate(&self, c: &Checker<'_>) {
        let listen = &self.server.listen;
        if listen.get_ref().parse::<SocketAddr>().is_err() {
            c.report(
                &listen.span(),
                "server.listen",
                format!(
                    "'{}' is not an address:port such as 127.0.0.1:8080",
                    listen.get_ref()
                ),
            );
        }
        if let Some(token) = &self.server.token {
            if token.get_ref().is_empty() || token.get_ref().chars().any(char::is_whitespace) {
                c.report(
                    &token.span(),
                    "server.token",
                    "must be non-empty and have no spaces (leave it out for no token)",
                );
            }
        }
        for (i, origin) in self.server.allowed_origins.iter().enumerate() {
            if !valid_origin(origin.get_ref()) {
                c.report(
                    &origin.span(),
                    format!("server.allowed_origins[{i}]"),
                    format!(
                        "'{}' is not an origin such as https://wall.example.com (scheme, host, \
                         optional port; lower case; no path)",
                        origin.get_ref()
                    ),
                );
            }
        }
        let q = &self.stream.jpeg_quality;
        if !(1..=100).contains(q.get_ref()) {
            c.report(&q.span(), "stream.jpeg_quality", "must be from 1 to 100");
        }
        let w = &self.stream.thumb_width;
        if !(16..=1280).contains(w.get_ref()) {
            c.report(&w.span(), "stream.thumb_width", "must be from 16 to 1280");
        }
        let b = &self.stream.h264_bitrate;
        if !(100..=20_000).contains(b.get_ref()) {
            c.report(
                &b.span(),
                "stream.h264_bitrate",
                "must be from 100 to 20000 (kbit/s)",
            );
        }
        let r = &self.stream.h264_replay;
        if *r.get_ref() > 250 {
            c.report(
                &r.span(),
                "stream.h264_replay",
                "must be from 0 to 250 (frames)",
            );
        }
        let f = &self.stream.thumb_fps;
        if !(1..=25).contains(f.get_ref()) {
            c.report(&f.span(), "stream.thumb_fps", "must be from 1 to 25");
        }
        let stall = &self.selector.stall_timeout_ms;
        if *stall.get_ref() < 100 {
            c.report(
                &stall.span(),
                "selector.stall_timeout_ms",
                "must be at least 100",
            );
        }
        let (initial, max) = (&self.reconnect.initial_ms, &self.reconnect.max_ms);
        if *initial.get_ref() < 10 {
            c.report(
                &initial.span(),
                "reconnect.initial_ms",
                "must be at least 10",
            );
        }
        if max.get_ref() < initial.get_ref() {
            c.report(
                &max.span(),
                "reconnect.max_ms",
                "must be at least reconnect.initial_ms",
            );
        }
        if self.cameras.is_empty() {
            c.report(&(0..0), "camera", "no [[camera]] entries: add at least one");
        }
        if self.cameras.len() > 64 {
            c.report(&(0..0), "camera", "at most 64 cameras");
        }
        let mut ids = HashSet::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            let key = |k: &str| format!("camera[{i}].{k}");
            if !valid_camera_id(cam.id()) {
                c.report(
                    &cam.id.span(),
                    key("id"),
                    format!(
                        "'{}' must be 1-64 characters of a-z, A-Z, 0-9, - and _",
                        cam.id()
                    ),
                );
            }
            if !ids.insert(cam.id()) {
                c.report(
                    &cam.id.span(),
                    key("id"),
                    format!("'{}' is used twice", cam.id()),
                );
            }
            if let Err(why) = check_camera_url(cam.url()) {
                c.report(&cam.url.span(), key("url"), why);
            }
            if let Some(detect) = &cam.detect_url {
                if let Err(why) = check_camera_url(detect.get_ref()) {
                    c.report(&detect.span(), key("detect_url"), why);
                } else if detect.get_ref() == cam.url() {
                    c.report(
                        &detect.span(),
                        key("detect_url"),
                        "is the main stream's url: give the camera's sub-stream, or leave it out",
                    );
                }
            }
            if let Some(name) = &cam.name {
                if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
                    c.report(
                        &cam.id.span(),
                        key("name"),
                        format!(
                            "must be at most {MAX_NAME_CHARS} characters, none of them control \
                             characters"
                        ),
                    );
                }
            }
            if let Some(area) = &cam.motion.min_area {
                if !(0.0..=1.0).contains(area.get_ref()) {
                    c.report(
                        &area.span(),
                        key("motion.min_area"),
                        "must be from 0.0 to 1.0",
                    );
                }
            }
            if let Some(zones) = &cam.motion.zones {
                if let Err(e) = gstcamwall::motionalarm::parse_zones(zones.get_ref()) {
                    c.report(&zones.span(), key("motion.zones"), e.to_string());
                }
            }
        }
        // Said once: a file with no camera has none enabled either.
        if !self.cameras.is_empty() && !self.cameras.iter().any(|c| c.enabled) {
            c.report(
                &(0..0),
                "camera",
                "every camera is disabled: enable at least one",
            );
        }
        walls::validate(self, c);
        users::validate(self, c);
        integrations::validate(self, c);
    }

    /// The listen address (validated).
    pub fn listen_addr(&self) -> SocketAddr {
        self.server
            .listen
            .get_ref()
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// The configured extra origins (validated).
    pub fn allowed_origins(&self) -> Vec<String> {
        self.server
            .allowed_origins
            .iter()
            .map(|o| o.get_ref().clone())
            .collect()
    }

    pub fn token(&self) -> Option<&str> {
        self.server.token.as_ref().map(|t| t.get_ref().as_str())
    }

    /// The cameras that are enabled, in order.
    pub fn enabled_cameras(&self) -> impl Iterator<Item = &CameraConfig> {
        self.cameras.iter().filter(|c| c.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:9000"

[stream]
jpeg_quality = 70

[selector]
alarm_policy = "priority"

[[camera]]
id = "door"
name = "Front door"
url = "rtsp://admin:hunter2@192.0.2.10/stream1"
priority = 2
[camera.motion]
zones = "ignore:0,0,1,0.1"

[[camera]]
id = "yard"
url = "rtsp://192.0.2.11/stream1"
codec = "h264"
"#;

    fn parse_err(src: &str) -> ConfigError {
        Config::parse("camwall.toml", src).unwrap_err()
    }

    #[test]
    fn a_good_file_parses_with_defaults() {
        let c = Config::parse("camwall.toml", GOOD).unwrap();
        assert_eq!(c.listen_addr().port(), 9000);
        assert_eq!(*c.stream.jpeg_quality.get_ref(), 70);
        assert_eq!(c.stream.max_width, 1280);
        assert_eq!(c.selector.alarm_policy, AlarmPolicy::Priority);
        assert!(c.selector.alarm_override);
        assert_eq!(c.cameras.len(), 2);
        assert_eq!(c.cameras[0].name(), "Front door");
        assert_eq!(c.cameras[1].name(), "yard");
        assert_eq!(c.cameras[1].codec, Codec::H264);
        assert!(c.cameras[1].motion.enabled);
        assert_eq!(c.token(), None);
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = parse_err(&GOOD.replace("rtsp://192.0.2.11", "http://192.0.2.11"));
        assert_eq!(e.key, "camera[1].url");
        assert_eq!(e.line, Some(21));
        assert!(
            e.to_string().starts_with("camwall.toml:21: camera[1].url:"),
            "{e}"
        );

        let e = parse_err(&GOOD.replace("id = \"yard\"", "id = \"door\""));
        assert_eq!((e.key.as_str(), e.line), ("camera[1].id", Some(20)));
        assert!(e.message.contains("used twice"));

        let e = parse_err(&GOOD.replace("jpeg_quality = 70", "jpeg_quality = 170"));
        assert_eq!((e.key.as_str(), e.line), ("stream.jpeg_quality", Some(6)));
        let e = parse_err(&GOOD.replace("jpeg_quality = 70", "jpeg_quality = 70\nthumb_fps = 0"));
        assert_eq!((e.key.as_str(), e.line), ("stream.thumb_fps", Some(7)));

        let e = parse_err(&GOOD.replace("ignore:0,0,1,0.1", "ignore:0,0,1"));
        assert_eq!(
            (e.key.as_str(), e.line),
            ("camera[0].motion.zones", Some(17))
        );

        let e = parse_err(&GOOD.replace("127.0.0.1:9000", "localhost"));
        assert_eq!((e.key.as_str(), e.line), ("server.listen", Some(3)));
    }

    #[test]
    fn syntax_and_unknown_keys_are_errors_with_lines() {
        let e = parse_err(&GOOD.replace("priority = 2", "priorty = 2"));
        assert_eq!(e.line, Some(15), "{e}");
        assert!(e.message.contains("priorty"), "{e}");

        let e =
            parse_err(&GOOD.replace("alarm_policy = \"priority\"", "alarm_policy = \"loudest\""));
        assert_eq!(e.line, Some(9), "{e}");

        let e = parse_err("[server\nlisten = 1");
        assert_eq!(e.line, Some(1), "{e}");

        let e = parse_err("[server]\n");
        assert_eq!(e.key, "camera");
        assert!(e.message.contains("no [[camera]]"));
        assert!(e.also.is_empty(), "said once: {e}");
    }

    #[test]
    fn every_error_of_a_file_names_its_line_and_key_in_one_go() {
        let text = "[stream]\njpeg_quality = \"high\"\n\
                    [selector]\nalarm_overide = true\nstall_timeout_ms = 5\n\
                    [[camera]]\nid = \"a\"\nurl = \"rtsp://h/a\"\n\
                    [[camera]]\nid = \"b\"\nurl = \"http://h/b\"\npriority = \"x\"\n";
        let e = Config::parse("e.toml", text).unwrap_err();
        let all: Vec<String> = e.all().map(ToString::to_string).collect();
        assert_eq!(all.len(), 5, "{e}");
        let expect = [
            "e.toml:2: stream.jpeg_quality: invalid type: string \"high\", expected u32",
            "e.toml:4: selector.alarm_overide: unknown field 'alarm_overide'",
            "e.toml:5: selector.stall_timeout_ms: must be at least 100",
            "e.toml:11: camera[1].url: ",
            "e.toml:12: camera[1].priority: invalid type",
        ];
        for (got, want) in all.iter().zip(expect) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
        // Shown as one line each, no other noise.
        assert_eq!(e.to_string().lines().count(), 5);
        // A blanked value with characters of several bytes keeps the later errors' lines.
        let e = parse_err(
            "[stream]\njpeg_quality = \"h\u{e9}\u{e9}\u{e9}\"\nmax_fps = \"x\"\n\
             [[camera]]\nid = \"a\"\nurl = \"rtsp://h/a\"\n",
        );
        let lines: Vec<_> = e.all().map(|e| (e.line, e.key.as_str())).collect();
        assert_eq!(
            lines,
            [
                (Some(2), "stream.jpeg_quality"),
                (Some(3), "stream.max_fps")
            ],
            "{e}"
        );
        // A syntax error names the section it is in.
        let e = parse_err("[stream]\njpeg_quality = = 3\n");
        assert_eq!((e.line, e.key.as_str()), (Some(2), "stream"), "{e}");
    }

    #[test]
    fn a_sub_stream_is_checked_like_the_main_one() {
        let e = Config::parse(
            "d.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://h/a\"\ndetect_url = \"http://u:pw@h/b\"\n\
             [[camera]]\nid = \"b\"\nurl = \"rtsp://h/b\"\ndetect_url = \"rtsp://h/b\"\n\
             [[camera]]\nid = \"c\"\nurl = \"rtsp://h/c\"\ndetect_codec = \"h266\"\n",
        )
        .unwrap_err();
        let all: Vec<String> = e.all().map(ToString::to_string).collect();
        assert!(
            all[0].starts_with("d.toml:4: camera[0].detect_url: "),
            "{all:?}"
        );
        assert!(!all[0].contains("pw@"), "password masked: {all:?}");
        assert!(
            all[1].starts_with("d.toml:8: camera[1].detect_url: is the main stream"),
            "{all:?}"
        );
        assert!(
            all[2].starts_with("d.toml:12: camera[2].detect_codec"),
            "{all:?}"
        );
        let ok = Config::parse(
            "d.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://h/a\"\ndetect_url = \"rtsp://h/a2\"\n",
        )
        .unwrap();
        assert_eq!(ok.cameras[0].detect_url(), Some("rtsp://h/a2"));
        assert_eq!(ok.cameras[0].detect_codec(), Codec::Auto);
    }

    #[test]
    fn passwords_never_appear_in_errors() {
        let e = parse_err(&GOOD.replace(
            "rtsp://admin:hunter2@192.0.2.10/stream1",
            "rtsp://admin:hunter2@192.0.2.10/stream 1",
        ));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("admin:***@"), "{e}");
    }

    #[test]
    fn passwords_in_a_parser_message_are_masked() {
        let e = parse_err(
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://h/a\"\ncodec = \"rtsp://user:pw@h:1/x\"\n",
        );
        assert!(!e.to_string().contains(":pw@"), "{e}");
        assert!(e.to_string().contains("rtsp://user:***@h:1/x"), "{e}");
        assert_eq!(
            mask_urls_in_text("a 'rtsp://u:p@h/x', \"http://v:q@w\" and ftp://plain/x"),
            "a 'rtsp://u:***@h/x', \"http://v:***@w\" and ftp://plain/x"
        );
    }

    #[test]
    fn mask_url_hides_only_the_password() {
        assert_eq!(
            mask_url("rtsp://admin:hunter2@192.0.2.10:554/s?x=1"),
            "rtsp://admin:***@192.0.2.10:554/s?x=1"
        );
        assert_eq!(mask_url("rtsp://admin@cam/s"), "rtsp://admin@cam/s");
        assert_eq!(mask_url("rtsp://cam/s@x"), "rtsp://cam/s@x");
        assert_eq!(mask_url("rtsp://u:p:q@cam"), "rtsp://u:***@cam");
        assert_eq!(mask_url("nonsense"), "nonsense");
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = Config::load(Path::new("/nonexistent/camwall.toml")).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
