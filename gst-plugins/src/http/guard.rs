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

/// What a user may do, each role including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Watch walls and peek at cameras.
    Viewer,
    /// Also choose what walls show, acknowledge and snooze alarms.
    Operator,
    /// Also everything else the API offers.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not a role: viewer, operator or admin"))
    }
}

/// Who made a request: the user its token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: Arc<str>,
    pub role: Role,
}

/// A token and whose it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub token: Arc<str>,
    pub identity: Identity,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("token", &"***")
            .field("identity", &self.identity)
            .finish()
    }
}

/// The bearer token of a request: `?token=` or `Authorization: Bearer`.
fn presented<'a>(
    query: &'a HashMap<String, String>,
    authorization: Option<&'a str>,
) -> [Option<&'a str>; 2] {
    let from_header = authorization.and_then(|h| {
        let (scheme, value) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(value.trim())
    });
    [query.get("token").map(String::as_str), from_header]
}

/// The identity whose token the request presents. Every credential and both places are
/// compared, whatever matches, so the time taken says nothing about which one did.
fn identify(
    credentials: &[Credential],
    query: &HashMap<String, String>,
    authorization: Option<&str>,
) -> Option<Identity> {
    let mut found = None;
    for given in presented(query, authorization).into_iter().flatten() {
        for c in credentials {
            if constant_time_eq(given.as_bytes(), c.token.as_bytes()) && found.is_none() {
                found = Some(c.identity.clone());
            }
        }
    }
    found
}

/// Which paths a guard covers.
type Scope = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The role a request needs, from its method and path.
type Needs = Arc<dyn Fn(&warp::http::Method, &str) -> Role + Send + Sync>;

/// Whose a session cookie's value is, if it is a live session.
type Sessions = Arc<dyn Fn(&str) -> Option<Identity> + Send + Sync>;

/// The session cookie a guard reads, and who its sessions belong to.
#[derive(Clone)]
struct SessionCookie {
    name: &'static str,
    lookup: Sessions,
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim())
    })
}

/// The tokens the guards made from it accept, shared by them all and replaced while they serve
/// (a user added, a token changed or a role edited takes effect at the next request). Cheap to
/// clone: the clones are the same set.
#[derive(Clone, Default)]
pub struct CredentialSet(Arc<std::sync::RwLock<Arc<[Credential]>>>);

impl CredentialSet {
    pub fn new(credentials: Vec<Credential>) -> Self {
        CredentialSet(Arc::new(std::sync::RwLock::new(credentials.into())))
    }

    /// The credentials as they are now.
    pub fn get(&self) -> Arc<[Credential]> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes `credentials` the ones accepted from now on; answers the ones they replace.
    pub fn replace(&self, credentials: Vec<Credential>) -> Arc<[Credential]> {
        let mut now = self.0.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *now, credentials.into())
    }
}

impl std::fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.get().iter()).finish()
    }
}

