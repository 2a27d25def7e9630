// SPDX-License-Identifier: MIT OR Apache-2.0

//! What a camera's failure was, from what its elements post on the bus: the kind the API
//! reports ([`FailureKind`]) and whether the message ends the camera's session at all.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::health::FailureKind;

/// How long [`reachability`] waits for a TCP connection to the camera.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a camera element's error means. `None` for a connection that could not be made: only
/// a look at the network tells a refused port from an unreachable host ([`reachability`]).
pub fn classify_error(err: &glib::Error, debug: Option<&str>) -> Option<FailureKind> {
    let debug = debug.unwrap_or_default();
    if server_closed(debug) {
        return Some(FailureKind::Stalled);
    }
    if let Some(e) = err.kind::<gst::ResourceError>() {
        return Some(match e {
            gst::ResourceError::NotAuthorized => FailureKind::Auth,
            gst::ResourceError::NotFound => FailureKind::NotFound,
            gst::ResourceError::OpenRead
            | gst::ResourceError::OpenWrite
            | gst::ResourceError::OpenReadWrite
                if debug.contains("connect") =>
            {
                return None
            }
            _ if debug.contains("Timeout") || debug.contains("timed out") => FailureKind::Timeout,
            _ => FailureKind::Protocol,
        });
    }
    if let Some(e) = err.kind::<gst::StreamError>() {
        return Some(match e {
            gst::StreamError::CodecNotFound
            | gst::StreamError::TypeNotFound
            | gst::StreamError::WrongType
            | gst::StreamError::NotImplemented
            | gst::StreamError::Format => FailureKind::Unsupported,
            // not-negotiated: no decoder or converter takes what the camera sends.
            _ if debug.contains("not-negotiated") => FailureKind::Unsupported,
            _ => FailureKind::Protocol,
        });
    }
    if let Some(gst::CoreError::MissingPlugin) = err.kind::<gst::CoreError>() {
        return Some(FailureKind::Unsupported);
    }
    Some(FailureKind::Protocol)
}

/// Whether a message's detail says the server ended the session.
fn server_closed(debug: &str) -> bool {
    debug.contains("server closed the connection")
}

/// Whether a warning from a camera's element means its session is over: the server closed
/// the connection (over UDP, rtspsrc only warns, and would wait for packets that never come).
pub fn warning_ends_session(err: &glib::Error, debug: Option<&str>) -> bool {
    server_closed(err.message()) || debug.is_some_and(server_closed)
}

/// Why a connection to `url`'s host and port could not be made, tried once with a short
/// timeout: `Refused` when nothing listens there, `Unreachable` when the host cannot be
/// resolved or reached. Blocks for up to a second: call it off the supervisor's thread.
pub fn reachability(url: &str) -> (FailureKind, String) {
    let Some((host, port)) = host_and_port(url) else {
        return (
            FailureKind::Unreachable,
            "the camera's URL has no host".into(),
        );
    };
    let addrs = match (host.as_str(), port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => {
            return (
                FailureKind::Unreachable,
                format!("cannot resolve {host}: {e}"),
            )
        }
    };
    let Some(addr) = addrs.first() else {
        return (FailureKind::Unreachable, format!("{host} has no address"));
    };
    match TcpStream::connect_timeout(addr, PROBE_TIMEOUT) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => (
            FailureKind::Refused,
            format!("connection refused by {addr}: nothing listens on port {port}"),
        ),
        Err(e) => (
            FailureKind::Unreachable,
            format!("cannot reach {addr}: {e}"),
        ),
        // It listens now: it came up between the attempt and this look.
        Ok(_) => (
            FailureKind::Refused,
            format!("could not connect to {addr} (it answers now)"),
        ),
    }
}

/// The host and port (554 when none is given) of an `rtsp://[user[:password]@]host[:port]/...`
/// URL; IPv6 hosts in brackets.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 554,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error<T: gst::glib::error::ErrorDomain>(code: T, text: &str) -> glib::Error {
        glib::Error::new(code, text)
    }

    #[test]
    fn errors_are_told_apart_by_domain_code_and_detail() {
        crate::init_gst();
        let cases = [
            (
                error(gst::ResourceError::NotAuthorized, "Unauthorized"),
                "",
                Some(FailureKind::Auth),
            ),
            (
                error(gst::ResourceError::NotFound, "Not found"),
                "",
                Some(FailureKind::NotFound),
            ),
            (
                error(gst::ResourceError::OpenReadWrite, "Could not open resource"),
                "Failed to connect. (Generic error)",
                None,
            ),
            (
                error(gst::ResourceError::Read, "Could not read"),
                "Could not receive message. (Timeout while waiting for server response)",
                Some(FailureKind::Timeout),
            ),
            (
                error(gst::ResourceError::Read, "Could not read"),
                "Could not receive message. (Parse error)",
                Some(FailureKind::Protocol),
            ),
            (
                error(gst::StreamError::CodecNotFound, "no decoder"),
                "",
                Some(FailureKind::Unsupported),
            ),
            (
                error(gst::StreamError::Failed, "Internal data stream error"),
                "streaming stopped, reason not-negotiated (-4)",
                Some(FailureKind::Unsupported),
            ),
            (
                error(gst::CoreError::MissingPlugin, "missing"),
                "",
                Some(FailureKind::Unsupported),
            ),
            (
                error(gst::CoreError::Failed, "odd"),
                "",
                Some(FailureKind::Protocol),
            ),
            (
                error(gst::ResourceError::Read, "Could not read from resource."),
                "The server closed the connection.",
                Some(FailureKind::Stalled),
            ),
        ];
        for (err, debug, want) in cases {
            assert_eq!(classify_error(&err, Some(debug)), want, "{err} / {debug}");
        }
    }

    #[test]
    fn a_warning_that_the_server_closed_the_connection_ends_the_session() {
        let w = error(gst::ResourceError::Read, "Could not read from resource.");
        assert!(warning_ends_session(
            &w,
            Some("The server closed the connection.")
        ));
        assert!(!warning_ends_session(
            &w,
            Some("Could not receive any UDP packets")
        ));
        assert!(!warning_ends_session(&w, None));
    }

    #[test]
    fn urls_give_their_host_and_port() {
        let hp = |u| host_and_port(u);
        assert_eq!(
            hp("rtsp://a:b@10.0.0.1:8554/x"),
            Some(("10.0.0.1".into(), 8554))
        );
        assert_eq!(
            hp("rtsp://cam.example/x"),
            Some(("cam.example".into(), 554))
        );
        assert_eq!(hp("rtsp://u:p@w@[::1]:9/s"), Some(("::1".into(), 9)));
        assert_eq!(hp("rtsps://[fe80::1]/s"), Some(("fe80::1".into(), 554)));
        assert_eq!(hp("rtsp:///s"), None);
        assert_eq!(hp("rtsp://h:notaport/s"), None);
        assert_eq!(hp("nonsense"), None);
    }

    #[test]
    fn a_closed_port_is_refused_and_a_url_without_a_host_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let (kind, message) = reachability(&format!("rtsp://u:p@127.0.0.1:{port}/s"));
        assert_eq!(kind, FailureKind::Refused, "{message}");
        assert!(!message.contains(":p@"));
        let (kind, _) = reachability("rtsp:///s");
        assert_eq!(kind, FailureKind::Unreachable);
    }
}
