// SPDX-License-Identifier: MIT OR Apache-2.0

//! A labelled scene set for scoring motion alarms, made with ffmpeg at test or bench time (no
//! downloads): clips that look like a fixed camera's, some with real motion (a person crossing
//! at walking speed, a small one far away, a slow one, the same at night, also at a starved
//! bitrate) and some with only the nuisances that make cameras alarm falsely (sensor noise, a
//! light switched on and off, the infrared day/night switch, auto-exposure drift, keyframe
//! pumping at a starved bitrate, a burnt-in clock and date, rain, a small shake, a passing cloud
//! shadow; at night, the sensor noise alone, with a light switched on and off, and with keyframe
//! pumping).
//!
//! Every clip starts with [`LEAD_MS`] of black (the camera starting): a client of a looping
//! RTSP server finds the start of each loop at the first frame that is not black. Each scene
//! knows its *truth*: the intervals, in ms from the clip's start, during which something real
//! moves in the picture, counted from the first frame in which a quarter of the object's width
//! is in view to the last such frame.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// Black at the start of every clip, ms: two keyframes' worth, so that a client that joins a
/// loop late (its decoder waits for a keyframe) still sees black before the scene.
pub const LEAD_MS: u64 = 2000;
/// Frames per second of every clip.
pub const FPS: u32 = 25;
/// Extra pixels on each side of the world picture, for the shake to move within.
const MARGIN: u32 = 8;
/// The background: a deep zoom of the Mandelbrot set (detailed, like foliage or brickwork).
const BACKGROUND: &str = "start_x=-0.7436438870:start_y=0.1318259042:start_scale=0.02:maxiter=400";

/// An object moving straight across the picture at a constant speed.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    /// Size in pixels.
    pub width: u32,
    pub height: u32,
    /// Luma-ish grey of the object, as an ffmpeg colour (`0x404048`).
    pub colour: &'static str,
    /// Top edge, pixels.
    pub y: u32,
    /// Left edge at `start_s`, pixels (negative: outside on the left).
    pub x0: f64,
    /// Pixels per second (negative: right to left).
    pub speed: f64,
    /// Seconds of clip time (lead included) when it starts moving; it is there from then on.
    pub start_s: f64,
}

impl Mover {
    /// Left edge at clip time `t` (s), if the object is there at all.
    fn x_at(&self, t: f64) -> Option<f64> {
        (t >= self.start_s).then_some(self.x0 + self.speed * (t - self.start_s))
    }

    /// Whether a quarter of its width is in a `frame_width`-wide picture at `t`.
    fn in_view(&self, t: f64, frame_width: u32) -> bool {
        self.x_at(t).is_some_and(|x| {
            let visible = (x + f64::from(self.width)).min(f64::from(frame_width)) - x.max(0.0);
            visible >= f64::from(self.width) / 4.0
        })
    }
}

/// What happens in a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub name: &'static str,
    /// One line on what it shows.
    pub about: &'static str,
    pub width: u32,
    pub height: u32,
    /// Length of the clip, lead included.
    pub seconds: u32,
    pub movers: Vec<Mover>,
    /// Dark and flat, as a camera at night with little light.
    pub night: bool,
    /// Strength of the temporal sensor noise (ffmpeg `noise` alls; 20 is a standard deviation
    /// of about 12 levels).
    pub noise: u32,
    /// A light switched on at the first time (s) and off at the second.
    pub light: Option<(f64, f64)>,
    /// The infrared switch: colour to grey (and flatter, brighter) at the first time, back at
    /// the second.
    pub infrared: Option<(f64, f64)>,
    /// Auto exposure hunting: brightness and contrast drifting on slow waves.
    pub exposure_drift: bool,
    /// Encoded at this bitrate (kbit/s) instead of a comfortable one: keyframe pumping.
    pub starved_kbps: Option<u32>,
    /// Date and time burnt in at the top left, the camera's name at the bottom right.
    pub clock: bool,
    /// Rain streaks falling everywhere.
    pub rain: bool,
    /// Camera shake (a few pixels, a few times a second) during these intervals (s).
    pub shake: Vec<(f64, f64)>,
    /// A soft cloud shadow crossing from this time (s).
    pub cloud: Option<f64>,
}

