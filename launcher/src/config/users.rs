// SPDX-License-Identifier: MIT OR Apache-2.0

//! `[[user]]`: who may use camwall, each with a token and a role.
//!
//! ```toml
//! [[user]]
//! name = "alice"                 # a-z, 0-9, - and _; said in the events this user causes
//! token = "long-random-secret"   # sent as Authorization: Bearer <token> or ?token=<token>
//! role = "operator"              # viewer: watch walls, peek; operator: also select on walls,
//!                                # acknowledge, snooze; admin: also everything else
//! ```
//!
//! `server.token` keeps working: its holder is an admin called `admin`. With neither, nothing
//! asks for a token (on loopback, as the default `listen` is).

use std::collections::HashSet;

use gstcamwall::http::{Credential, Identity, Role};
use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use super::{valid_camera_id, Config};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: Spanned<String>,
    pub token: Spanned<String>,
    pub role: Spanned<String>,
}

/// Tokens shorter than this are refused: a guessable token is no lock.
pub const MIN_TOKEN_LEN: usize = 8;

impl Config {
    /// Everyone who may use camwall: `server.token` (an admin called `admin`) and each
    /// `[[user]]`. Empty: nothing asks for a token.
    pub fn credentials(&self) -> Vec<Credential> {
        let admin = self.token().map(|t| Credential {
            token: t.into(),
            identity: Identity {
                name: "admin".into(),
                role: Role::Admin,
            },
        });
        admin
            .into_iter()
            .chain(self.users.iter().filter_map(|u| {
                Some(Credential {
                    token: u.token.get_ref().as_str().into(),
                    identity: Identity {
                        name: u.name.get_ref().as_str().into(),
                        role: u.role.get_ref().parse().ok()?,
                    },
                })
            }))
            .collect()
    }
}

/// Reports every problem of the `[[user]]` entries.
pub(super) fn validate(config: &Config, c: &Checker<'_>) {
    let mut names = HashSet::new();
    let mut tokens: HashSet<&str> = config.token().into_iter().collect();
    for (i, user) in config.users.iter().enumerate() {
        let key = |k: &str| format!("user[{i}].{k}");
        let name = user.name.get_ref();
        if !valid_camera_id(name) {
            c.report(
                &user.name.span(),
                key("name"),
                format!("'{name}' must be 1-64 characters of a-z, A-Z, 0-9, - and _"),
            );
        } else if !names.insert(name.as_str()) {
            c.report(
                &user.name.span(),
                key("name"),
                format!("'{name}' is used twice"),
            );
        }
        let token = user.token.get_ref();
        if token.len() < MIN_TOKEN_LEN
            || token
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control())
        {
            c.report(
                &user.token.span(),
                key("token"),
                format!("must be at least {MIN_TOKEN_LEN} characters, with no spaces"),
            );
        } else if !tokens.insert(token.as_str()) {
            // Said without the token itself.
            c.report(
                &user.token.span(),
                key("token"),
                "is the token of someone else too",
            );
        }
        if let Err(e) = user.role.get_ref().parse::<Role>() {
            c.report(&user.role.span(), key("role"), e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "[[camera]]\nid = \"a\"\nurl = \"rtsp://x/a\"\n";

    #[test]
    fn users_and_the_server_token_are_credentials() {
        let config = Config::parse(
            "t.toml",
            &format!(
                "[server]\ntoken = \"s3cret-admin\"\n{CAMERA}\
                 [[user]]\nname = \"val\"\ntoken = \"viewer-token\"\nrole = \"viewer\"\n"
            ),
        )
        .unwrap();
        let creds = config.credentials();
        assert_eq!(creds.len(), 2);
        assert_eq!(&*creds[0].identity.name, "admin");
        assert_eq!(creds[0].identity.role, Role::Admin);
        assert_eq!(&*creds[1].identity.name, "val");
        assert_eq!(creds[1].identity.role, Role::Viewer);
    }

    #[test]
    fn bad_users_are_reported_at_their_line_without_their_token() {
        let text = format!(
            "[server]\ntoken = \"s3cret-admin\"\n{CAMERA}\
             [[user]]\nname = \"x y\"\ntoken = \"short\"\nrole = \"root\"\n\
             [[user]]\nname = \"bob\"\ntoken = \"s3cret-admin\"\nrole = \"viewer\"\n"
        );
        let err = Config::parse("u.toml", &text).unwrap_err().to_string();
        for needle in [
            "u.toml:7: user[0].name: 'x y' must be",
            "u.toml:8: user[0].token: must be at least 8 characters",
            "u.toml:9: user[0].role: 'root' is not a role",
            "u.toml:12: user[1].token: is the token of someone else too",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
        }
        assert!(!err.contains("s3cret-admin"), "{err}");
    }
}
