// SPDX-License-Identifier: MIT OR Apache-2.0

//! A client for the peers' MJPEG streams (multipart over HTTP, or a bare multipart byte stream):
//! it cuts complete JPEGs out of the byte stream by their start and end markers, which works for
//! every multipart flavour without trusting its headers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A JPEG as it arrived.
pub struct Jpeg {
    pub data: Vec<u8>,
    pub received: Instant,
    pub received_unix_ms: u64,
}

pub struct MjpegClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes read from the socket so far (headers and multipart framing included).
    pub bytes: u64,
}

const SOI: [u8; 2] = [0xff, 0xd8];
const EOI: [u8; 2] = [0xff, 0xd9];

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The first complete JPEG in `buf`: its byte range.
pub fn complete_jpeg(buf: &[u8]) -> Option<(usize, usize)> {
    let start = find(buf, &SOI, 0)?;
    let end = find(buf, &EOI, start + 2)? + 2;
    Some((start, end))
}

impl MjpegClient {
    /// Connects to `addr`; with `path`, sends an HTTP GET for it first.
    pub fn connect(addr: &str, path: Option<&str>) -> anyhow::Result<MjpegClient> {
        let mut stream = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        if let Some(path) = path {
            stream.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n").as_bytes(),
            )?;
        }
        Ok(MjpegClient {
            stream,
            buf: Vec::with_capacity(1 << 20),
            bytes: 0,
        })
    }

    /// The next complete JPEG, within `timeout`.
    pub fn next_jpeg(&mut self, timeout: Duration) -> anyhow::Result<Jpeg> {
        let deadline = Instant::now() + timeout;
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            if let Some((start, end)) = complete_jpeg(&self.buf) {
                let data = self.buf[start..end].to_vec();
                self.buf.drain(..end);
                // Receipt is when the last byte arrived: stamped at the read below. A JPEG already
                // whole in the buffer arrived in the same read as the one before it.
                return Ok(Jpeg {
                    data,
                    received: Instant::now(),
                    received_unix_ms: gstcamwall::protocol::unix_ms_now(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no complete JPEG within {timeout:?}");
            }
            self.stream.set_read_timeout(Some(left))?;
            let n = self.stream.read(&mut chunk).context("read")?;
            if n == 0 {
                bail!("the server closed the stream");
            }
            self.bytes += n as u64;
            self.buf.extend_from_slice(&chunk[..n]);
            // A stream that never completes a JPEG must not grow without bound.
            if self.buf.len() > 64 << 20 {
                bail!("64 MiB without a complete JPEG");
            }
        }
    }

    /// Reads and counts bytes without cutting out JPEGs, for `dur`.
    pub fn drain_for(&mut self, dur: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + dur;
        let mut chunk = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => bail!("the server closed the stream"),
                Ok(n) => total += n as u64,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.bytes += total;
        self.buf.clear();
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_jpegs_out_of_multipart() {
        let mut stream = b"--b\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        stream.extend_from_slice(&[0xff, 0xd8, 1, 2, 0xff, 0x00, 3, 0xff, 0xd9]);
        stream.extend_from_slice(b"\r\n--b\r\n");
        let (s, e) = complete_jpeg(&stream).unwrap();
        assert_eq!(&stream[s..s + 2], &SOI);
        assert_eq!(&stream[e - 2..e], &EOI);
        assert_eq!(e - s, 9);
        assert_eq!(complete_jpeg(&stream[..e - 1]), None);
    }
}