impl Scene {
    fn new(name: &'static str, about: &'static str, width: u32, height: u32) -> Scene {
        Scene {
            name,
            about,
            width,
            height,
            seconds: 30,
            movers: Vec::new(),
            night: false,
            noise: 8,
            light: None,
            infrared: None,
            exposure_drift: false,
            starved_kbps: None,
            clock: false,
            rain: false,
            shake: Vec::new(),
            cloud: None,
        }
    }

    /// A person-sized object (a twelfth of the width, 40 % of the height) crossing at walking
    /// speed (the width in about 6 s), left to right at `start_s`.
    fn person(&self, start_s: f64, left_to_right: bool) -> Mover {
        let (w, h) = (self.width, self.height);
        let width = (w / 12).max(2);
        let speed = f64::from(w) / 6.0;
        Mover {
            width,
            height: (h * 2 / 5).max(2),
            colour: "0x404048",
            y: h / 3,
            x0: if left_to_right {
                -f64::from(width)
            } else {
                f64::from(w)
            },
            speed: if left_to_right { speed } else { -speed },
            start_s,
        }
    }

    /// Whether anything real moves in it.
    pub fn has_motion(&self) -> bool {
        !self.movers.is_empty()
    }

    /// The intervals of real motion, ms from the clip's start (lead included), frame-exact.
    pub fn truth(&self) -> Vec<(u64, u64)> {
        let frames = self.seconds * FPS;
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut open: Option<u64> = None;
        let frame_ms = |f: u32| u64::from(f) * 1000 / u64::from(FPS);
        for f in 0..frames {
            let t = f64::from(f) / f64::from(FPS);
            let moving = self.movers.iter().any(|m| m.in_view(t, self.width));
            match (moving, open) {
                (true, None) => open = Some(frame_ms(f)),
                (false, Some(start)) => {
                    out.push((start, frame_ms(f - 1)));
                    open = None;
                }
                _ => (),
            }
        }
        if let Some(start) = open {
            out.push((start, frame_ms(frames - 1)));
        }
        out
    }

