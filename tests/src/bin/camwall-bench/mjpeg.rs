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
    /// The body so far, after the HTTP head and any chunked framing.
    buf: Vec<u8>,
    /// The HTTP response head is still to be read.
    http_head: bool,
    /// `Transfer-Encoding: chunked` (ffmpeg's and motion's servers use it).
    chunks: Option<Dechunker>,
    /// Bytes read from the socket so far (headers and multipart framing included).
    pub bytes: u64,
}

const SOI: [u8; 2] = [0xff, 0xd8];

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Where a JPEG's walk ended.
#[derive(Debug, PartialEq)]
enum Walk {
    /// One past its EOI.
    End(usize),
    /// More bytes are needed.
    Incomplete,
    /// Not a JPEG after all.
    Invalid,
}

/// Walks the JPEG starting at `start` (its SOI). Marker segments are skipped by their lengths
/// (their contents may hold any byte, even `FF D9`); after SOS, the entropy-coded data is
/// scanned for a marker other than a stuffed `FF 00`, a fill `FF FF` or a restart marker.
fn walk_jpeg(buf: &[u8], start: usize) -> Walk {
    let at = |i: usize| buf.get(i).copied();
    let mut i = start + 2;
    loop {
        let (Some(ff), Some(marker)) = (at(i), at(i + 1)) else {
            return Walk::Incomplete;
        };
        if ff != 0xff {
            return Walk::Invalid;
        }
        match marker {
            0xff => i += 1,
            0xd9 => return Walk::End(i + 2),
            0x01 | 0xd0..=0xd7 => i += 2,
            0xd8 | 0x00 => return Walk::Invalid,
            _ => {
                let (Some(hi), Some(lo)) = (at(i + 2), at(i + 3)) else {
                    return Walk::Incomplete;
                };
                i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
                if marker == 0xda {
                    // Entropy-coded data up to the next real marker.
                    loop {
                        let (Some(b), next) = (at(i), at(i + 1)) else {
                            return Walk::Incomplete;
                        };
                        if b == 0xff {
                            match next {
                                None => return Walk::Incomplete,
                                Some(0x00 | 0xd0..=0xd7 | 0xff) => {}
                                Some(_) => break,
                            }
                        }
                        i += 1;
                    }
                }
            }
        }
    }
}

/// The first complete JPEG in `buf`: its byte range. A start that does not walk as a JPEG is
/// passed over.
pub fn complete_jpeg(buf: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let start = find(buf, &SOI, from)?;
        match walk_jpeg(buf, start) {
            Walk::End(end) => return Some((start, end)),
            Walk::Incomplete => return None,
            Walk::Invalid => from = start + 2,
        }
    }
}

/// Undoes HTTP/1.1 chunked framing as bytes arrive.
#[derive(Default)]
pub struct Dechunker {
    /// Bytes left in the current chunk.
    left: usize,
    /// A chunk-size line (or the CRLF after a chunk) not yet complete.
    pending: Vec<u8>,
}

impl Dechunker {
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        while !data.is_empty() {
            if self.left > 0 {
                let n = self.left.min(data.len());
                out.extend_from_slice(&data[..n]);
                self.left -= n;
                data = &data[n..];
                continue;
            }
            self.pending.push(data[0]);
            data = &data[1..];
            if self.pending.ends_with(b"\r\n") {
                let line = std::str::from_utf8(&self.pending[..self.pending.len() - 2])?.trim();
                if !line.is_empty() {
                    let size = line.split(';').next().unwrap_or("").trim();
                    self.left = usize::from_str_radix(size, 16)
                        .with_context(|| format!("bad chunk size line '{line}'"))?;
                    if self.left == 0 {
                        bail!("the server ended the stream");
                    }
                }
                self.pending.clear();
            } else if self.pending.len() > 1024 {
                bail!("chunk size line over 1 KiB");
            }
        }
        Ok(())
    }
}

impl MjpegClient {
    /// Takes bytes from the socket: the HTTP head first, then the body (dechunked).
    fn take(&mut self, mut data: &[u8]) -> anyhow::Result<()> {
        if self.http_head {
            self.buf.extend_from_slice(data);
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                if self.buf.len() > 64 * 1024 {
                    bail!("no end of the HTTP head in 64 KiB");
                }
                return Ok(());
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.")
                || head.split_whitespace().nth(1).is_none_or(|s| s != "200")
            {
                bail!("HTTP answer: {}", head.lines().next().unwrap_or(""));
            }
            if head.contains("transfer-encoding: chunked") {
                self.chunks = Some(Dechunker::default());
            }
            self.http_head = false;
            let body = self.buf.split_off(end + 4);
            self.buf.clear();
            data = &[];
            self.take_body(&body)?;
        }
        self.take_body(data)
    }

    fn take_body(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match &mut self.chunks {
            Some(d) => d.feed(data, &mut self.buf),
            None => {
                self.buf.extend_from_slice(data);
                Ok(())
            }
        }
    }

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
            http_head: path.is_some(),
            chunks: None,
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
            self.take(&chunk[..n])?;
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
                Ok(n) => {
                    total += n as u64;
                    self.take(&chunk[..n])?;
                    // Only the framing state matters here, not the pictures.
                    if !self.http_head {
                        self.buf.clear();
                    }
                }
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
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_chunked_framing_split_anywhere() {
        let wire = b"4\r\nabcd\r\n6;x=1\r\nefghij\r\n";
        for split in 0..wire.len() {
            let (mut d, mut out) = (Dechunker::default(), Vec::new());
            d.feed(&wire[..split], &mut out).unwrap();
            d.feed(&wire[split..], &mut out).unwrap();
            assert_eq!(out, b"abcdefghij");
        }
        let mut out = Vec::new();
        assert!(Dechunker::default().feed(b"zz\r\n", &mut out).is_err());
        assert!(Dechunker::default().feed(b"0\r\n", &mut out).is_err());
    }

    #[test]
    fn cuts_jpegs_out_of_multipart() {
        let mut stream = b"--b\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        let jpeg = [
            0xff, 0xd8, // SOI
            0xff, 0xc4, 0x00, 0x05, 0xff, 0xd9, 0x07, // DHT whose contents hold FF D9
            0xff, 0xda, 0x00, 0x03, 0x01, // SOS
            0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, // data, a stuffed FF, a restart
            0xff, 0xd9, // EOI
        ];
        stream.extend_from_slice(&jpeg);
        stream.extend_from_slice(b"\r\n--b\r\n");
        let (s, e) = complete_jpeg(&stream).unwrap();
        assert_eq!(&stream[s..e], &jpeg);
        assert_eq!(complete_jpeg(&stream[..e - 1]), None);
        // A stray SOI before the real one is passed over.
        let mut noisy = vec![0xff, 0xd8, 0x42];
        noisy.extend_from_slice(&jpeg);
        assert_eq!(complete_jpeg(&noisy), Some((3, 3 + jpeg.len())));
    }
}
