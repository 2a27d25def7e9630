// SPDX-License-Identifier: MIT OR Apache-2.0

//! The gst-launch description of camwall's pipeline, one branch per camera:
//!
//! ```text
//! alarmselector name=sel ... ! videoscale ! video/x-raw,width=[16,1280],pixel-aspect-ratio=1/1
//!     ! videoconvert ! jpegenc quality=80 ! mjpegwssink name=sink
//! rtspsrc location=... latency=0 ! rtph264depay ! h264parse ! avdec_h264
//!     ! motionalarm camera-id=door ! sel.sink_0
//! ...
//! ```
//!
//! Only the camera on screen leaves the selector, so only it is scaled and encoded. The launcher
//! builds each camera branch as its own bin (so one camera can be restarted without touching the
//! others) and the tail once; [`launch_line`] prints the same pipeline as one line a user can
//! paste into `gst-launch-1.0`.

use crate::config::{CameraConfig, Codec, Config, Decoder, Transport, Wall};

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Depayload, parse and decode for a codec, after the rtspsrc named `from`. With `gate`, an
/// `identity` of that name sits between parsing and decoding: the launcher holds the stream
/// there while nobody looks. The elements whose pads come and go (rtspsrc, decodebin,
/// parsebin) are linked by the launcher to the element after them: `links` gets each pair.
fn decode_chain(
    codec: Codec,
    decoder: &str,
    from: &str,
    gate: Option<&str>,
    links: &mut Vec<(String, String)>,
) -> String {
    let entry = format!("{from}-in");
    links.push((from.to_string(), entry.clone()));
    let gated = gate
        .map(|g| format!("identity name={g} silent=true ! "))
        .unwrap_or_default();
    match (codec, gate) {
        (Codec::Auto, None) => {
            links.push((entry.clone(), format!("{from}-conv")));
            format!("decodebin name={entry} ! videoconvert name={from}-conv")
        }
        // Parsed first (parsebin), so that the gate sees whole frames and keyframes.
        (Codec::Auto, Some(g)) => {
            links.push((entry.clone(), g.to_string()));
            links.push((format!("{from}-dec"), format!("{from}-conv")));
            format!(
                "parsebin name={entry} ! {gated}decodebin name={from}-dec \
                 ! videoconvert name={from}-conv"
            )
        }
        // A camera joined mid-GOP: nothing reaches the decoder before a keyframe (it would only
        // make corrupted pictures and decode errors).
        (Codec::H264, _) => format!(
            "rtph264depay name={entry} wait-for-keyframe=true ! h264parse ! {gated}{decoder}"
        ),
        (Codec::H265, _) => format!("rtph265depay name={entry} ! h265parse ! {gated}{decoder}"),
        (Codec::Mjpeg, _) => format!("rtpjpegdepay name={entry} ! {gated}{decoder}"),
    }
}

/// The decoders of `codec` by family, best first within each: VA-API, NVDEC, software.
fn decoders_of(codec: Codec) -> [&'static [&'static str]; 3] {
    match codec {
        Codec::H264 | Codec::Auto => [
            &["vah264dec", "vaapih264dec"],
            &["nvh264dec"],
            &["avdec_h264"],
        ],
        Codec::H265 => [
            &["vah265dec", "vaapih265dec"],
            &["nvh265dec"],
            &["avdec_h265"],
        ],
        Codec::Mjpeg => [&["vajpegdec"], &["nvjpegdec"], &["jpegdec"]],
    }
}

/// The decoder element for a camera of `codec` with the `decoder` choice, among those `usable`
/// says GStreamer has and can run: `auto` takes VA-API, then NVDEC, then software; `vaapi` and
/// `nvdec` take their family, else software; `software` takes software. `None` for
/// `codec = "auto"`, which decodebin decides.
pub fn choose_decoder(
    codec: Codec,
    decoder: Decoder,
    usable: impl Fn(&str) -> bool,
) -> Option<&'static str> {
    if codec == Codec::Auto {
        return None;
    }
    let [va, nv, sw] = decoders_of(codec);
    let order: &[&[&'static str]] = match decoder {
        Decoder::Auto => &[va, nv, sw],
        Decoder::Vaapi => &[va, sw],
        Decoder::Nvdec => &[nv, sw],
        Decoder::Software => &[sw],
    };
    let found = order.iter().flat_map(|f| f.iter()).find(|e| usable(e));
    // The software decoder is named even when missing: the pipeline's error then names it.
    Some(found.copied().unwrap_or(sw[0]))
}

