//! Rendering: one frame to PNG, a whole timeline to an animated GIF (both offscreen, no
//! display needed), and the interactive window.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kiss3d::prelude::*;

use crate::stage::{self, Stage};
use crate::timeline::{Snapshot, Timeline};

/// How to draw.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// The G1's MJCF (its meshes beside it).
    pub mjcf: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Keep the camera on the robot.
    pub follow: bool,
    /// The window's frame-rate cap (a software renderer would otherwise take every core).
    pub max_fps: f64,
}

impl ViewOptions {
    pub fn new(mjcf: PathBuf) -> Self {
        Self {
            mjcf,
            width: 960,
            height: 720,
            follow: true,
            max_fps: 30.0,
        }
    }

    fn check(&self) -> Result<()> {
        if !(self.max_fps > 0.0 && self.max_fps <= 240.0) {
            bail!("--max-fps {}: 0–240", self.max_fps);
        }
        if !(64..=4096).contains(&self.width) || !(64..=4096).contains(&self.height) {
            bail!(
                "image size {}×{}: each side 64–4096 pixels",
                self.width,
                self.height
            );
        }
        stage::check_assets(&self.mjcf)
    }
}

/// An offscreen renderer of snapshots.
pub struct Offscreen {
    surface: OffscreenSurface,
    pub stage: Stage,
    pub camera: OrbitCamera3d,
    follow: bool,
}

impl Offscreen {
    pub fn new(o: &ViewOptions) -> Result<Self> {
        o.check()?;
        let mut surface = kiss3d::pollster::block_on(OffscreenSurface::new(o.width, o.height));
        surface.set_background_color(stage::colors::BACKGROUND);
        surface.set_ambient(0.45);
        Ok(Self {
            surface,
            stage: Stage::new(&o.mjcf)?,
            camera: stage::camera(),
            follow: o.follow,
        })
    }

    /// Renders `s` and returns the picture (RGB, top row first).
    pub fn render(&mut self, s: &Snapshot) -> image::RgbImage {
        self.stage.update(s);
        if self.follow {
            stage::follow(&mut self.camera, s);
        }
        let w = self.surface.window_mut();
        self.stage.draw_marks(w, s);
        self.stage.draw_status(w, s, &[]);
        kiss3d::pollster::block_on(
            self.surface
                .render_3d(&mut self.stage.scene, &mut self.camera),
        );
        self.surface.snap_image()
    }

    /// Where the camera puts a world point in the picture (pixels from the top left).
    pub fn project(&self, p: [f64; 3]) -> [f32; 2] {
        let size = self.surface.size();
        let v = self.camera.project(
            Vec3::new(p[0] as f32, p[1] as f32, p[2] as f32),
            Vec2::new(size.x as f32, size.y as f32),
        );
        [v.x, size.y as f32 - v.y]
    }
}

/// Renders the moment `at` seconds into `tl` to the PNG `out`.
pub fn render_png(tl: &Timeline, at: f64, out: &Path, o: &ViewOptions) -> Result<()> {
    if !(0.0..=tl.duration() + 1e-9).contains(&at) {
        bail!("--at {at} s: the recording is {:.2} s long", tl.duration());
    }
    let s = tl
        .at(at)
        .context("nothing to draw: no joint states and pose in the recording")?;
    let mut r = Offscreen::new(o)?;
    let img = r.render(&s);
    img.save(out)
        .with_context(|| format!("writing {}", out.display()))
}

/// The number of frames a clip of `duration_s` seconds has at `fps` (one per 1/fps seconds of
/// the recording, the first at 0: the clip is as long as the run).
pub fn frame_count(duration_s: f64, fps: f64) -> usize {
    ((duration_s * fps) - 1e-6).ceil().max(1.0) as usize
}

