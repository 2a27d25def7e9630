// SPDX-License-Identifier: MIT OR Apache-2.0

//! The sink's own HTTP server on the plugin-wide runtime.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::filters::BoxedFilter;

use super::clients::ClientSet;

/// One runtime for every server of the plugin: a few workers serve hundreds of viewers.
pub static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("camwall-ws")
        .enable_all()
        .build()
        .expect("the camwall runtime must start")
});

/// Pending connections the kernel keeps for the server (capped by `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 1024;

/// How long `stop()` waits for viewers to take their close frame and for the server to end.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A running server; stopped with [`ServerHandle::stop`] (or when dropped, without waiting).
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    clients: ClientSet,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Binds at once (so a bind error is reported to the caller and the port is known) and serves
    /// `filter` on the plugin runtime.
    pub fn start(
        addr: SocketAddr,
        filter: BoxedFilter<(warp::reply::Response,)>,
        clients: ClientSet,
    ) -> std::io::Result<ServerHandle> {
        let _enter = RUNTIME.enter();
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        // A restart binds the same port at once, even with connections in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // Room for every viewer reconnecting at once (after a restart, say): with the usual
        // 128, a burst of connections waits for SYN retries, a second or more.
        let listener = socket.listen(LISTEN_BACKLOG)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = RUNTIME.spawn(crate::http::serve(
            filter,
            listener,
            crate::http::HEADER_READ_TIMEOUT,
            async {
                let _ = rx.await;
            },
        ));
        Ok(ServerHandle {
            addr,
            clients,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Closes every viewer with `code`/`reason`, stops accepting, and waits (bounded) until the
    /// viewers are gone and the server task has ended.
    pub fn stop(mut self, code: u16, reason: &str) {
        self.clients.close_all(code, reason);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else {
            return;
        };
        let clients = self.clients.clone();
        let wait = async move {
            let deadline = Instant::now() + STOP_TIMEOUT;
            let _ = tokio::time::timeout(STOP_TIMEOUT, task).await;
            while !clients.is_empty() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Called from async code: blocking here could deadlock the runtime, so let it end
            // by itself.
            RUNTIME.spawn(wait);
        } else {
            RUNTIME.block_on(wait);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            self.clients.close_all(1001, "server stopped");
            let _ = tx.send(());
        }
    }
}
