// SPDX-License-Identifier: MIT OR Apache-2.0

//! camwall's HTTP: serving a warp filter with limits on what one connection may hold, the one
//! guard in front of every route ([`Guard`]: token, then origin), and the one answer shape
//! ([`ApiError`], `{"error": code, "reason": sentence}`) of the sink's own server and the
//! launcher's alike.
//!
//! ## Serving
//! warp's own server reads a request head for as long as the client cares to send it, so a
//! client that opens a connection and sends half a request holds a socket and a task forever.
//! This server is warp's, with a deadline on each request head: a client that has not sent a
//! whole head within [`HEADER_READ_TIMEOUT`] is disconnected. WebSocket connections, once
//! upgraded, are no longer HTTP and are not affected.

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use warp::filters::BoxedFilter;

mod guard;
mod reply;

pub use guard::{
    constant_time_eq, cookie_value, is_authorized, origin_allowed, Credential, CredentialSet,
    Guard, Identity, Origins, Role,
};
pub use reply::{
    asset_reply, assets, json_error, json_reply, recover, ApiError, CONTENT_SECURITY_POLICY,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "camwall-http",
        gst::DebugColorFlags::empty(),
        Some("camwall HTTP server"),
    )
});

/// Time a client has to send a whole request head once it starts one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `filter` on `listener` until `shutdown` resolves; then stops accepting and waits for
/// the requests under way (not for WebSockets, which the caller closes).
pub async fn serve(
    filter: BoxedFilter<(warp::reply::Response,)>,
    listener: TcpListener,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    gst::debug!(CAT, "accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(warp::service(filter.clone()));
        let connection = graceful.watch(
            builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                gst::debug!(CAT, "connection ended: {err}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use warp::Filter;

    fn hello() -> BoxedFilter<(warp::reply::Response,)> {
        warp::path!("hello")
            .map(|| warp::reply::Reply::into_response("hi"))
            .boxed()
    }

    #[tokio::test]
    async fn a_half_sent_request_is_cut_off_and_whole_ones_are_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            hello(),
            listener,
            Duration::from_millis(300),
            async {
                let _ = stopped.await;
            },
        ));

        let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();

        let mut good = tokio::net::TcpStream::connect(addr).await.unwrap();
        good.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        good.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hi"), "{answer}");

        // The stalled client is disconnected (with a 408 or nothing), well within a few seconds.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut rest))
            .await
            .expect("the half-sent request was not cut off");
        assert!(read.is_ok());
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server did not stop")
            .unwrap();
    }
}