/// Renders the whole timeline to an animated GIF at `fps` frames per second of the recording
/// (`fps` divides 100, GIF's delays being centiseconds). Calls `progress(done, total)` after
/// each frame; returns the number of frames.
pub fn render_video(
    tl: &Timeline,
    out: &Path,
    fps: u32,
    o: &ViewOptions,
    progress: impl FnMut(usize, usize),
) -> Result<usize> {
    check_video(out, fps)?;
    let mut r = Offscreen::new(o)?;
    render_video_on(&mut r, tl, out, fps, progress)
}

fn check_video(out: &Path, fps: u32) -> Result<()> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("gif") => {}
        other => bail!(
            "{}: clips are written as GIF (.gif), not {}",
            out.display(),
            other.map_or("a file without extension".into(), |e| format!(".{e}"))
        ),
    }
    if fps == 0 || 100 % fps != 0 {
        bail!("--fps {fps}: a GIF's frame delays are centiseconds, so the rate must divide 100 (1, 2, 4, 5, 10, 20, 25, 50)");
    }
    Ok(())
}

/// [`render_video`] on an existing renderer (one per process: kiss3d's GPU context does not
/// survive a renderer being dropped and another made).
pub fn render_video_on(
    r: &mut Offscreen,
    tl: &Timeline,
    out: &Path,
    fps: u32,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize> {
    check_video(out, fps)?;
    let n = frame_count(tl.duration(), fps as f64);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut enc = image::codecs::gif::GifEncoder::new_with_speed(std::io::BufWriter::new(file), 20);
    enc.set_repeat(image::codecs::gif::Repeat::Infinite)?;
    let delay = image::Delay::from_numer_denom_ms(1000, fps);
    for k in 0..n {
        let s = tl.at(k as f64 / fps as f64).context("nothing to draw")?;
        let rgb = r.render(&s);
        let rgba = image::DynamicImage::ImageRgb8(rgb).into_rgba8();
        enc.encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
            .with_context(|| format!("writing frame {k} to {}", out.display()))?;
        progress(k + 1, n);
    }
    Ok(n)
}

/// What the window plays.
pub enum Playback {
    /// A recording: play, pause, seek, speed.
    Recorded(Box<Timeline>),
    /// A timeline that grows (live topics, a run being computed): shows the newest moment
    /// unless paused or seeking back.
    Growing(Arc<Mutex<Timeline>>),
}

/// The keys, as the window shows them.
pub const KEYS: [&str; 2] = [
    "space play/pause   ←/→ seek 1 s   ↑/↓ speed   home start   end latest",
    "f follow   p plan   h help   q quit   mouse: drag orbit, right-drag pan, wheel zoom",
];

/// What a screenshot showed, as one line of JSON (for checks and scripts).
fn shown_json(s: &Snapshot, frames: u64) -> String {
    let p = s.root.pos_w;
    let plan_bodies: usize = s
        .plan
        .as_ref()
        .map_or(0, |p| p.bodies.iter().map(|(_, b)| b.len()).sum());
    format!(
        "{{\"t\": {:.3}, \"pelvis\": [{:.3}, {:.3}, {:.3}], \"mode\": {}, \"plan_bodies\": {plan_bodies}, \"obstacles\": {}, \"goal\": {}, \"fell\": {}, \"frames\": {frames}}}",
        s.t,
        p.x,
        p.y,
        p.z,
        s.status.mode.as_ref().map_or("null".into(), |m| format!("{m:?}")),
        s.obstacles.len(),
        s.goal.map_or("null".into(), |g| format!("[{:.3}, {:.3}]", g[0], g[1])),
        s.fell_at.is_some(),
    )
}

/// Opens the window (needs a display: `DISPLAY` or `WAYLAND_DISPLAY`). With `screenshot`,
/// saves the window's picture after that many seconds and closes.
pub fn run_window(
    pb: Playback,
    o: &ViewOptions,
    title: &str,
    screenshot: Option<(PathBuf, f64)>,
) -> Result<()> {
    o.check()?;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): the window needs one; \
             render offscreen with --png FILE --at S or --video FILE.gif, or run under xvfb-run"
        );
    }
    kiss3d::pollster::block_on(window_loop(pb, o, title, screenshot))
}