/// Whether this GStreamer has decoder `element` and, for a VA-API one, a render device to run
/// it on (the `va` and `nvcodec` plugins only register decoders for devices that work).
pub fn decoder_usable(element: &str) -> bool {
    // Idempotent; the registry is read before any pipeline exists (a description, a check).
    if gst::init().is_err() || gst::ElementFactory::find(element).is_none() {
        return false;
    }
    if element.starts_with("va") {
        return std::fs::read_dir("/dev/dri").is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        });
    }
    true
}

/// The decoder a camera's branch uses: [`choose_decoder`] on this machine.
pub fn decoder_for(cam: &CameraConfig) -> Option<&'static str> {
    choose_decoder(cam.codec, cam.decoder, decoder_usable)
}

/// What is wrong with each camera's decoding on this machine: a decoder its codec setting
/// needs that GStreamer lacks (with the package that has it), a hardware decoder asked for
/// that is not there. One sentence each, naming the camera.
pub fn missing_decoders(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = gst::init() {
        return vec![format!("GStreamer cannot start: {e}")];
    }
    for cam in config.enabled_cameras() {
        let setting = |v: &dyn std::fmt::Debug| format!("{v:?}").to_ascii_lowercase();
        // The sub-stream's decoder, when its codec is another one.
        if let Some(codec) = cam
            .detect_codec
            .filter(|c| *c != cam.codec && cam.detect_url.is_some())
        {
            let element = choose_decoder(codec, cam.decoder, decoder_usable).unwrap_or("decodebin");
            if gst::ElementFactory::find(element).is_none() {
                out.push(format!(
                    "camera '{}' needs the {element} element for detect_codec = \"{}\"",
                    cam.id(),
                    setting(&codec)
                ));
            }
        }
        let element = decoder_for(cam).unwrap_or("decodebin");
        if gst::ElementFactory::find(element).is_none() {
            let package = match element {
                "decodebin" => "gstreamer1.0-plugins-base",
                "jpegdec" => "gstreamer1.0-plugins-good",
                _ => "gstreamer1.0-libav",
            };
            out.push(format!(
                "camera '{}' needs the {element} element for codec = \"{}\"; install {package}",
                cam.id(),
                setting(&cam.codec)
            ));
        } else if matches!(cam.decoder, Decoder::Vaapi | Decoder::Nvdec)
            && (element.starts_with("avdec") || element == "jpegdec")
        {
            out.push(format!(
                "camera '{}' asks for decoder = \"{}\", which this machine does not have: it \
                 decodes with {element}",
                cam.id(),
                setting(&cam.decoder)
            ));
        }
    }
    out
}

fn protocols(t: Transport) -> &'static str {
    match t {
        Transport::Auto => "tcp+udp",
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    }
}

/// Name of the motionalarm element of camera `index`.
pub fn motion_name(index: usize) -> String {
    format!("motion{index}")
}

/// Name of the rtspsrc element of camera `index` (its main stream).
pub fn source_name(index: usize) -> String {
    format!("src{index}")
}

/// Name of the rtspsrc element of camera `index`'s sub-stream (`detect_url`).
pub fn detect_source_name(index: usize) -> String {
    format!("detsrc{index}")
}

/// Name of the gate before camera `index`'s main-stream decoder (with `detect_url`).
pub fn gate_name(index: usize) -> String {
    format!("gate{index}")
}

/// Name of the funnel where camera `index`'s main and sub-stream frames meet (with
/// `detect_url`).
pub fn merge_name(index: usize) -> String {
    format!("merge{index}")
}

