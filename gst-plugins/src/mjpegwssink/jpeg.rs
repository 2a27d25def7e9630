// SPDX-License-Identifier: MIT OR Apache-2.0

//! Cheap structural check of a JPEG image: enough to refuse garbage before it reaches browsers and
//! to read the picture size from the frame header, without decoding anything.

/// What the sink learns from a JPEG it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    pub width: u32,
    pub height: u32,
}

/// Why a buffer is not a JPEG the sink forwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    #[error("buffer is too short to be a JPEG ({0} bytes)")]
    TooShort(usize),
    #[error("no start-of-image marker (FFD8) at the start")]
    NoStartOfImage,
    #[error("no end-of-image marker (FFD9) at the end")]
    NoEndOfImage,
    #[error("marker segments are malformed at byte {0}")]
    Malformed(usize),
    #[error("no frame header (SOF) before the image data")]
    NoFrameHeader,
}

/// Checks the SOI/EOI markers and walks the marker segments up to the frame header.
///
/// Trailing zero bytes after the end-of-image marker are tolerated: some cameras pad their frames.
pub fn inspect(data: &[u8]) -> Result<JpegInfo, JpegError> {
    if data.len() < 4 {
        return Err(JpegError::TooShort(data.len()));
    }
    if data[0] != 0xFF || data[1] != 0xD8 {
        return Err(JpegError::NoStartOfImage);
    }
    let end = data.len() - data.iter().rev().take_while(|&&b| b == 0).count();
    if end < 4 || data[end - 2] != 0xFF || data[end - 1] != 0xD9 {
        return Err(JpegError::NoEndOfImage);
    }

    let mut pos = 2;
    loop {
        if pos + 1 >= end || data[pos] != 0xFF {
            return Err(JpegError::Malformed(pos));
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while pos + 1 < end && data[pos + 1] == 0xFF {
            pos += 1;
        }
        let marker = data
            .get(pos + 1)
            .copied()
            .ok_or(JpegError::Malformed(pos))?;
        pos += 2;
        match marker {
            // Markers without a length field.
            0x01 | 0xD0..=0xD7 => continue,
            // Image data or end of image before any frame header.
            0xDA | 0xD9 => return Err(JpegError::NoFrameHeader),
            _ => {}
        }
        let len = match data.get(pos..pos + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(JpegError::Malformed(pos)),
        };
        if len < 2 || pos + len > end {
            return Err(JpegError::Malformed(pos));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            // length(2) precision(1) height(2) width(2)
            if len < 7 {
                return Err(JpegError::Malformed(pos));
            }
            let height = u32::from(u16::from_be_bytes([data[pos + 3], data[pos + 4]]));
            let width = u32::from(u16::from_be_bytes([data[pos + 5], data[pos + 6]]));
            if width == 0 {
                return Err(JpegError::Malformed(pos));
            }
            return Ok(JpegInfo { width, height });
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest structurally complete baseline JPEG header we need: SOI, APP0, SOF0, SOS, EOI.
    fn tiny_jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        v.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56]);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn reads_size_from_the_frame_header() {
        assert_eq!(
            inspect(&tiny_jpeg(1920, 1080)),
            Ok(JpegInfo {
                width: 1920,
                height: 1080
            })
        );
    }

    #[test]
    fn tolerates_fill_bytes_and_zero_padding() {
        let mut j = tiny_jpeg(64, 48);
        j.insert(2, 0xFF);
        j.extend_from_slice(&[0, 0, 0]);
        assert_eq!(inspect(&j).map(|i| i.width), Ok(64));
    }

    #[test]
    fn refuses_what_is_not_a_jpeg() {
        assert_eq!(inspect(b""), Err(JpegError::TooShort(0)));
        assert_eq!(inspect(b"hello world"), Err(JpegError::NoStartOfImage));
        let mut cut = tiny_jpeg(64, 48);
        cut.truncate(cut.len() - 3);
        assert_eq!(inspect(&cut), Err(JpegError::NoEndOfImage));
        assert_eq!(
            inspect(&[0xFF, 0xD8, 0xFF, 0xD9]),
            Err(JpegError::NoFrameHeader)
        );
        // A segment length running past the end.
        let bad = [0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0x00, 0xFF, 0xD9];
        assert!(matches!(inspect(&bad), Err(JpegError::Malformed(_))));
        // Garbage between SOI and EOI.
        let junk = [0xFF, 0xD8, 1, 2, 3, 4, 5, 0xFF, 0xD9];
        assert!(matches!(inspect(&junk), Err(JpegError::Malformed(_))));
    }

    #[test]
    fn never_panics_on_any_prefix_or_mutation() {
        let j = tiny_jpeg(320, 240);
        for n in 0..=j.len() {
            let _ = inspect(&j[..n]);
        }
        for i in 0..j.len() {
            for b in [0x00, 0xFF, 0xD9, 0xC0, 0x7F] {
                let mut m = j.clone();
                m[i] = b;
                let _ = inspect(&m);
            }
        }
    }
}