async fn window_loop(
    pb: Playback,
    o: &ViewOptions,
    title: &str,
    screenshot: Option<(PathBuf, f64)>,
) -> Result<()> {
    let mut window = Window::new_with_size(title, o.width, o.height).await;
    window.set_background_color(stage::colors::BACKGROUND);
    window.set_ambient(0.45);
    let mut stage = Stage::new(&o.mjcf)?;
    let mut camera = stage::camera();
    let mut follow = o.follow;
    let mut playing = true;
    let mut speed = 1.0f64;
    let mut t = 0.0f64;
    let mut live_edge = matches!(pb, Playback::Growing(_));
    let mut help = true;
    let opened = Instant::now();
    let mut last = Instant::now();
    let mut shown: Option<Snapshot> = None;
    let mut frames = 0u64;
    loop {
        let now = Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        for ev in window.events().iter() {
            if let WindowEvent::Key(key, Action::Press, _) = ev.value {
                match key {
                    Key::Space => playing = !playing,
                    Key::Left => {
                        t -= 1.0;
                        live_edge = false;
                    }
                    Key::Right => t += 1.0,
                    Key::Up => speed = (speed * 2.0).min(16.0),
                    Key::Down => speed = (speed / 2.0).max(1.0 / 16.0),
                    Key::Home => {
                        t = 0.0;
                        live_edge = false;
                    }
                    Key::End => live_edge = matches!(pb, Playback::Growing(_)),
                    Key::F => follow = !follow,
                    Key::P => stage.show_plan = !stage.show_plan,
                    Key::H => help = !help,
                    Key::Q | Key::Escape => return Ok(()),
                    _ => {}
                }
            }
        }
        let snap = {
            let guard;
            let tl: &Timeline = match &pb {
                Playback::Recorded(tl) => tl.as_ref(),
                Playback::Growing(m) => {
                    guard = m.lock().unwrap_or_else(PoisonError::into_inner);
                    &guard
                }
            };
            let d = tl.duration();
            if playing {
                t += dt * speed;
            }
            if live_edge || t > d {
                t = d;
            }
            t = t.max(0.0);
            if t >= d && matches!(pb, Playback::Growing(_)) && playing {
                live_edge = true;
            }
            tl.at(t)
        };
        if let Some(s) = snap {
            shown = Some(s);
        }
        let mut extra = vec![format!(
            "{}  ×{speed}{}{}",
            if playing { "playing" } else { "paused" },
            if live_edge { "  LIVE" } else { "" },
            if follow { "  following" } else { "" }
        )];
        if help {
            extra.extend(KEYS.iter().map(|k| k.to_string()));
        }
        match &shown {
            Some(s) => {
                stage.update(s);
                if follow {
                    stage::follow(&mut camera, s);
                }
                stage.draw_marks(&mut window, s);
                stage.draw_status(&mut window, s, &extra);
            }
            None => {
                let font = Font::default();
                window.draw_text(
                    "waiting for /joint_states and odometry …",
                    Vec2::new(10.0, 10.0),
                    30.0,
                    &font,
                    stage::colors::TEXT,
                );
            }
        }
        if !window.render_3d(&mut stage.scene, &mut camera).await {
            return Ok(());
        }
        frames += 1;
        if let Some((path, after)) = &screenshot {
            // After the first frames (a software renderer's first takes seconds).
            if let (true, true, Some(s)) = (
                opened.elapsed().as_secs_f64() >= *after,
                frames >= 10,
                &shown,
            ) {
                window
                    .snap_image()
                    .save(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("{}", shown_json(s, frames));
                return Ok(());
            }
            if opened.elapsed().as_secs_f64() >= after + 60.0 {
                bail!(
                    "no robot to draw {:.0} s after opening: nothing arrived",
                    after + 60.0
                );
            }
        }
        let period = Duration::from_secs_f64(1.0 / o.max_fps);
        std::thread::sleep(
            period
                .saturating_sub(now.elapsed())
                .max(Duration::from_millis(2)),
        );
    }
}