fn rtspsrc(name: &str, url: &str, transport: Transport) -> String {
    format!(
        "rtspsrc name={name} location={} latency=0 protocols={} drop-on-latency=true",
        quote(url),
        protocols(transport),
    )
}

/// One camera's branch, up to (not including) the selector: `rtspsrc ! decode ! motionalarm`.
///
/// With a `detect_url`, two: the sub-stream is decoded and analysed all the time, the main
/// stream decoded only past its gate (while shown); both meet in a funnel:
///
/// ```text
/// rtspsrc (main) ! depay ! parse ! identity (gate) ! decode ! funnel ─▶
/// rtspsrc (sub)  ! depay ! parse ! decode ! motionalarm ──────▲
/// ```
pub fn camera_branch(cam: &CameraConfig, index: usize) -> String {
    let m = &cam.motion;
    let mut motion = format!(
        "motionalarm name={} camera-id={} enabled={}",
        motion_name(index),
        cam.id(),
        m.enabled
    );
    if let Some(v) = m.threshold {
        motion.push_str(&format!(" threshold={v}"));
    }
    if let Some(v) = &m.min_area {
        motion.push_str(&format!(" min-area={}", v.get_ref()));
    }
    if let Some(v) = m.min_frames {
        motion.push_str(&format!(" min-frames={v}"));
    }
    if let Some(v) = m.hold_ms {
        motion.push_str(&format!(" hold-ms={v}"));
    }
    if let Some(v) = m.analysis_width {
        motion.push_str(&format!(" analysis-width={v}"));
    }
    if let Some(z) = &m.zones {
        motion.push_str(&format!(" zones={}", quote(z.get_ref())));
    }
    if let Some(v) = m.learn_ignore {
        motion.push_str(&format!(" learn-ignore={v}"));
    }
    let (description, _) = camera_branch_links(cam, index, motion);
    description
}

/// The links camera `index`'s branch leaves to the launcher: each element whose pads come and
/// go (its rtspsrc, decodebin, parsebin) with the element its new pads go to.
pub fn camera_links(cam: &CameraConfig, index: usize) -> Vec<(String, String)> {
    camera_branch_links(cam, index, String::new()).1
}

fn camera_branch_links(
    cam: &CameraConfig,
    index: usize,
    motion: String,
) -> (String, Vec<(String, String)>) {
    let mut links = Vec::new();
    let main = source_name(index);
    let main_decoder = decoder_for(cam).unwrap_or("decodebin");
    let Some(detect_url) = cam.detect_url() else {
        let chain = decode_chain(cam.codec, main_decoder, &main, None, &mut links);
        let source = rtspsrc(&main, cam.url(), cam.transport);
        return (format!("{source} ! {chain} ! {motion}"), links);
    };
    let detect = detect_source_name(index);
    let detect_decoder =
        choose_decoder(cam.detect_codec(), cam.decoder, decoder_usable).unwrap_or("decodebin");
    let merge = merge_name(index);
    let gate = gate_name(index);
    let main_chain = decode_chain(cam.codec, main_decoder, &main, Some(&gate), &mut links);
    let detect_chain = decode_chain(
        cam.detect_codec(),
        detect_decoder,
        &detect,
        None,
        &mut links,
    );
    // Ends in the funnel, so that the branch goes on from it as it would from motionalarm.
    let description = format!(
        "{} ! {main_chain} ! {merge}.  {} ! {detect_chain} ! {motion} ! funnel name={merge}",
        rtspsrc(&main, cam.url(), cam.transport),
        rtspsrc(&detect, detect_url, cam.transport),
    );
    (description, links)
}

/// Names of a wall's selector and sink: `sel` and `sink` for the first wall (as before walls
/// existed), `sel-ID` and `sink-ID` for the others.
pub fn wall_names(position: usize, wall: &Wall) -> (String, String) {
    if position == 0 {
        ("sel".into(), "sink".into())
    } else {
        (format!("sel-{}", wall.id), format!("sink-{}", wall.id))
    }
}

/// Name of the tee that hands camera `index`'s frames to the walls that show it (and, in the
/// launcher, to its peek branch).
pub fn tee_name(index: usize) -> String {
    format!("tee{index}")
}

