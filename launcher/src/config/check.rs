// SPDX-License-Identifier: MIT OR Apache-2.0

//! How a configuration file's problems are found and told: each as `file:line: key: what is
//! wrong`, every one of a file at once.

use std::fmt;

/// A configuration error: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key at fault, e.g. `camera[1].url`.
    pub key: String,
    pub message: String,
    /// The file's other problems, in the order of their lines: a file's errors are all
    /// reported in one go.
    pub also: Vec<ConfigError>,
}

impl ConfigError {
    /// Every problem, this one first, each as `file:line: key: what is wrong`.
    pub fn all(&self) -> impl Iterator<Item = &ConfigError> {
        std::iter::once(self).chain(&self.also)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.all().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match e.line {
                Some(line) => write!(f, "{}:{}: ", e.file, line)?,
                None => write!(f, "{}: ", e.file)?,
            }
            if e.key.is_empty() {
                write!(f, "{}", e.message)?;
            } else {
                write!(f, "{}: {}", e.key, e.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Collects a file's problems, each with its line.
pub(crate) struct Checker<'a> {
    file: &'a str,
    src: &'a str,
    errors: std::cell::RefCell<Vec<ConfigError>>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a str, src: &'a str) -> Checker<'a> {
        Checker {
            file,
            src,
            errors: Default::default(),
        }
    }

    fn line_of(&self, span: &std::ops::Range<usize>) -> Option<usize> {
        if span.end == 0 || span.start > self.src.len() {
            return None;
        }
        Some(self.src[..span.start].matches('\n').count() + 1)
    }

    /// Records a problem of the value at `span`, named `key`.
    pub(crate) fn report(
        &self,
        span: &std::ops::Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let error = ConfigError {
            file: self.file.to_string(),
            line: self.line_of(span),
            key: key.into(),
            // A value in the wrong place may be a camera URL with its password.
            message: super::mask_urls_in_text(&message.into()),
            also: Vec::new(),
        };
        self.errors.borrow_mut().push(error);
    }

    pub(super) fn reported(&self, key: &str) -> bool {
        self.errors.borrow().iter().any(|e| e.key == key)
    }

    /// Everything reported, as one error (the first, with the others in `also`), sorted
    /// by line.
    pub(super) fn finish(self) -> Result<(), ConfigError> {
        let mut errors = self.errors.into_inner();
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        let mut rest = errors.into_iter();
        match rest.next() {
            None => Ok(()),
            Some(first) => Err(ConfigError {
                also: rest.collect(),
                ..first
            }),
        }
    }
}

/// The dotted name of the key (`stream.jpeg_quality`, `camera[1].url`) whose line holds byte
/// `at` of `src`, and the bytes of its `key = value` when it is a plain value (which parsing
/// can skip to look for more errors). `None` when no key holds it.
pub(super) fn key_at(src: &str, at: usize) -> Option<(String, Option<std::ops::Range<usize>>)> {
    use toml_edit::{Item, Table};
    fn within(span: Option<std::ops::Range<usize>>, at: usize) -> bool {
        span.is_some_and(|s| s.start <= at && at <= s.end)
    }
    fn find(
        table: &Table,
        prefix: &str,
        at: usize,
    ) -> Option<(String, Option<std::ops::Range<usize>>)> {
        for (name, item) in table.iter() {
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            match item {
                Item::Table(t) => {
                    if let Some(found) = find(t, &path, at) {
                        return Some(found);
                    }
                    if within(t.span(), at) {
                        return Some((path, None));
                    }
                }
                Item::ArrayOfTables(tables) => {
                    for (i, t) in tables.iter().enumerate() {
                        let path = format!("{path}[{i}]");
                        if let Some(found) = find(t, &path, at) {
                            return Some(found);
                        }
                        if within(t.span(), at) {
                            return Some((path, None));
                        }
                    }
                }
                Item::Value(v) => {
                    let key = table.key(name).and_then(|k| k.span());
                    let whole = key.zip(v.span()).map(|(k, v)| k.start..v.end);
                    if within(whole.clone(), at) {
                        return Some((path, whole));
                    }
                }
                Item::None => {}
            }
        }
        None
    }
    let doc = toml_edit::Document::parse(src).ok()?;
    find(doc.as_table(), "", at)
}

/// The `[section]` that the line holding byte `at` of `src` belongs to, for a syntax error
/// (no key can be named where the file does not parse).
pub(super) fn section_at(src: &str, at: usize) -> String {
    src[..at.min(src.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        .unwrap_or_default()
}
