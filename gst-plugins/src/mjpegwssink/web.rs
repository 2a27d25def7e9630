// SPDX-License-Identifier: MIT OR Apache-2.0

//! The viewer's files, embedded at build time (`web/`): the player that camwall's page shares,
//! its decoder worker, the JSDoc types of the WebSocket messages, and the sink's own viewer page.
//! ES modules served as files, no bundler: the page loads them under a Content-Security-Policy
//! that allows nothing but its own origin ([`crate::http::CONTENT_SECURITY_POLICY`]).

/// One file a server hands out.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its path on the server, from `/`.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub mime: &'static str,
    pub body: &'static str,
}

impl Asset {
    /// An ES module (or worker script).
    pub const fn js(path: &'static str, body: &'static str) -> Asset {
        Asset {
            path,
            mime: "text/javascript; charset=utf-8",
            body,
        }
    }

    /// A style sheet.
    pub const fn css(path: &'static str, body: &'static str) -> Asset {
        Asset {
            path,
            mime: "text/css; charset=utf-8",
            body,
        }
    }
}

/// The player, its worker and the message types: served wherever a page shows the stream.
pub const PLAYER: [Asset; 4] = [
    Asset::js("/player.js", include_str!("web/player.js")),
    Asset::js("/base64.js", include_str!("web/base64.js")),
    Asset::js("/decoder.worker.js", include_str!("web/decoder.worker.js")),
    Asset::js("/protocol.js", include_str!("web/protocol.js")),
];

/// The sink's own viewer page's script and style (the page itself is [`viewer_page`]).
pub const VIEWER: [Asset; 2] = [
    Asset::js("/viewer.js", include_str!("web/viewer.js")),
    Asset::css("/viewer.css", include_str!("web/viewer.css")),
];

/// The sink's own viewer page: the shared player on the whole window, reconnecting, its
/// WebSocket at `ws_path`.
pub fn viewer_page(ws_path: &str) -> String {
    const PAGE: &str = include_str!("web/viewer.html");
    let escaped = ws_path
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    PAGE.replace("__WS_PATH__", &escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_page_names_its_socket_and_loads_only_files_it_is_served_with() {
        let page = viewer_page("/live\"<x>");
        assert!(page.contains("content=\"/live&quot;&lt;x&gt;\""), "{page}");
        assert!(!page.contains("<script>"), "no inline script");
        for asset in PLAYER.iter().chain(&VIEWER) {
            assert!(!asset.body.is_empty(), "{}", asset.path);
        }
        for src in ["viewer.js", "viewer.css", "player.js"] {
            assert!(page.contains(src), "{src}");
        }
    }
}
