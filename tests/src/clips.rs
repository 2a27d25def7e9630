// SPDX-License-Identifier: MIT OR Apache-2.0

//! Clips that look like a camera's, made with ffmpeg, and VLC serving them over RTSP: an
//! independent server that sends the clip as it is (no re-encoding), so the cameras cost almost
//! nothing and what they send is what a real camera would.
//!
//! The scene ([`Clip::realistic`]): a still, detailed picture (a deep zoom of the Mandelbrot set
//! with fixed film grain, like foliage or brickwork), a person-sized dark shape crossing it at
//! walking speed, and temporal sensor noise on top.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// How a clip's video is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Video {
    /// H.264 (libx264, `veryfast`) with this many B-frames between references.
    H264 { bframes: u32 },
    /// H.265 (libx265), 10-bit when `ten_bit`.
    H265 { ten_bit: bool },
    /// H.264 in another pixel format (`yuv422p`, `yuv422p10le`, `yuv420p10le`: the High 4:2:2
    /// and High 10 profiles), no B-frames.
    H264Format { pix_fmt: &'static str },
    /// Motion JPEG (4:2:2, as many cameras send it).
    Mjpeg,
}

/// A clip to make.
#[derive(Debug, Clone)]
pub struct Clip {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub seconds: u32,
    pub video: Video,
    /// Peak bitrate, kbit/s (a camera's usual VBR cap).
    pub max_kbps: u32,
    /// A 440 Hz AAC track, when set.
    pub audio: bool,
    /// The video starts this long after the clip (and its audio) does: a server sends audio
    /// packets first.
    pub video_delay_ms: u32,
}

impl Clip {
    /// The realistic scene, H.264 without B-frames, a keyframe a second, about 4 Mbit/s at
    /// 720p25, 20 s, no audio.
    pub fn realistic(width: u32, height: u32, fps: u32) -> Clip {
        Clip {
            width,
            height,
            fps,
            seconds: 20,
            video: Video::H264 { bframes: 0 },
            max_kbps: 4000 * (width * height).div_ceil(1280 * 720).max(1),
            audio: false,
            video_delay_ms: 0,
        }
    }

    /// The ffmpeg filter graph of the scene.
    fn scene(&self) -> String {
        let (w, h, fps) = (self.width, self.height, self.fps);
        // The walker: a twelfth of the width, 40 % of the height, crossing in about 9 s.
        let (bw, bh) = ((w / 12).max(2), (h * 2 / 5).max(2));
        let speed = w / 8;
        format!(
            "mandelbrot=size={w}x{h}:rate={fps}:start_x=-0.7436438870:start_y=0.1318259042:\
             start_scale=0.02:maxiter=400,trim=end_frame=1,loop=loop=-1:size=1:start=0,\
             setpts=N/{fps}/TB,noise=alls=30:allf=p[bg];\
             color=c=0x404048:size={bw}x{bh}:rate={fps}[walker];\
             [bg][walker]overlay=x='mod(t*{speed}\\,{w}+{bw})-{bw}':y={y}:shortest=1,\
             noise=alls=8:allf=t,setpts=PTS+{delay}/1000/TB[v]",
            y = h / 3,
            delay = self.video_delay_ms,
        )
    }

    /// Makes the clip at `path` (MP4) with ffmpeg.
    pub fn make(&self, path: &Path) -> anyhow::Result<PathBuf> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-loglevel", "error", "-y", "-filter_complex", &self.scene()]);
        if self.audio {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]);
        }
        cmd.args(["-map", "[v]"]);
        if self.audio {
            cmd.args(["-map", "0:a", "-c:a", "aac", "-b:a", "32k"]);
        }
        let gop = self.fps.to_string();
        let (max, buf) = (
            format!("{}k", self.max_kbps),
            format!("{}k", self.max_kbps * 2),
        );
        match &self.video {
            Video::H264 { bframes } => {
                cmd.args([
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                ])
                .args(["-bf", &bframes.to_string()]);
            }
            Video::H264Format { pix_fmt } => {
                cmd.args([
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", pix_fmt,
                ])
                .args(["-bf", "0"]);
            }
            Video::Mjpeg => {
                cmd.args(["-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "5"]);
            }
            Video::H265 { ten_bit } => {
                let fmt = if *ten_bit { "yuv420p10le" } else { "yuv420p" };
                cmd.args(["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", fmt])
                    .args(["-tag:v", "hvc1", "-x265-params", "log-level=error"]);
            }
        }
        if self.video != Video::Mjpeg {
            cmd.args(["-g", &gop, "-crf", "23", "-maxrate", &max, "-bufsize", &buf]);
        }
        cmd.args(["-t", &self.seconds.to_string()])
            .arg(path)
            .stdin(Stdio::null());
        let status = cmd
            .status()
            .context("ffmpeg runs (scripts/setup.sh installs it)")?;
        if !status.success() {
            bail!("ffmpeg could not make {}: {status}", path.display());
        }
        // VLC runs as `nobody`: it must be able to read the clip.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
        if let Some(dir) = path.parent() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(path.to_path_buf())
    }
}

/// VLC serving a clip at `rtsp://127.0.0.1:{port}/{path}` in its own process, stopped (SIGKILL)
/// when dropped.
pub struct VlcServer {
    child: std::process::Child,
    pub port: u16,
    pub path: String,
}

impl VlcServer {
    /// Serves `clip` at `/{path}` on a free port; returns once the port accepts connections.
    pub fn start(clip: &Path, path: &str) -> anyhow::Result<VlcServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = vlc_command(clip, port, path)
            .spawn()
            .context("VLC runs (scripts/setup.sh installs it)")?;
        let mut server = VlcServer {
            child,
            port,
            path: path.to_string(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("VLC exited: {status}");
            }
            if std::time::Instant::now() > deadline {
                bail!("VLC never listened on port {port}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/{}", self.port, self.path)
    }
}

impl Drop for VlcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command that has VLC serve `clip` in a loop at `rtsp://127.0.0.1:{port}/{path}`, as it
/// is. VLC refuses to run as root: it runs as `nobody`.
pub fn vlc_command(clip: &Path, port: u16, path: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args(["env", "HOME=/tmp", "cvlc", "-I", "dummy", "--loop"])
        .arg(clip)
        .arg("--sout")
        .arg(format!("#rtp{{sdp=rtsp://127.0.0.1:{port}/{path}}}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe's view of a clip: `codec_name,width,height,pix_fmt` of each stream.
    fn probe(path: &Path) -> String {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,width,height,pix_fmt",
            ])
            .args(["-of", "csv=p=0"])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn clips_are_what_they_say() {
        let dir = tempfile::tempdir().unwrap();
        let mut clip = Clip::realistic(320, 180, 10);
        clip.seconds = 1;
        clip.audio = true;
        let path = clip.make(&dir.path().join("a.mp4")).unwrap();
        assert_eq!(probe(&path), "h264,320,180,yuv420p\naac");
        clip.video = Video::H265 { ten_bit: true };
        clip.audio = false;
        let path = clip.make(&dir.path().join("b.mp4")).unwrap();
        assert_eq!(probe(&path), "hevc,320,180,yuv420p10le");
    }
}