/// Name of the sink of camera `index`'s peek branch.
pub fn peek_name(index: usize) -> String {
    format!("peek{index}")
}

/// Name of the sink of camera `index`'s thumbnail branch.
pub fn thumb_name(index: usize) -> String {
    format!("thumb{index}")
}

/// Scaling to `stream.max_width` (nothing when it is 0), as every encoder branch does.
fn scale(config: &Config) -> String {
    if config.stream.max_width > 0 {
        format!(
            "videoscale ! video/x-raw,width=[16,{}],pixel-aspect-ratio=1/1 ! ",
            config.stream.max_width.max(16)
        )
    } else {
        String::new()
    }
}

/// One camera's peek branch, from its tee: the camera alone, no selector and no alarm
/// takeover, named by a `title` tag as the selector would, then scaled and encoded like a wall.
pub fn peek_branch(config: &Config, index: usize, camera_id: &str) -> String {
    format!(
        "taginject tags=\"title={camera_id}\" ! {}videoconvert ! jpegenc quality={} ! \
         mjpegwssink name={} server-enabled=false async=false forward-alarms=false",
        scale(config),
        config.stream.jpeg_quality.get_ref(),
        peek_name(index)
    )
}

/// One camera's thumbnail branch, from its tee: the overview's tile, named by a `title` tag,
/// scaled down to `stream.thumb_width` (and as high at most, for a camera on its side) and
/// encoded with a lighter quality. The launcher limits it to `stream.thumb_fps` before scaling.
pub fn thumb_branch(config: &Config, index: usize, camera_id: &str) -> String {
    let width = (*config.stream.thumb_width.get_ref()).max(16);
    format!(
        "taginject tags=\"title={camera_id}\" ! videoscale ! \
         video/x-raw,width=[16,{width}],height=[16,{width}],pixel-aspect-ratio=1/1 ! \
         videoconvert ! jpegenc quality=70 ! \
         mjpegwssink name={} server-enabled=false async=false forward-alarms=false",
        thumb_name(index)
    )
}

/// A wall's selector and everything after it. `position` is the wall's place in the
/// configuration; `sink` is the sink with its properties; `pads` are extra selector
/// properties (such as `sink_0::priority=2`).
pub fn wall_tail(config: &Config, position: usize, wall: &Wall, pads: &str, sink: &str) -> String {
    let scale = scale(config);
    format!(
        "alarmselector name={} alarm-override={} alarm-hold-ms={} alarm-policy={} \
         stall-timeout-ms={} keep-stalled-choice={}{} ! tee name={} allow-not-linked=true \
         ! {}videoconvert ! jpegenc quality={} ! {}",
        wall_names(position, wall).0,
        wall.alarm_override,
        wall.alarm_hold_ms,
        wall.alarm_policy.nick(),
        config.selector.stall_timeout_ms.get_ref(),
        wall.on_offline == crate::config::OnOffline::Stay,
        pads,
        wall_tee_name(position),
        scale,
        config.stream.jpeg_quality.get_ref(),
        sink
    )
}

/// Name of the tee after wall `position`'s selector: its JPEG branch, and the H.264 branch the
/// launcher adds.
pub fn wall_tee_name(position: usize) -> String {
    format!("walltee{position}")
}

/// Name of wall `position`'s H.264 sink.
pub fn h264_sink_name(position: usize) -> String {
    format!("h264sink{position}")
}

/// Name of the H.264 sink of camera `index`'s peek.
pub fn h264_peek_name(index: usize) -> String {
    format!("h264peek{index}")
}