    /// The ffmpeg filter graph that draws the clip, ending in `[v]`.
    pub fn filter_graph(&self) -> String {
        let (w, h, fps, m) = (self.width, self.height, FPS, MARGIN);
        let (ww, wh) = (w + 2 * m, h + 2 * m);
        let mut g = format!(
            "mandelbrot=size={ww}x{wh}:rate={fps}:{BACKGROUND},trim=end_frame=1,\
             loop=loop=-1:size=1:start=0,setpts=N/{fps}/TB,noise=alls=30:allf=p,format=yuv420p"
        );
        if self.night {
            // Little light: dark, flat, and the colour gone.
            g.push_str(",eq=brightness=-0.22:contrast=0.35,hue=s=0.3");
        }
        g.push_str("[world0];");
        let mut world = "world0".to_string();
        for (i, mv) in self.movers.iter().enumerate() {
            let colour = if self.night { "0x303038" } else { mv.colour };
            g.push_str(&format!(
                "color=c={colour}:size={}x{}:rate={fps}[mover{i}];\
                 [{world}][mover{i}]overlay=x='{m}+{x0:.3}+{speed:.3}*(t-{t0:.3})':y={y}:\
                 enable='gte(t,{t0:.3})':shortest=1:eval=frame[world{n}];",
                mv.width,
                mv.height,
                x0 = mv.x0,
                speed = mv.speed,
                t0 = mv.start_s,
                y = mv.y + m,
                n = i + 1,
            ));
            world = format!("world{}", i + 1);
        }
        if let Some(t0) = self.cloud {
            // A soft shadow half again as wide as the picture is high, darkening by up to
            // 45 %, drifting across at about the speed of a walker.
            let (cw, ch) = (wh * 3 / 2, wh);
            let speed = f64::from(w) / 7.0;
            g.push_str(&format!(
                "color=c=black:size={cw}x{ch}:rate={fps},format=yuva420p,\
                 geq=lum=16:cb=128:cr=128:a='115*exp(-(pow(X-{cx},2)/(2*pow({sx},2))\
                 +pow(Y-{cy},2)/(2*pow({sy},2))))',trim=end_frame=1,\
                 loop=loop=-1:size=1:start=0,setpts=N/{fps}/TB[cloud];\
                 [{world}][cloud]overlay=x='-{cw}+{speed:.3}*(t-{t0:.3})':y=0:\
                 enable='gte(t,{t0:.3})':shortest=1:eval=frame[clouded];",
                cx = cw / 2,
                cy = ch / 2,
                sx = cw / 5,
                sy = ch / 4,
            ));
            world = "clouded".into();
        }
        if self.rain {
            g.push_str(&format!(
                "nullsrc=size={ww}x{wh}:rate={fps},\
                 geq=lum='if(lt(random(0)\\,0.004)\\,235\\,16)':cb=128:cr=128,\
                 gblur=sigma=0.6:sigmaV=3,lutyuv=y='min(255\\,val*3)',format=yuv420p[rain];\
                 [{world}][rain]blend=c0_mode=lighten:c1_mode=normal:c2_mode=normal:shortest=1[rainy];"
            ));
            world = "rainy".into();
        }
        // The camera sees the world through its lens: shaken, its exposure and its switch.
        let wobble = |axis: f64| {
            if self.shake.is_empty() {
                format!("{m}")
            } else {
                let on = self
                    .shake
                    .iter()
                    .map(|(a, b)| format!("between(t\\,{a:.2}\\,{b:.2})"))
                    .collect::<Vec<_>>()
                    .join("+");
                format!("{m}+3*sin(2*PI*t*{axis})*({on})")
            }
        };
        g.push_str(&format!(
            "[{world}]crop={w}:{h}:x='{}':y='{}'",
            wobble(5.0),
            wobble(3.7)
        ));
        if let Some((on, off)) = self.light {
            g.push_str(&format!(
                ",eq=brightness=0.18:contrast=1.25:enable='between(t,{on},{off})'"
            ));
        }
        if self.exposure_drift {
            g.push_str(
                ",eq=eval=frame:brightness='0.09*sin(2*PI*t/11)':contrast='1+0.15*sin(2*PI*t/7)'",
            );
        }
        if let Some((on, off)) = self.infrared {
            g.push_str(&format!(
                ",hue=s=0:enable='between(t,{on},{off})',\
                 eq=brightness=0.1:contrast=0.8:enable='between(t,{on},{off})'"
            ));
        }
        g.push_str(&format!(",noise=alls={}:allf=t", self.noise));
        if self.clock {
            let font = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf";
            let size = (h / 12).max(10);
            g.push_str(&format!(
                ",drawtext=fontfile={font}:fontsize={size}:fontcolor=white:borderw=2:\
                 x={size}/2:y={size}/2:\
                 text='%{{pts\\:gmtime\\:1796000000\\:%Y-%m-%d %H\\\\\\:%M\\\\\\:%S}}',\
                 drawtext=fontfile={font}:fontsize={size}:fontcolor=white:borderw=2:\
                 x=w-tw-{size}/2:y=h-th-{size}/2:text='Yard camera 2'"
            ));
        }
        g.push_str(&format!(
            ",drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,{:.3})',\
             trim=duration={},setpts=N/{fps}/TB[v]",
            LEAD_MS as f64 / 1000.0 - 0.001,
            self.seconds
        ));
        g
    }

