// SPDX-License-Identifier: MIT OR Apache-2.0

//! The benchmark's output: printed as it goes, and kept as Markdown for `BENCHMARKS.md`.

use crate::stats::{fmt, Summary};

#[derive(Default)]
pub struct Report {
    pub markdown: String,
}

impl Report {
    pub fn heading(&mut self, title: &str) {
        let text = format!("\n## {title}\n\n");
        print!("{text}");
        self.markdown.push_str(&text);
    }

    pub fn note(&mut self, text: &str) {
        let text = format!("{text}\n\n");
        print!("{text}");
        self.markdown.push_str(&text);
    }

    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        let mut text = format!(
            "| {} |\n|{}\n",
            headers.join(" | "),
            "---|".repeat(headers.len())
        );
        for row in rows {
            text.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        text.push('\n');
        print!("{text}");
        self.markdown.push_str(&text);
    }
}

/// `p50 / p95` of a summary, in ms.
pub fn p50_p95(s: Option<Summary>) -> [String; 2] {
    [fmt(s.map(|s| s.p50), 1), fmt(s.map(|s| s.p95), 1)]
}

/// What the summary table at the end compares.
#[derive(Default)]
pub struct Findings {
    pub first_frame: Option<Summary>,
    pub switch: Option<Summary>,
    pub alarm: Option<Summary>,
    pub latency_4x720: Option<Summary>,
    /// (cameras, camwall CPU / floor CPU)
    pub cpu_ratios: Vec<(usize, f64)>,
    pub mbit_per_viewer_720: Option<f64>,
    pub mbit_per_viewer_1080: Option<f64>,
    pub startup_ms: Option<Summary>,
    pub peers: Vec<PeerFinding>,
}

/// A peer's figures for the summary table.
pub struct PeerFinding {
    pub name: String,
    pub first_frame: Option<Summary>,
    pub latency: Option<Summary>,
    pub mbit: Option<f64>,
}

impl PeerFinding {
    /// The program's name, for a short cell.
    pub fn short(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }
}
