// SPDX-License-Identifier: MIT OR Apache-2.0

//! Signed-in pages: `POST /api/login` trades a user's token for a session, kept here and
//! carried by an HttpOnly, SameSite=Strict cookie, so a token never sits in a URL, a history or
//! a screenshot. A session lives [`IDLE`] after its last request (a night shift with the page
//! open never signs out); `POST /api/logout` ends it. In memory only: a restart signs every page
//! out, which asks for the token again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gstcamwall::http::Identity;
use gstcamwall::lock;

/// The cookie's name.
pub const COOKIE: &str = "camwall_session";
/// A session ends this long after its last request.
pub const IDLE: Duration = Duration::from_secs(24 * 3600);
/// Sessions kept at most; the least recently used goes first when a new one needs room.
pub const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, (Identity, Instant)>>,
}

impl Sessions {
    /// A new session for `who`; its id is the cookie's value (256 random bits, hex).
    pub fn open(&self, who: Identity) -> std::io::Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut live = lock(&self.live);
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, (_, seen)| now.duration_since(*seen) < IDLE);
        }
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live
                .iter()
                .min_by_key(|(_, (_, seen))| *seen)
                .map(|(k, _)| k.clone())
            {
                live.remove(&oldest);
            }
        }
        live.insert(id.clone(), (who, now));
        Ok(id)
    }

    /// Who session `id` belongs to, while it lives; each look keeps it alive.
    pub fn lookup(&self, id: &str) -> Option<Identity> {
        let now = Instant::now();
        let mut live = lock(&self.live);
        let (who, seen) = live.get_mut(id)?;
        if now.duration_since(*seen) >= IDLE {
            live.remove(id);
            return None;
        }
        *seen = now;
        Some(who.clone())
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        lock(&self.live).remove(id);
    }

    /// Ends every session of user `name` (their token changed or went).
    pub fn close_all_of(&self, name: &str) {
        lock(&self.live).retain(|_, (who, _)| &*who.name != name);
    }

    /// Keeps each session whose user `now` still knows, as who `now` says they are (a role
    /// changed); ends the others.
    pub fn follow(&self, now: impl Fn(&Identity) -> Option<Identity>) {
        lock(&self.live).retain(|_, (who, _)| match now(who) {
            Some(next) => {
                *who = next;
                true
            }
            None => false,
        });
    }

    pub fn len(&self) -> usize {
        lock(&self.live).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstcamwall::http::Role;

    fn who(name: &str) -> Identity {
        Identity {
            name: name.into(),
            role: Role::Operator,
        }
    }

    #[test]
    fn a_session_is_found_until_closed_and_ids_do_not_repeat() {
        let s = Sessions::default();
        let a = s.open(who("ann")).unwrap();
        let b = s.open(who("bob")).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(s.lookup(&a).unwrap().name.as_ref(), "ann");
        assert!(s.lookup("nope").is_none());
        s.close(&a);
        assert!(s.lookup(&a).is_none());
        s.close_all_of("bob");
        assert!(s.lookup(&b).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn sessions_follow_their_users_roles_and_end_with_them() {
        let s = Sessions::default();
        let ann = s.open(who("ann")).unwrap();
        let bob = s.open(who("bob")).unwrap();
        s.follow(|w| match &*w.name {
            "ann" => Some(Identity {
                name: w.name.clone(),
                role: Role::Viewer,
            }),
            _ => None,
        });
        assert_eq!(s.lookup(&ann).unwrap().role, Role::Viewer);
        assert!(s.lookup(&bob).is_none());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn the_least_recently_used_goes_when_full() {
        let s = Sessions::default();
        let first = s.open(who("a")).unwrap();
        let second = s.open(who("b")).unwrap();
        for _ in 2..MAX_SESSIONS {
            s.open(who("c")).unwrap();
        }
        // `first` is used again: `second` is now the oldest.
        assert!(s.lookup(&first).is_some());
        s.open(who("d")).unwrap();
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.lookup(&second).is_none());
        assert!(s.lookup(&first).is_some());
    }
}