    /// Makes the clip at `path` (MP4, H.264 without B-frames, a keyframe a second, as a camera
    /// sends it) with ffmpeg.
    pub fn make(&self, path: &Path) -> anyhow::Result<PathBuf> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-loglevel", "error", "-y", "-filter_complex"])
            .arg(self.filter_graph())
            .args(["-map", "[v]", "-c:v", "libx264", "-preset", "veryfast"])
            .args(["-pix_fmt", "yuv420p", "-bf", "0", "-g"])
            .arg(FPS.to_string())
            // A keyframe every second on the second, as cameras send them (not at scene
            // cuts): a clip can be cut after its lead without decoding it.
            .args(["-sc_threshold", "0"])
            .args(["-threads", "1"]);
        match self.starved_kbps {
            Some(kbps) => {
                let rate = format!("{kbps}k");
                cmd.args(["-b:v", &rate, "-maxrate", &rate, "-bufsize", &rate]);
            }
            None => {
                let max = format!("{}k", 2000 * (self.width * self.height).div_ceil(640 * 360));
                cmd.args(["-crf", "23", "-maxrate", &max, "-bufsize", &max]);
            }
        }
        cmd.arg(path).stdin(Stdio::null());
        let status = cmd
            .status()
            .context("ffmpeg runs (scripts/setup.sh installs it)")?;
        if !status.success() {
            bail!("ffmpeg could not make scene {}: {status}", self.name);
        }
        // VLC runs as `nobody`: it must be able to read the clip.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
        Ok(path.to_path_buf())
    }
}

/// The scene set at `width` x `height` (640x360 makes the whole set in about a minute on two
/// cores).
pub fn scene_set(width: u32, height: u32) -> Vec<Scene> {
    let s = |name, about| Scene::new(name, about, width, height);
    // Dark and flat, with the heavy sensor noise of a camera at night.
    let night_scene = |name, about| {
        let mut scene = s(name, about);
        scene.night = true;
        scene.noise = 24;
        scene
    };
    let mut out = Vec::new();

    let mut walker = s("walker", "a person crosses at walking speed, twice");
    walker.movers = vec![walker.person(6.0, true), walker.person(18.0, false)];
    out.push(walker);

    let mut far = s("far", "a small person far away crosses slowly");
    far.movers = vec![Mover {
        width: (width / 32).max(2),
        height: (height * 2 / 15).max(2),
        colour: "0x383840",
        y: height / 4,
        x0: -f64::from(width / 32),
        speed: f64::from(width) / 16.0,
        start_s: 5.0,
    }];
    out.push(far);

    let mut slow = s("slow", "a person creeps in, a fifth of walking speed");
    let mut creeper = slow.person(6.0, true);
    creeper.speed /= 5.0;
    slow.movers = vec![creeper];
    out.push(slow);

    let mut night = night_scene(
        "night-walker",
        "at night (dark, flat, heavy sensor noise), a person crosses twice",
    );
    night.movers = vec![night.person(6.0, true), night.person(18.0, false)];
    out.push(night);

    let mut clocked = s(
        "clock-walker",
        "burnt-in date and time; a person crosses late in the clip",
    );
    clocked.clock = true;
    clocked.movers = vec![clocked.person(20.0, true)];
    out.push(clocked);

    let mut noise = s("noise", "still scene, heavy sensor noise");
    noise.noise = 22;
    out.push(noise);

    let mut light = s("light", "a light switched on at 8 s and off at 18 s");
    light.light = Some((8.0, 18.0));
    out.push(light);

    let mut ir = s(
        "ir-switch",
        "infrared switch: colour to grey (flatter, brighter) at 8 s and back at 20 s",
    );
    ir.infrared = Some((8.0, 20.0));
    out.push(ir);

    let mut drift = s(
        "exposure",
        "auto exposure hunting: brightness and contrast drift",
    );
    drift.exposure_drift = true;
    out.push(drift);

    let mut pumping = s(
        "pumping",
        "detailed still scene at a starved 120 kbit/s: every keyframe pumps",
    );
    pumping.starved_kbps = Some(120);
    pumping.noise = 10;
    out.push(pumping);

    let mut clock = s("clock", "burnt-in date and time ticking every second");
    clock.clock = true;
    out.push(clock);

    let mut rain = s("rain", "rain streaks everywhere");
    rain.rain = true;
    out.push(rain);

    let mut shake = s("shake", "the camera shakes by 3 px at 8 s and 18 s");
    shake.shake = vec![(8.0, 9.5), (18.0, 19.0)];
    out.push(shake);

    let mut cloud = s("cloud", "a soft cloud shadow drifts across");
    cloud.cloud = Some(4.0);
    out.push(cloud);

    out.push(night_scene(
        "night-noise",
        "at night (dark, flat), still, heavy sensor noise as the night walker's",
    ));

    let mut night_light = night_scene(
        "night-light",
        "at night with heavy sensor noise, a light switched on at 8 s and off at 18 s",
    );
    night_light.light = Some((8.0, 18.0));
    out.push(night_light);

    let mut night_pumping = night_scene(
        "night-pumping",
        "at night with heavy sensor noise, still, at a starved 120 kbit/s: every keyframe pumps",
    );
    night_pumping.starved_kbps = Some(120);
    out.push(night_pumping);

    let mut night_starved = night_scene(
        "night-starved",
        "at night at a starved 120 kbit/s (keyframes pump), a person crosses twice",
    );
    night_starved.starved_kbps = Some(120);
    night_starved.movers = vec![
        night_starved.person(6.0, true),
        night_starved.person(18.0, false),
    ];
    out.push(night_starved);

    out
}