/// A wall's H.264 branch, from the tee after its selector: scaled like the JPEG branch, encoded
/// for the lowest latency (no B-frames, one reference frame, a keyframe only when asked for:
/// at a switch and for a new viewer, and every 10 s), SPS and PPS before every keyframe, one
/// access unit a buffer. The same line works in gst-launch-1.0 after any raw video.
/// `title`: the camera id a peek's frames are named by (a wall's selector names its own).
pub fn h264_branch(config: &Config, sink: &str, title: Option<&str>) -> String {
    let kbps = *config.stream.h264_bitrate.get_ref();
    let encoder = match config.stream.h264_encoder {
        crate::config::H264Encoder::X264 => format!(
            "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 ref=1 key-int-max=250 \
             threads=1 sliced-threads=false bitrate={kbps} vbv-buf-capacity=200 \
             ! video/x-h264,profile=constrained-baseline"
        ),
        crate::config::H264Encoder::OpenH264 => format!(
            "openh264enc bitrate={} rate-control=bitrate complexity=low gop-size=250 \
             ! video/x-h264,profile=constrained-baseline",
            u64::from(kbps) * 1000
        ),
    };
    let name = title
        .map(|t| format!("taginject tags=\"title={t}\" ! "))
        .unwrap_or_default();
    format!(
        "{name}{}videoconvert ! {encoder} ! h264parse config-interval=-1 \
         ! video/x-h264,stream-format=byte-stream,alignment=au \
         ! mjpegwssink name={sink} server-enabled=false async=false forward-alarms=false \
         keyframe-replay={}",
        scale(config),
        config.stream.h264_replay.get_ref(),
    )
}

/// How many walls show camera `index`.
pub fn walls_showing(walls: &[Wall], index: usize) -> usize {
    walls.iter().filter(|w| w.cameras.contains(&index)).count()
}

