// SPDX-License-Identifier: MIT OR Apache-2.0

//! The optional configuration sections of the integrations, validated with the rest of
//! `camwall.toml` (errors name the line and the key):
//!
//! ```toml
//! [snapshots]
//! dir = "/var/lib/camwall/snapshots"  # a JPEG per alarm start; left out: none saved
//! max_count = 200                     # retention: the oldest go first
//! max_bytes = 50_000_000
//!
//! [history]
//! file = "/var/lib/camwall/events.jsonl"  # left out: history in memory only
//! max_bytes = 1_000_000               # then the file is rotated to events.jsonl.1
//! keep = 1000                         # events kept in memory for the API
//!
//! [mqtt]
//! broker = "127.0.0.1:1883"
//! prefix = "camwall"                  # topics: camwall/camera/<id>/alarm, ...
//! client_id = "camwall"
//! username = "wall"                   # optional, with password
//! password = "s3cret"
//! discovery = true                    # Home Assistant discovery
//! discovery_prefix = "homeassistant"
//!
//! [[webhook]]
//! url = "http://127.0.0.1:9000/camwall"  # POSTed a JSON event on alarm start and end
//! timeout_ms = 2000
//! retries = 3
//! queue = 64                          # events waiting; more are dropped with a warning
//!
//! [metrics]
//! enabled = true                      # GET /metrics
//! ```

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{Checker, Config};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotsConfig {
    pub dir: Option<Spanned<String>>,
    pub max_count: Spanned<u32>,
    pub max_bytes: Spanned<u64>,
}

impl Default for SnapshotsConfig {
    fn default() -> Self {
        SnapshotsConfig {
            dir: None,
            max_count: Spanned::new(0..0, 200),
            max_bytes: Spanned::new(0..0, 50_000_000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    pub file: Option<Spanned<String>>,
    pub max_bytes: Spanned<u64>,
    pub keep: Spanned<u32>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            file: None,
            max_bytes: Spanned::new(0..0, 1_000_000),
            keep: Spanned::new(0..0, 1000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `host:port`.
    pub broker: Spanned<String>,
    #[serde(default = "default_prefix")]
    pub prefix: Spanned<String>,
    #[serde(default = "default_client_id")]
    pub client_id: Spanned<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub discovery: bool,
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: Spanned<String>,
}

fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "camwall".into())
}
fn default_client_id() -> Spanned<String> {
    Spanned::new(0..0, "camwall".into())
}
fn default_discovery_prefix() -> Spanned<String> {
    Spanned::new(0..0, "homeassistant".into())
}
fn yes() -> bool {
    true
}

impl MqttConfig {
    /// The broker's host and port (validated).
    pub fn host_port(&self) -> (String, u16) {
        split_host_port(self.broker.get_ref()).unwrap_or_else(|| ("127.0.0.1".into(), 1883))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: Spanned<String>,
    #[serde(default = "default_timeout")]
    pub timeout_ms: Spanned<u32>,
    #[serde(default = "default_retries")]
    pub retries: Spanned<u32>,
    #[serde(default = "default_queue")]
    pub queue: Spanned<u32>,
}

fn default_timeout() -> Spanned<u32> {
    Spanned::new(0..0, 2000)
}
fn default_retries() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}
fn default_queue() -> Spanned<u32> {
    Spanned::new(0..0, 64)
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true }
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port > 0 && !host.chars().any(|c| c.is_whitespace() || c == '/'))
        .then(|| (host.to_string(), port))
}

/// An MQTT topic level sequence we publish under: no wildcards, no empty levels.
fn valid_topic_prefix(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 128
        && p.split('/').all(|level| !level.is_empty())
        && !p
            .chars()
            .any(|c| c == '+' || c == '#' || c.is_whitespace() || c == '\0')
}