/// Makes every scene of `scenes` into `dir` (`NAME.mp4`), two at a time.
pub fn make_all(scenes: &[Scene], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = scenes
        .iter()
        .map(|s| dir.join(format!("{}.mp4", s.name)))
        .collect();
    std::thread::scope(|scope| {
        let chunks: Vec<_> = scenes
            .iter()
            .zip(&paths)
            .collect::<Vec<_>>()
            .chunks(scenes.len().div_ceil(2).max(1))
            .map(<[_]>::to_vec)
            .collect();
        let jobs: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || -> anyhow::Result<()> {
                    for (scene, path) in chunk {
                        scene.make(path)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for job in jobs {
            job.join()
                .map_err(|_| anyhow::anyhow!("a clip maker panicked"))??;
        }
        anyhow::Ok(())
    })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_runs_from_a_quarter_in_view_to_a_quarter_in_view() {
        let set = scene_set(640, 360);
        let walker = &set[0];
        // 53 px wide at 106.7 px/s, entering at 6 s: a quarter (13.25 px) is in view after
        // 0.124 s, the first frame then is 6.16 s; it leaves the other side 6 s later.
        let truth = walker.truth();
        assert_eq!(truth.len(), 2, "{truth:?}");
        assert_eq!(truth[0].0, 6160);
        assert!((12_000..12_800).contains(&truth[0].1), "{truth:?}");
        assert!(truth[1].0 > 18_000 && truth[1].1 < 25_000, "{truth:?}");
        assert!(set
            .iter()
            .find(|s| s.name == "clock")
            .unwrap()
            .truth()
            .is_empty());
        for s in &set {
            assert_eq!(s.has_motion(), !s.truth().is_empty(), "{}", s.name);
            for &(a, b) in &s.truth() {
                assert!(a >= LEAD_MS && a < b && b < u64::from(s.seconds) * 1000);
            }
        }
    }

    /// Makes the whole set to look at: `CAMWALL_SCENES=DIR cargo test -p camwall-tests --lib
    /// scenes -- --ignored`.
    #[test]
    #[ignore = "makes the whole scene set (about a minute)"]
    fn make_the_scene_set() {
        let dir = PathBuf::from(std::env::var("CAMWALL_SCENES").expect("CAMWALL_SCENES=DIR"));
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = std::time::Instant::now();
        let made = make_all(&scene_set(640, 360), &dir).unwrap();
        println!("{} clips in {:?}", made.len(), t0.elapsed());
    }

    #[test]
    fn a_scene_becomes_a_clip_of_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let mut scene = scene_set(160, 90)
            .into_iter()
            .find(|s| s.name == "clock-walker")
            .unwrap();
        scene.seconds = 2;
        scene.rain = true;
        scene.cloud = Some(0.5);
        scene.shake = vec![(0.5, 1.0)];
        scene.light = Some((0.5, 1.5));
        scene.infrared = Some((0.5, 1.5));
        scene.exposure_drift = true;
        scene.night = true;
        let path = scene.make(&dir.path().join("s.mp4")).unwrap();
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-show_entries"])
            .args(["stream=width,height,nb_read_frames", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "160,90,50");
    }
}
