// SPDX-License-Identifier: MIT OR Apache-2.0

//! The event history: the latest alarm, switch and camera-state events in memory for
//! `GET /api/events/history`, and appended, one JSON object per line, to a file that is read
//! back at start. When the file would grow past `max_bytes` it is renamed to `<file>.1`
//! (replacing the previous one) and a new file is started, so at most about twice `max_bytes`
//! is ever on disk.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::config::HistoryConfig;
use crate::events::{each_event, Event};
use gstcamwall::lock;

struct LogFile {
    path: PathBuf,
    file: File,
    len: u64,
    max_bytes: u64,
}

impl LogFile {
    fn open(path: &Path, max_bytes: u64) -> anyhow::Result<LogFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            len,
            max_bytes,
        })
    }

    fn append(&mut self, line: &str) -> std::io::Result<()> {
        let n = line.len() as u64 + 1;
        if self.len > 0 && self.len + n > self.max_bytes {
            std::fs::rename(&self.path, rotated(&self.path))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.len = 0;
        }
        // One write per line, so a crash leaves at most one partial line, which loading skips.
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        self.file.write_all(buf.as_bytes())?;
        self.len += n;
        Ok(())
    }
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// The latest events, in memory and (when configured) on disk.
pub struct History {
    events: Mutex<VecDeque<Arc<str>>>,
    keep: usize,
    file: Mutex<Option<LogFile>>,
}

impl History {
    /// Opens the history, reading back the events of a previous run from the file (and its
    /// rotated predecessor). Lines that are not JSON objects are skipped with a warning.
    pub fn open(config: &HistoryConfig) -> anyhow::Result<History> {
        let keep = *config.keep.get_ref() as usize;
        let mut events = VecDeque::with_capacity(keep.min(4096));
        let file = match &config.file {
            Some(path) => {
                let path = PathBuf::from(path.get_ref());
                let mut bad = 0usize;
                for p in [rotated(&path), path.clone()] {
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        match serde_json::from_str::<serde_json::Value>(line) {
                            Ok(v) if v.is_object() => {
                                if events.len() == keep {
                                    events.pop_front();
                                }
                                events.push_back(Arc::from(line));
                            }
                            _ => bad += 1,
                        }
                    }
                }
                if bad > 0 {
                    warn!("{}: skipped {bad} unreadable lines", path.display());
                }
                info!(
                    events = events.len(),
                    "event history from {}",
                    path.display()
                );
                Some(LogFile::open(&path, *config.max_bytes.get_ref())?)
            }
            None => None,
        };
        Ok(History {
            events: Mutex::new(events),
            keep,
            file: Mutex::new(file),
        })
    }

    /// Adds one event (a JSON object's text).
    pub fn push(&self, event: Arc<str>) {
        {
            let mut events = lock(&self.events);
            if events.len() == self.keep {
                events.pop_front();
            }
            events.push_back(event.clone());
        }
        let mut file = lock(&self.file);
        if let Some(f) = file.as_mut() {
            if let Err(e) = f.append(&event) {
                warn!("event history {}: {e}", f.path.display());
            }
        }
    }

    /// The latest `limit` events, oldest first.
    pub fn latest(&self, limit: usize) -> Vec<Arc<str>> {
        let events = lock(&self.events);
        events
            .iter()
            .skip(events.len().saturating_sub(limit))
            .cloned()
            .collect()
    }

    /// The latest `limit` events for which `keep` says yes, oldest first.
    pub fn latest_of(&self, limit: usize, keep: impl Fn(&str) -> bool) -> Vec<Arc<str>> {
        let events = lock(&self.events);
        let mut picked: Vec<Arc<str>> = events
            .iter()
            .rev()
            .filter(|e| keep(e))
            .take(limit)
            .cloned()
            .collect();
        picked.reverse();
        picked
    }

    /// How many events are kept in memory at most.
    pub fn capacity(&self) -> usize {
        self.keep
    }
}

/// Records every event of `rx` in `history`. The file append is one small write per event,
/// a few hundred bytes, done in place rather than on a blocking thread.
pub async fn record(history: Arc<History>, rx: broadcast::Receiver<Arc<Event>>) {
    each_event("event history", rx, |event| {
        history.push(event.json().clone());
        std::future::ready(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    fn config(path: &Path, max_bytes: u64, keep: u32) -> HistoryConfig {
        HistoryConfig {
            file: Some(Spanned::new(0..0, path.display().to_string())),
            max_bytes: Spanned::new(0..0, max_bytes),
            keep: Spanned::new(0..0, keep),
        }
    }

    fn event(i: usize) -> Arc<str> {
        Arc::from(format!(
            r#"{{"type":"camera","camera":"cam{i}","state":"live","ts":{i}}}"#
        ))
    }

    #[test]
    fn survives_a_restart_and_skips_damaged_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h/events.jsonl");
        let h = History::open(&config(&path, 1_000_000, 100)).unwrap();
        for i in 0..5 {
            h.push(event(i));
        }
        drop(h);
        // A crash in the middle of a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"type\":\"cam")
            .unwrap();
        let h = History::open(&config(&path, 1_000_000, 3)).unwrap();
        assert_eq!(h.latest(10), [event(2), event(3), event(4)]);
        assert_eq!(h.latest(1)[0], event(4));
    }

    #[test]
    fn the_file_rotates_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let h = History::open(&config(&path, 4096, 10_000)).unwrap();
        for i in 0..500 {
            h.push(event(i));
        }
        let len = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(rotated(&path)).unwrap().len();
        assert!(len <= 4096 && old <= 4096, "{len} {old}");
        drop(h);
        // The newest events come back after a restart, in order.
        let h = History::open(&config(&path, 4096, 10_000)).unwrap();
        let back = h.latest(10_000);
        assert!(back.len() > 50, "{}", back.len());
        assert_eq!(*back.last().unwrap(), event(499));
        let ts: Vec<u64> = back
            .iter()
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(t).unwrap()["ts"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert!(ts.windows(2).all(|w| w[1] == w[0] + 1));
    }
}