fn range<T>(c: &Checker<'_>, v: &Spanned<T>, key: &str, ok: Range<T>, what: &str)
where
    T: PartialOrd + Copy,
{
    if !ok.contains(v.get_ref()) {
        c.report(&v.span(), key, what);
    }
}

/// Checks the integrations' sections of `config`.
pub(crate) fn validate(config: &Config, c: &Checker<'_>) {
    let s = &config.snapshots;
    if let Some(dir) = &s.dir {
        if dir.get_ref().trim().is_empty() {
            c.report(&dir.span(), "snapshots.dir", "must not be empty");
        }
    }
    range(
        c,
        &s.max_count,
        "snapshots.max_count",
        1..1_000_001,
        "must be from 1 to 1000000",
    );
    range(
        c,
        &s.max_bytes,
        "snapshots.max_bytes",
        100_000..u64::MAX,
        "must be at least 100000",
    );

    let h = &config.history;
    if let Some(file) = &h.file {
        if file.get_ref().trim().is_empty() {
            c.report(&file.span(), "history.file", "must not be empty");
        }
    }
    range(
        c,
        &h.max_bytes,
        "history.max_bytes",
        4096..u64::MAX,
        "must be at least 4096",
    );
    range(
        c,
        &h.keep,
        "history.keep",
        1..100_001,
        "must be from 1 to 100000",
    );

    if let Some(m) = &config.mqtt {
        if split_host_port(m.broker.get_ref()).is_none() {
            c.report(
                &m.broker.span(),
                "mqtt.broker",
                format!(
                    "'{}' is not a host:port such as 127.0.0.1:1883",
                    m.broker.get_ref()
                ),
            );
        }
        for (v, key) in [
            (&m.prefix, "mqtt.prefix"),
            (&m.discovery_prefix, "mqtt.discovery_prefix"),
        ] {
            if !valid_topic_prefix(v.get_ref()) {
                c.report(
                    &v.span(),
                    key,
                    "must be topic levels like camwall or site/camwall: no +, #, spaces or empty levels",
                );
            }
        }
        let id = m.client_id.get_ref();
        if id.is_empty() || id.len() > 64 {
            c.report(
                &m.client_id.span(),
                "mqtt.client_id",
                "must be 1-64 characters",
            );
        }
    }

    for (i, w) in config.webhooks.iter().enumerate() {
        let key = |k: &str| format!("webhook[{i}].{k}");
        let url = w.url.get_ref();
        if !url.starts_with("http://")
            || url.len() <= "http://".len()
            || url.chars().any(|ch| ch.is_whitespace() || ch == '"')
        {
            c.report(
                &w.url.span(),
                key("url"),
                format!(
                    "'{}' must start with http:// and have no spaces (https is not built in: put a TLS proxy on loopback)",
                    crate::config::mask_url(url)
                ),
            );
        }
        range(
            c,
            &w.timeout_ms,
            &key("timeout_ms"),
            100..60_001,
            "must be from 100 to 60000",
        );
        range(
            c,
            &w.retries,
            &key("retries"),
            0..11,
            "must be from 0 to 10",
        );
        range(
            c,
            &w.queue,
            &key("queue"),
            1..10_001,
            "must be from 1 to 10000",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    const CAMERA: &str = "\n[[camera]]\nid = \"door\"\nurl = \"rtsp://192.0.2.10/s\"\n";

    fn parse(extra: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse("camwall.toml", &format!("{extra}{CAMERA}"))
    }

    #[test]
    fn sections_are_optional_with_defaults() {
        let c = parse("").unwrap();
        assert!(c.snapshots.dir.is_none());
        assert_eq!(*c.snapshots.max_count.get_ref(), 200);
        assert!(c.mqtt.is_none());
        assert!(c.webhooks.is_empty());
        assert!(c.metrics.enabled);

        let c = parse(
            "[mqtt]\nbroker = \"127.0.0.1:1884\"\nprefix = \"site/wall\"\n\
             [[webhook]]\nurl = \"http://127.0.0.1:9/x\"\n[[webhook]]\nurl = \"http://127.0.0.1:9/y\"\nretries = 0\n",
        )
        .unwrap();
        let m = c.mqtt.unwrap();
        assert_eq!(m.host_port(), ("127.0.0.1".to_string(), 1884));
        assert_eq!(m.prefix.get_ref(), "site/wall");
        assert_eq!(m.discovery_prefix.get_ref(), "homeassistant");
        assert_eq!(c.webhooks.len(), 2);
        assert_eq!(*c.webhooks[1].retries.get_ref(), 0);
    }

    #[test]
    fn errors_name_line_and_key() {
        for (text, key, line) in [
            ("[mqtt]\nbroker = \"nohost\"\n", "mqtt.broker", 2),
            (
                "[mqtt]\nbroker = \"h:1\"\nprefix = \"a/#\"\n",
                "mqtt.prefix",
                3,
            ),
            (
                "[mqtt]\nbroker = \"h:1\"\nprefix = \"a//b\"\n",
                "mqtt.prefix",
                3,
            ),
            ("[[webhook]]\nurl = \"https://x/y\"\n", "webhook[0].url", 2),
            (
                "[[webhook]]\nurl = \"http://x/y\"\nretries = 11\n",
                "webhook[0].retries",
                3,
            ),
            (
                "[[webhook]]\nurl = \"http://x/y\"\ntimeout_ms = 5\n",
                "webhook[0].timeout_ms",
                3,
            ),
            ("[snapshots]\nmax_count = 0\n", "snapshots.max_count", 2),
            ("[history]\n\nkeep = 0\n", "history.keep", 3),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), (key, Some(line)), "{text}: {e}");
        }
        let e = parse("[metrics]\nenable = true\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
    }
}
