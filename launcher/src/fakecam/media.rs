// SPDX-License-Identifier: MIT OR Apache-2.0

//! What a simulated camera serves: the RTSP media factory, its encoding pipeline, the frames
//! painted into it, and cutting a camera's clients off.

use super::*;

/// Closes the connection of every client that plays `path`, as a network cut would.
pub(super) fn disconnect_clients_of(server: &RTSPServer, path: &str) {
    server.client_filter(Some(&mut |_, client| {
        let mut plays = false;
        client.session_filter(Some(&mut |_, session| {
            let (media, matched) = session.media(path);
            if media.is_some() && usize::try_from(matched).ok() == Some(path.len()) {
                plays = true;
            }
            RTSPFilterResult::Keep
        }));
        if plays {
            RTSPFilterResult::Remove
        } else {
            RTSPFilterResult::Keep
        }
    }));
}

pub(super) fn launch_line(config: &FakeCamConfig, cam: &Camera) -> String {
    let (w, h) = cam.size(config);
    let fps = config.fps;
    let gop = if config.gop == 0 { fps } else { config.gop };
    let pattern = PATTERNS[cam.index % PATTERNS.len()];
    let text = sanitize_text(&cam.config.name);
    let encode = match config.codec {
        Codec::H264 => format!(
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bframes=0 threads=1 \
             ! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
        ),
        Codec::Mjpeg => "jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26".to_string(),
    };
    format!(
        "( videotestsrc is-live=true pattern={pattern} \
         ! video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 \
         ! identity name=painter \
         ! clockoverlay text=\"{text}\" time-format=\"%H:%M:%S\" {} \
         ! {encode} )",
        name_line_style(h)
    )
}

pub(super) fn make_factory(
    config: &FakeCamConfig,
    cam: &Arc<Camera>,
    started: Instant,
) -> RTSPMediaFactory {
    let factory = RTSPMediaFactory::new();
    factory.set_launch(&launch_line(config, cam));
    factory.set_shared(true);
    factory.set_latency(0);
    if config.auth.is_some() {
        factory.add_role_from_structure(
            &gst::Structure::builder(AUTH_ROLE)
                .field(gst_rtsp_server::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
                .field(gst_rtsp_server::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
                .build(),
        );
    }
    let (cam, stamp) = (cam.clone(), config.stamp);
    let (width, height) = cam.size(config);
    let (width, height) = (width as usize, height as usize);
    factory.connect_media_configure(move |_, media| {
        let element = media.element();
        let Some(painter) = element
            .downcast_ref::<gst::Bin>()
            .and_then(|b| b.by_name("painter"))
        else {
            return;
        };
        let Some(pad) = painter.static_pad("src") else {
            return;
        };
        let painting = cam.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let cam = &painting;
            if cam.mode() == CameraMode::Frozen {
                return gst::PadProbeReturn::Drop;
            }
            if let Some(buffer) = info.buffer_mut() {
                let buffer = buffer.make_mut();
                let at = running_time(pad, buffer.pts());
                let stamped = paint_buffer(buffer, width, height, cam, started, stamp);
                if let (Some(at), Some(ms)) = (at, stamped) {
                    lock(&cam.sent).painted(at.nseconds(), ms);
                }
            }
            gst::PadProbeReturn::Ok
        });
        if let Some(pay) = element
            .downcast_ref::<gst::Bin>()
            .and_then(|b| b.by_name("pay0"))
            .and_then(|p| p.static_pad("src"))
        {
            watch_sent(&pay, cam.clone());
            no_hold(&pay);
        }
    });
    factory
}

/// The running time of `pts` in the segment of `pad`: the same for a frame before and after the
/// encoder, which may shift timestamps (x264enc adds 1000 hours to keep DTS positive).
fn running_time(pad: &gst::Pad, pts: Option<gst::ClockTime>) -> Option<gst::ClockTime> {
    let segment = pad.sticky_event::<gst::event::Segment>(0)?;
    segment
        .segment()
        .downcast_ref::<gst::ClockTime>()?
        .to_running_time(pts?)
}

/// Answers the RTSP server's latency query with no latency. A live source reports a frame's
/// duration (it pushes a frame when its capture interval ends) and the server's sinks hold every
/// packet that long again before sending it, which no real camera does: its encoder sends a
/// frame as soon as it is made.
fn no_hold(pay: &gst::Pad) {
    pay.add_probe(
        gst::PadProbeType::QUERY_UPSTREAM | gst::PadProbeType::PULL,
        |_, info| {
            if let Some(gst::PadProbeData::Query(query)) = &mut info.data {
                if let gst::QueryViewMut::Latency(q) = query.view_mut() {
                    let (live, _, max) = q.result();
                    q.set(live, gst::ClockTime::ZERO, max);
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Records, on the payloader's source pad, when each frame's first RTP packet leaves.
fn watch_sent(pay: &gst::Pad, cam: Arc<Camera>) {
    pay.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |pad, info| {
            let pts = match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => b.pts(),
                Some(gst::PadProbeData::BufferList(l)) => l.get(0).and_then(|b| b.pts()),
                _ => None,
            };
            if let Some(at) = running_time(pad, pts) {
                lock(&cam.sent).packet(at.nseconds(), gstcamwall::protocol::unix_ms_now());
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Paints the frame's moving object and stamp; returns the stamp's time (Unix ms) when painted.
pub(super) fn paint_buffer(
    buffer: &mut gst::BufferRef,
    width: usize,
    height: usize,
    cam: &Camera,
    started: Instant,
    stamp: bool,
) -> Option<u64> {
    let info =
        gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width as u32, height as u32)
            .build()
            .ok()?;
    let (offsets, strides) = (info.offset(), info.stride());
    let mut map = buffer.map_writable().ok()?;
    // The planes are disjoint, consecutive regions of the one mapped buffer.
    let data = map.as_mut_slice();
    if data.len() < info.size() {
        return None;
    }
    let (y, rest) = data.split_at_mut(offsets[1]);
    let (u, v) = rest.split_at_mut(offsets[2] - offsets[1]);
    let t = started.elapsed();
    let mut planes = paint::I420 {
        width,
        height,
        y,
        y_stride: strides[0] as usize,
        u,
        u_stride: strides[1] as usize,
        v,
        v_stride: strides[2] as usize,
    };
    if cam.motion_at(t) {
        paint::paint_object(&mut planes, t);
    }
    let stamped = stamp.then(gstcamwall::protocol::unix_ms_now);
    if let Some(unix_ms) = stamped {
        paint::paint_stamp(
            &mut planes,
            Stamp {
                camera: cam.index as u8,
                unix_ms,
            },
        );
    }
    cam.frames.fetch_add(1, Ordering::Relaxed);
    stamped
}
