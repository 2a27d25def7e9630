// SPDX-License-Identifier: MIT OR Apache-2.0

//! The one guard in front of camwall's routes: the token first (401), then the request's
//! `Origin` (403). The sink's own server and the launcher use the same one; they differ only in
//! which origins they accept and which paths they guard.

use std::collections::HashMap;
use std::sync::Arc;

use warp::{Filter, Rejection};

use super::reply::ApiError;

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether a request presents `token` as `?token=` or as `Authorization: Bearer`.
pub fn is_authorized(
    token: Option<&str>,
    query: &HashMap<String, String>,
    authorization: Option<&str>,
) -> bool {
    let Some(token) = token else {
        return true;
    };
    let from_query = query
        .get("token")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
    let from_header = authorization
        .and_then(|h| {
            let (scheme, value) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(value.trim())
        })
        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
    // Both are checked so the time taken does not say which one was tried.
    from_query | from_header
}

/// `host[:port]` without a default port, lower case.
fn authority_key(scheme: &str, authority: &str) -> String {
    let a = authority.to_ascii_lowercase();
    let default = match scheme {
        "https" | "wss" => ":443",
        _ => ":80",
    };
    a.strip_suffix(default).map(str::to_string).unwrap_or(a)
}

/// Whether a request with `origin` (if any) and `host` may go on: no `Origin` (not a
/// browser's cross-site request), the same host as the request's, or an allowed origin.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let (Some((scheme, authority)), Some(host)) = (origin.split_once("://"), host) else {
        return false;
    };
    authority_key(scheme, authority) == authority_key(scheme, host.trim())
}

/// The browser pages a guard lets through.
#[derive(Debug, Clone)]
pub enum Origins {
    /// Any page: the sink's own server, whose stream any HTML page may embed.
    Any,
    /// Pages of the server's own host and these origins (`scheme://host[:port]`, lower case):
    /// the launcher, whose API a page elsewhere must not drive through a user's browser.
    SameHostOr(Arc<[String]>),
}

/// Which paths a guard covers.
type Scope = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The token and origin check in front of a set of routes. Cheap to clone.
#[derive(Clone)]
pub struct Guard {
    token: Option<Arc<str>>,
    origins: Origins,
    guarded: Scope,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard asking for `token` (none, or an empty one, asks for nothing) and accepting
    /// `origins`, on every path until [`Guard::covering`] says otherwise.
    pub fn new(token: Option<&str>, origins: Origins) -> Self {
        Guard {
            token: token.filter(|t| !t.is_empty()).map(Into::into),
            origins,
            guarded: Arc::new(|_| true),
        }
    }

    /// The same guard, covering only the paths `guarded` says yes to; the others pass as
    /// they are (public files, or paths that belong to someone else's routes).
    pub fn covering(mut self, guarded: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.guarded = Arc::new(guarded);
        self
    }

    /// Whether a request for `path` with these credentials and headers may go on; if not,
    /// the answer to give.
    pub fn check(
        &self,
        path: &str,
        query: &HashMap<String, String>,
        authorization: Option<&str>,
        origin: Option<&str>,
        host: Option<&str>,
    ) -> Result<(), ApiError> {
        if !(self.guarded)(path) {
            return Ok(());
        }
        if !is_authorized(self.token.as_deref(), query, authorization) {
            return Err(ApiError::unauthorized());
        }
        match &self.origins {
            Origins::Any => Ok(()),
            Origins::SameHostOr(allowed) if origin_allowed(origin, host, allowed) => Ok(()),
            Origins::SameHostOr(_) => Err(ApiError::forbidden_origin()),
        }
    }

    /// The check as a filter: it refuses with the [`ApiError`] that [`super::recover`] answers.
    pub fn filter(&self) -> impl Filter<Extract = (), Error = Rejection> + Clone {
        let guard = self.clone();
        warp::path::full()
            .and(
                warp::query::<HashMap<String, String>>()
                    .or(warp::any().map(HashMap::new))
                    .unify(),
            )
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::header::optional::<String>("origin"))
            .and(warp::header::optional::<String>("host"))
            .and_then(
                move |path: warp::path::FullPath,
                      query: HashMap<String, String>,
                      auth: Option<String>,
                      origin: Option<String>,
                      host: Option<String>| {
                    let verdict = guard
                        .check(
                            path.as_str(),
                            &query,
                            auth.as_deref(),
                            origin.as_deref(),
                            host.as_deref(),
                        )
                        .map_err(warp::reject::custom);
                    async move { verdict }
                },
            )
            .untuple_one()
    }

    /// `routes` behind this guard: a refused request is answered here; whatever `routes`
    /// rejects (a path that is not theirs) is passed on, so the result still combines with
    /// other routes with `.or()`.
    pub fn wrap(
        &self,
        routes: impl Filter<Extract = (warp::reply::Response,), Error = Rejection>
            + Clone
            + Send
            + Sync
            + 'static,
    ) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
        self.filter()
            .and(routes)
            .recover(|err: Rejection| async move {
                match err.find::<ApiError>() {
                    Some(e) => Ok(e.response()),
                    None => Err(err),
                }
            })
            .unify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_accepted_from_query_or_bearer_only() {
        let mut q = HashMap::new();
        assert!(is_authorized(None, &q, None));
        assert!(!is_authorized(Some("s3cret"), &q, None));
        assert!(is_authorized(Some("s3cret"), &q, Some("Bearer s3cret")));
        assert!(is_authorized(Some("s3cret"), &q, Some("bearer  s3cret ")));
        assert!(!is_authorized(Some("s3cret"), &q, Some("Basic s3cret")));
        assert!(!is_authorized(Some("s3cret"), &q, Some("Bearer s3cre")));
        q.insert("token".into(), "s3cret".into());
        assert!(is_authorized(Some("s3cret"), &q, None));
        q.insert("token".into(), "S3cret".into());
        assert!(!is_authorized(Some("s3cret"), &q, None));
    }

    #[test]
    fn constant_time_eq_compares_whole_secrets() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn token_first_then_origin_on_covered_paths_only() {
        let allowed: Arc<[String]> = vec!["https://wall.example".to_string()].into();
        let guard =
            Guard::new(Some("t"), Origins::SameHostOr(allowed)).covering(|p| p != "/public.js");
        let none = HashMap::new();
        let mut with_token = HashMap::new();
        with_token.insert("token".to_string(), "t".to_string());
        let host = Some("cam:8080");
        let evil = Some("http://evil.example");
        let status = |r: Result<(), ApiError>| r.err().map(|e| e.status.as_u16());

        assert_eq!(
            status(guard.check("/api", &none, None, evil, host)),
            Some(401)
        );
        assert_eq!(
            status(guard.check("/api", &with_token, None, evil, host)),
            Some(403)
        );
        assert_eq!(
            status(guard.check("/api", &with_token, None, None, host)),
            None
        );
        let same = Some("http://cam:8080");
        assert_eq!(
            status(guard.check("/api", &with_token, None, same, host)),
            None
        );
        let listed = Some("https://wall.example/");
        assert_eq!(
            status(guard.check("/api", &with_token, None, listed, host)),
            None
        );
        assert_eq!(
            status(guard.check("/public.js", &none, None, evil, host)),
            None
        );

        let any = Guard::new(Some(""), Origins::Any);
        assert_eq!(status(any.check("/ws", &none, None, evil, host)), None);
    }
}