/// The token and origin check in front of a set of routes. Cheap to clone.
#[derive(Clone)]
pub struct Guard {
    credentials: CredentialSet,
    origins: Origins,
    guarded: Scope,
    needs: Needs,
    sessions: Option<SessionCookie>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("credentials", &self.credentials)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard asking for `token` (none, or an empty one, asks for nothing; its holder is an
    /// admin) and accepting `origins`, on every path until [`Guard::covering`] says otherwise.
    pub fn new(token: Option<&str>, origins: Origins) -> Self {
        let credentials = token
            .filter(|t| !t.is_empty())
            .map(|t| Credential {
                token: t.into(),
                identity: Identity {
                    name: "admin".into(),
                    role: Role::Admin,
                },
            })
            .into_iter()
            .collect();
        Self::with_credentials(credentials, origins)
    }

    /// A guard asking for one of `credentials` (none asks for nothing), each request needing
    /// the viewer role until [`Guard::requiring`] says otherwise.
    pub fn with_credentials(credentials: Vec<Credential>, origins: Origins) -> Self {
        Self::with_credential_set(CredentialSet::new(credentials), origins)
    }

    /// A guard asking for one of the credentials `set` holds at each request (an empty set asks
    /// for nothing), so that they can change while it serves.
    pub fn with_credential_set(set: CredentialSet, origins: Origins) -> Self {
        Guard {
            credentials: set,
            origins,
            guarded: Arc::new(|_| true),
            needs: Arc::new(|_, _| Role::Viewer),
            sessions: None,
        }
    }

    /// The same guard, also letting in a request whose cookie `name` holds a session that
    /// `lookup` knows (a page signed in: its token stays out of URLs). A token, when one is
    /// presented too, wins.
    pub fn with_sessions(
        mut self,
        name: &'static str,
        lookup: impl Fn(&str) -> Option<Identity> + Send + Sync + 'static,
    ) -> Self {
        self.sessions = Some(SessionCookie {
            name,
            lookup: Arc::new(lookup),
        });
        self
    }

    /// Whose `token` is (for a sign-in form), compared like a request's.
    pub fn whose(&self, token: &str) -> Option<Identity> {
        identify(
            &self.credentials.get(),
            &HashMap::new(),
            Some(&format!("Bearer {token}")),
        )
    }

    /// Whether this guard asks for a token at all.
    pub fn asks_for_credentials(&self) -> bool {
        !self.credentials.get().is_empty()
    }

    /// Whether a browser page of `origin` may use the routes (see [`Origins`]).
    pub fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::SameHostOr(allowed) => origin_allowed(origin, host, allowed),
        }
    }

    /// Who presents a token or, failing that, a live session cookie.
    fn who(
        &self,
        query: &HashMap<String, String>,
        authorization: Option<&str>,
        cookie: Option<&str>,
    ) -> Option<Identity> {
        identify(&self.credentials.get(), query, authorization).or_else(|| {
            let s = self.sessions.as_ref()?;
            (s.lookup)(cookie_value(cookie, s.name)?)
        })
    }

    /// The same guard, covering only the paths `guarded` says yes to; the others pass as
    /// they are (public files, or paths that belong to someone else's routes).
    pub fn covering(mut self, guarded: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.guarded = Arc::new(guarded);
        self
    }

    /// The same guard, asking each request for the role `needs` gives its method and path.
    pub fn requiring(
        mut self,
        needs: impl Fn(&warp::http::Method, &str) -> Role + Send + Sync + 'static,
    ) -> Self {
        self.needs = Arc::new(needs);
        self
    }

    /// Whether a request for `path` with these credentials and headers may go on (with whose
    /// it is: `None` when the guard asks for no token); if not, the answer to give.
    pub fn check(
        &self,
        method: &warp::http::Method,
        path: &str,
        query: &HashMap<String, String>,
        authorization: Option<&str>,
        origin: Option<&str>,
        host: Option<&str>,
    ) -> Result<Option<Identity>, ApiError> {
        self.check_request(method, path, query, [authorization, None], origin, host)
    }

    /// [`Guard::check`] with the request's `Cookie` header too (`[authorization, cookie]`).
    pub fn check_request(
        &self,
        method: &warp::http::Method,
        path: &str,
        query: &HashMap<String, String>,
        [authorization, cookie]: [Option<&str>; 2],
        origin: Option<&str>,
        host: Option<&str>,
    ) -> Result<Option<Identity>, ApiError> {
        if !(self.guarded)(path) {
            return Ok(None);
        }
        let who = if self.credentials.get().is_empty() {
            None
        } else {
            Some(
                self.who(query, authorization, cookie)
                    .ok_or_else(ApiError::unauthorized)?,
            )
        };
        match &self.origins {
            Origins::Any => {}
            Origins::SameHostOr(allowed) if origin_allowed(origin, host, allowed) => {}
            Origins::SameHostOr(_) => return Err(ApiError::forbidden_origin()),
        }
        if let Some(who) = &who {
            let needed = (self.needs)(method, path);
            if who.role < needed {
                return Err(ApiError::new(
                    warp::http::StatusCode::FORBIDDEN,
                    "forbidden-role",
                    format!(
                        "this needs the {} role; {} is {} {}",
                        needed.as_str(),
                        who.name,
                        if who.role == Role::Admin { "an" } else { "a" },
                        who.role.as_str()
                    ),
                ));
            }
        }
        Ok(who)
    }

    /// The check as a filter: it refuses with the [`ApiError`] that [`super::recover`] answers.
    pub fn filter(&self) -> impl Filter<Extract = (), Error = Rejection> + Clone {
        let guard = self.clone();
        warp::method()
            .and(warp::path::full())
            .and(
                warp::query::<HashMap<String, String>>()
                    .or(warp::any().map(HashMap::new))
                    .unify(),
            )
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::header::optional::<String>("cookie"))
            .and(warp::header::optional::<String>("origin"))
            .and(warp::header::optional::<String>("host"))
            .and_then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      query: HashMap<String, String>,
                      auth: Option<String>,
                      cookie: Option<String>,
                      origin: Option<String>,
                      host: Option<String>| {
                    let verdict = guard
                        .check_request(
                            &method,
                            path.as_str(),
                            &query,
                            [auth.as_deref(), cookie.as_deref()],
                            origin.as_deref(),
                            host.as_deref(),
                        )
                        .map(|_| ())
                        .map_err(warp::reject::custom);
                    async move { verdict }
                },
            )
            .untuple_one()
    }

    /// Who a request comes from (`None` without credentials configured, or for a token that
    /// is not one of them), for routes that record who acted. It checks nothing: the guard in
    /// front of the routes has.
    pub fn identify(
        &self,
    ) -> impl Filter<Extract = (Option<Identity>,), Error = std::convert::Infallible> + Clone {
        let guard = self.clone();
        warp::query::<HashMap<String, String>>()
            .or(warp::any().map(HashMap::new))
            .unify()
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::header::optional::<String>("cookie"))
            .map(
                move |query: HashMap<String, String>,
                      auth: Option<String>,
                      cookie: Option<String>| {
                    guard.who(&query, auth.as_deref(), cookie.as_deref())
                },
            )
            .or(warp::any().map(|| None))
            .unify()
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
        let status = |r: Result<Option<Identity>, ApiError>| r.err().map(|e| e.status.as_u16());
        let get = &warp::http::Method::GET;

        assert_eq!(
            status(guard.check(get, "/api", &none, None, evil, host)),
            Some(401)
        );
        assert_eq!(
            status(guard.check(get, "/api", &with_token, None, evil, host)),
            Some(403)
        );
        assert_eq!(
            status(guard.check(get, "/api", &with_token, None, None, host)),
            None
        );
        let same = Some("http://cam:8080");
        assert_eq!(
            status(guard.check(get, "/api", &with_token, None, same, host)),
            None
        );
        let listed = Some("https://wall.example/");
        assert_eq!(
            status(guard.check(get, "/api", &with_token, None, listed, host)),
            None
        );
        assert_eq!(
            status(guard.check(get, "/public.js", &none, None, evil, host)),
            None
        );

        let any = Guard::new(Some(""), Origins::Any);
        assert_eq!(status(any.check(get, "/ws", &none, None, evil, host)), None);
    }

    #[test]
    fn each_user_is_known_by_their_token_and_needs_the_role_the_request_asks() {
        let user = |token: &str, name: &str, role| Credential {
            token: token.into(),
            identity: Identity {
                name: name.into(),
                role,
            },
        };
        let guard = Guard::with_credentials(
            vec![
                user("v-token", "val", Role::Viewer),
                user("o-token", "olga", Role::Operator),
                user("a-token", "ada", Role::Admin),
            ],
            Origins::Any,
        )
        .requiring(|method, path| match (method.as_str(), path) {
            ("GET", _) => Role::Viewer,
            ("PUT", "/api/selection") => Role::Operator,
            _ => Role::Admin,
        });
        let ask = |method: &str, path: &str, token: &str| {
            let query = HashMap::new();
            let bearer = format!("Bearer {token}");
            let method = warp::http::Method::from_bytes(method.as_bytes()).unwrap();
            guard.check(&method, path, &query, Some(&bearer), None, None)
        };
        let who = |r: Result<Option<Identity>, ApiError>| r.unwrap().unwrap().name.to_string();
        assert_eq!(who(ask("GET", "/api/cameras", "v-token")), "val");
        assert_eq!(who(ask("PUT", "/api/selection", "o-token")), "olga");
        assert_eq!(who(ask("POST", "/api/cameras", "a-token")), "ada");
        let refused = ask("PUT", "/api/selection", "v-token").unwrap_err();
        assert_eq!(refused.status.as_u16(), 403);
        assert_eq!(refused.code, "forbidden-role");
        assert!(
            refused.reason.contains("operator role; val is a viewer"),
            "{}",
            refused.reason
        );
        let refused = ask("POST", "/api/cameras", "o-token").unwrap_err();
        assert!(
            refused.reason.contains("needs the admin role"),
            "{}",
            refused.reason
        );
        assert_eq!(
            ask("GET", "/api/cameras", "nobody")
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
        assert_eq!("operator".parse::<Role>(), Ok(Role::Operator));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn credentials_replaced_apply_to_every_guard_sharing_them_at_the_next_request() {
        let cred = |token: &str, name: &str, role| Credential {
            token: token.into(),
            identity: Identity {
                name: name.into(),
                role,
            },
        };
        let set = CredentialSet::new(vec![cred("old-token", "val", Role::Viewer)]);
        let guard = Guard::with_credential_set(set.clone(), Origins::Any);
        let copy = guard.clone();
        let ask = |g: &Guard, token: &str| {
            let bearer = format!("Bearer {token}");
            g.check(
                &warp::http::Method::GET,
                "/api/cameras",
                &HashMap::new(),
                Some(&bearer),
                None,
                None,
            )
            .map(|who| who.map(|w| (w.name.to_string(), w.role)))
        };
        assert_eq!(ask(&copy, "old-token").unwrap().unwrap().0, "val");
        let before = set.replace(vec![cred("new-token", "val", Role::Operator)]);
        assert_eq!(before.len(), 1);
        assert_eq!(ask(&guard, "old-token").unwrap_err().status.as_u16(), 401);
        assert_eq!(
            ask(&copy, "new-token").unwrap(),
            Some(("val".to_string(), Role::Operator))
        );
        // No credentials left: nothing is asked.
        set.replace(Vec::new());
        assert!(!guard.asks_for_credentials());
        assert_eq!(ask(&copy, "anything").unwrap(), None);
        // Tokens never show in a debug print.
        set.replace(vec![cred("secret-token", "ada", Role::Admin)]);
        assert!(!format!("{guard:?}").contains("secret-token"));
    }
}