/// The whole pipeline as one gst-launch-1.0 line, with each wall's sink serving by itself (the
/// first on `port`, the next ones on the ports after it). Camera passwords are masked unless
/// `reveal` is set.
pub fn launch_line(config: &Config, port: u16, reveal: bool) -> String {
    let walls = config.walls();
    let mut line = String::new();
    for (position, wall) in walls.iter().enumerate() {
        let mut pads = String::new();
        for (k, &index) in wall.cameras.iter().enumerate() {
            if let Some(cam) = config.enabled_cameras().nth(index) {
                pads.push_str(&format!(
                    " sink_{k}::camera-id={} sink_{k}::priority={}",
                    cam.id(),
                    cam.priority
                ));
            }
        }
        let sink = format!(
            "mjpegwssink name={} port={}",
            wall_names(position, wall).1,
            port.saturating_add(position as u16)
        );
        if position > 0 {
            line.push_str("  ");
        }
        line.push_str(&wall_tail(config, position, wall, &pads, &sink));
    }
    for (index, cam) in config.enabled_cameras().enumerate() {
        let mut branch = camera_branch(cam, index);
        if !reveal {
            for url in [Some(cam.url()), cam.detect_url()].into_iter().flatten() {
                branch = branch.replace(url, &crate::config::mask_url(url));
            }
        }
        let on: Vec<String> = walls
            .iter()
            .enumerate()
            .filter_map(|(position, wall)| {
                let k = wall.cameras.iter().position(|&c| c == index)?;
                Some(format!("{}.sink_{k}", wall_names(position, wall).0))
            })
            .collect();
        if on.len() == 1 {
            line.push_str(&format!("  {branch} ! {}", on[0]));
        } else {
            // On several walls (or none): a tee hands each frame to every wall showing it.
            let tee = tee_name(index);
            line.push_str(&format!(
                "  {branch} ! tee name={tee} allow-not-linked=true"
            ));
            for target in on {
                line.push_str(&format!("  {tee}. ! {target}"));
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_is_hardware_when_usable_and_software_otherwise() {
        let only = |names: &'static [&'static str]| move |e: &str| names.contains(&e);
        let sw = only(&["avdec_h264", "avdec_h265", "jpegdec"]);
        let va = only(&["vah264dec", "avdec_h264", "vah265dec", "avdec_h265"]);
        let old_va = only(&["vaapih264dec", "nvh264dec", "avdec_h264"]);
        let nv = only(&["nvh264dec", "nvh265dec", "nvjpegdec", "avdec_h264"]);
        use Codec::{Mjpeg, H264, H265};
        use Decoder::{Nvdec, Software, Vaapi};
        let auto = Decoder::Auto;
        type Usable<'a> = &'a dyn Fn(&str) -> bool;
        let cases: [(Codec, Decoder, Usable, Option<&str>); 12] = [
            (H264, auto, &sw, Some("avdec_h264")),
            (H264, auto, &va, Some("vah264dec")),
            (H264, auto, &old_va, Some("vaapih264dec")),
            (H264, auto, &nv, Some("nvh264dec")),
            (H265, auto, &va, Some("vah265dec")),
            (Mjpeg, auto, &nv, Some("nvjpegdec")),
            (H264, Software, &va, Some("avdec_h264")),
            (H264, Nvdec, &va, Some("avdec_h264")),
            (H264, Nvdec, &old_va, Some("nvh264dec")),
            (H264, Vaapi, &nv, Some("avdec_h264")),
            // Nothing at all: the software decoder is named, and its absence reported.
            (H265, auto, &|_: &str| false, Some("avdec_h265")),
            (Codec::Auto, auto, &va, None),
        ];
        for (codec, decoder, usable, want) in cases {
            assert_eq!(
                choose_decoder(codec, decoder, usable),
                want,
                "{codec:?} {decoder:?}"
            );
        }
        // This machine: no GPU, software.
        crate::init_gst();
        assert!(decoder_usable("avdec_h264"));
        assert!(!decoder_usable("no_such_decoder"));
    }

    fn config() -> Config {
        Config::parse(
            "t.toml",
            r#"
[[camera]]
id = "door"
url = "rtsp://admin:hunter2@127.0.0.1:8554/cam1"
codec = "h264"
priority = 3
[camera.motion]
zones = "ignore:0,0.9,1,1"
threshold = 30
learn_ignore = false

[[camera]]
id = "yard"
url = "rtsp://127.0.0.1:8554/cam2"
enabled = false

[[camera]]
id = "gate"
url = "rtsp://127.0.0.1:8554/cam3"
codec = "mjpeg"
transport = "tcp"
"#,
        )
        .unwrap()
    }

    #[test]
    fn branches_decode_by_codec_and_carry_motion_settings() {
        let c = config();
        let b = camera_branch(&c.cameras[0], 0);
        assert!(
            b.starts_with(
                "rtspsrc name=src0 location=\"rtsp://admin:hunter2@127.0.0.1:8554/cam1\" latency=0"
            ),
            "{b}"
        );
        assert!(
            b.contains(
                "! rtph264depay name=src0-in wait-for-keyframe=true ! h264parse ! avdec_h264 !"
            ),
            "{b}"
        );
        assert!(b.contains("camera-id=door"), "{b}");
        assert!(b.contains("threshold=30"), "{b}");
        assert!(b.contains("zones=\"ignore:0,0.9,1,1\""), "{b}");
        assert!(b.contains("learn-ignore=false"), "{b}");
        let g = camera_branch(&c.cameras[2], 1);
        assert!(!g.contains("learn-ignore"), "{g}");
        assert!(g.contains("protocols=tcp"), "{g}");
        assert!(g.contains("rtpjpegdepay name=src1-in ! jpegdec"), "{g}");
    }

    #[test]
    fn a_sub_stream_is_analysed_and_the_main_stream_decoded_past_its_gate() {
        crate::init_gst();
        let c = Config::parse(
            "t.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://u:main-secret@127.0.0.1:1/main\"\n\
             detect_url = \"rtsp://u:sub-secret@127.0.0.1:1/sub\"\ncodec = \"h265\"\n\
             detect_codec = \"h264\"\n\
             [[camera]]\nid = \"b\"\nurl = \"rtsp://127.0.0.1:1/b\"\n\
             detect_url = \"rtsp://127.0.0.1:1/b2\"\n",
        )
        .unwrap();
        let a = camera_branch(&c.cameras[0], 0);
        assert!(a.ends_with(" ! funnel name=merge0"), "{a}");
        assert!(
            a.contains("rtph265depay name=src0-in ! h265parse ! identity name=gate0 silent=true ! avdec_h265 ! merge0."),
            "the main stream is gated before its decoder: {a}"
        );
        assert!(
            a.contains("rtph264depay name=detsrc0-in wait-for-keyframe=true ! h264parse ! avdec_h264 ! motionalarm name=motion0"),
            "the sub-stream, in its own codec, is analysed: {a}"
        );
        assert_eq!(
            camera_links(&c.cameras[0], 0),
            [("src0", "src0-in"), ("detsrc0", "detsrc0-in")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // codec = "auto": parsed first so that the gate sees frames, then decodebin.
        let b = camera_branch(&c.cameras[1], 1);
        assert!(
            b.contains(
                "parsebin name=src1-in ! identity name=gate1 silent=true ! decodebin name=src1-dec"
            ),
            "{b}"
        );
        assert_eq!(
            camera_links(&c.cameras[1], 1),
            [
                ("src1", "src1-in"),
                ("src1-in", "gate1"),
                ("src1-dec", "src1-conv"),
                ("detsrc1", "detsrc1-in"),
                ("detsrc1-in", "detsrc1-conv"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let line = launch_line(&c, 0, false);
        assert!(!line.contains("secret"), "both passwords masked: {line}");
        gst::parse::launch(&launch_line(&c, 0, true)).unwrap_or_else(|e| panic!("{e}: {line}"));
        for (i, cam) in c.cameras.iter().enumerate() {
            use gst::prelude::*;
            let bin = gst::parse::bin_from_description(&camera_branch(cam, i), false).unwrap();
            for (from, to) in camera_links(cam, i) {
                assert!(
                    bin.by_name(&from).is_some() && bin.by_name(&to).is_some(),
                    "{from} {to}"
                );
            }
        }
    }

    #[test]
    fn launch_line_masks_passwords_and_skips_disabled_cameras() {
        let c = config();
        let line = launch_line(&c, 8080, false);
        assert!(!line.contains("hunter2"), "{line}");
        assert!(line.contains("admin:***@"), "{line}");
        assert!(!line.contains("cam2"), "disabled camera left out: {line}");
        assert!(line.contains("sel.sink_1"), "{line}");
        assert!(line.contains(" sink_0::priority=3"), "{line}");
        assert!(
            line.contains("jpegenc quality=80 ! mjpegwssink name=sink port=8080"),
            "{line}"
        );
        assert!(line.contains("width=[16,1280]"), "{line}");
        assert!(launch_line(&c, 8080, true).contains("hunter2"));
    }

    #[test]
    fn the_launch_line_parses_as_a_pipeline() {
        crate::init_gst();
        let c = config();
        let line = launch_line(&c, 0, true);
        gst::parse::launch(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }

    #[test]
    fn walls_share_cameras_through_tees_and_each_has_its_own_tail() {
        crate::init_gst();
        let c = Config::parse(
            "t.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://127.0.0.1:1/a\"\n\
             [[camera]]\nid = \"b\"\nurl = \"rtsp://127.0.0.1:1/b\"\n\
             [[camera]]\nid = \"c\"\nurl = \"rtsp://127.0.0.1:1/c\"\n\
             [[wall]]\nid = \"main\"\ncameras = [\"a\", \"b\"]\n\
             [[wall]]\nid = \"lobby\"\ncameras = [\"b\"]\nalarm_override = false\n",
        )
        .unwrap();
        let line = launch_line(&c, 0, true);
        assert!(
            line.contains("alarmselector name=sel alarm-override=true"),
            "{line}"
        );
        assert!(
            line.contains("alarmselector name=sel-lobby alarm-override=false"),
            "{line}"
        );
        assert!(line.contains("mjpegwssink name=sink-lobby"), "{line}");
        // a on one wall: linked straight; b on two: a tee; c on none: a tee to nothing.
        assert!(
            line.contains("camera-id=a enabled=true ! sel.sink_0"),
            "{line}"
        );
        assert!(
            line.contains("tee1. ! sel.sink_1  tee1. ! sel-lobby.sink_0"),
            "{line}"
        );
        assert!(
            line.contains("tee name=tee2 allow-not-linked=true"),
            "{line}"
        );
        gst::parse::launch(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}
