// SPDX-License-Identifier: MIT OR Apache-2.0

//! The viewers of a set of routes: counted for `max-clients`, closed together.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

/// The viewers of one set of routes: counted for `max-clients`, and closed together when the
/// stream ends or the server stops. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientSet {
    active: Arc<AtomicUsize>,
    close: Arc<watch::Sender<Option<CloseFrame>>>,
}

/// The WebSocket close code and reason sent when viewers are closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    pub code: u16,
    pub reason: String,
}

impl Default for ClientSet {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSet {
    pub fn new() -> Self {
        ClientSet {
            active: Arc::new(AtomicUsize::new(0)),
            close: Arc::new(watch::channel(None).0),
        }
    }

    /// Viewers (WebSocket and `/mjpeg`) currently connected through these routes.
    pub fn len(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every viewer connected now: WebSocket viewers get a close frame with `code` and
    /// `reason`, `/mjpeg` streams end. Viewers connecting afterwards are served as usual.
    pub fn close_all(&self, code: u16, reason: &str) {
        self.close.send_replace(Some(CloseFrame {
            code,
            reason: reason.to_string(),
        }));
    }

    /// Takes a place for one viewer, unless `max` (0 = no limit) are already connected.
    pub fn try_join(&self, max: usize) -> Option<ClientSlot> {
        let before = self.active.fetch_add(1, Ordering::AcqRel);
        if max != 0 && before >= max {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let mut close = self.close.subscribe();
        // Only close requests made after this viewer joined concern it.
        close.mark_unchanged();
        Some(ClientSlot {
            set: self.clone(),
            close,
        })
    }
}

/// One viewer's place in a [`ClientSet`].
#[derive(Debug)]
pub struct ClientSlot {
    set: ClientSet,
    close: watch::Receiver<Option<CloseFrame>>,
}

impl ClientSlot {
    /// Resolves when the viewers are to be closed. Cancel-safe.
    pub async fn closing(&mut self) -> CloseFrame {
        loop {
            if self.close.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            if let Some(c) = self.close.borrow_and_update().clone() {
                return c;
            }
        }
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.set.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_set_enforces_the_limit_and_frees_places() {
        let set = ClientSet::new();
        let a = set.try_join(2).unwrap();
        let _b = set.try_join(2).unwrap();
        assert!(set.try_join(2).is_none());
        assert_eq!(set.len(), 2);
        drop(a);
        assert!(set.try_join(2).is_some());
        assert!(set.try_join(0).is_some());
    }
}
