//! `g1d view` on what the suite records: a `g1d drive --bag` recording rendered offscreen to a
//! PNG (size, the robot at the centre, the obstacles, the plan) and to a GIF whose frames Pillow
//! counts (the live window: `view_live.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn g1d(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "g1d {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn python(script: &str) -> String {
    let out = Command::new(root().join(".venv/bin/python"))
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Counts of pixels in the viewer's obstacle, plan-body and background colours.
fn colour_counts(png: &Path) -> (u64, u64, u64, (u32, u32)) {
    let img = image::open(png).unwrap().to_rgb8();
    let (mut obstacle, mut plan, mut sky) = (0, 0, 0);
    for p in img.pixels() {
        let f = p.0.map(|v| v as f32 / 255.0);
        // Orange under any shading: red well above green, green well above blue.
        if f[0] > 0.35 && f[0] > 1.3 * f[1] && f[1] > 1.5 * f[2] {
            obstacle += 1;
        }
        if f[2] > 0.6 && f[2] > 1.8 * f[0] {
            plan += 1;
        }
        // The pale blue above the horizon (shading and tone mapping change its exact value).
        if f.iter().all(|v| *v > 0.75) && f[2] - f[0] > 0.04 {
            sky += 1;
        }
    }
    (obstacle, plan, sky, img.dimensions())
}

#[test]
fn a_recorded_run_renders_to_png_and_gif() {
    let dir = std::env::temp_dir().join(format!("g1d_view_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let bag = dir.join("bag");
    g1d(&[
        "drive",
        "--model",
        "assets/models/default",
        "--goal",
        "4,0",
        "--seconds",
        "3",
        "--sim-config",
        "config/scene_forest.yaml",
        "--bag",
        bag.to_str().unwrap(),
    ]);
    // The bag holds what the viewer draws, as the suite's own types.
    let info =
        String::from_utf8_lossy(&g1d(&["bag", "info", bag.to_str().unwrap()]).stdout).to_string();
    for t in [
        "/g1d/plan/markers",
        "/g1d/obstacles",
        "/g1d/goal",
        "/diagnostics",
        "/sim/odom",
    ] {
        assert!(info.contains(t), "{t} not recorded:\n{info}");
    }

    let png = dir.join("v.png");
    g1d(&[
        "view",
        "--bag",
        bag.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
        "--at",
        "2",
    ]);
    let (obstacle, plan, sky, size) = colour_counts(&png);
    assert!(size.0 >= 640 && size.1 >= 480, "{size:?}");
    assert!(obstacle > 2000, "{obstacle} obstacle pixels");
    assert!(plan > 20, "{plan} plan-body pixels");
    assert!(sky > 1000, "{sky} background pixels");
    // The camera follows the robot: its grey and black parts fill the middle of the picture,
    // where without it the floor would be.
    let img = image::open(&png).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    // The floor's colour, from the picture's bottom corners.
    let floor = img.get_pixel(3, h - 3).0.map(|v| v as f32 / 255.0);
    let robot_like = (w / 2 - 40..w / 2 + 40)
        .flat_map(|x| (h / 2 - 120..h / 2 + 60).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y).0.map(|v| v as f32 / 255.0);
            let grey = (p[0] - p[1]).abs() < 0.08 && (p[1] - p[2]).abs() < 0.08;
            grey && p.iter().zip(floor).any(|(v, f)| (v - f).abs() > 0.12)
        })
        .count();
    assert!(robot_like > 800, "{robot_like} robot pixels at the centre");

    // A moment the recording does not have is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "view",
            "--bag",
            bag.to_str().unwrap(),
            "--png",
            "/tmp/never.png",
            "--at",
            "9",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("long"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The clip: one frame per 1/fps s of the recording, read back by Pillow.
    let gif = dir.join("v.gif");
    let out = g1d(&[
        "view",
        "--bag",
        bag.to_str().unwrap(),
        "--video",
        gif.to_str().unwrap(),
        "--fps",
        "10",
        "--width",
        "320",
        "--height",
        "240",
    ]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let frames_said: u64 = said
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let got = python(&format!(
        "from PIL import Image\nim = Image.open({:?})\nd = []\nfor i in range(im.n_frames):\n    im.seek(i); d.append(im.info['duration'])\nprint(im.n_frames, sum(d), im.size[0], im.size[1])",
        gif.to_str().unwrap()
    ));
    let v: Vec<u64> = got.split(' ').map(|x| x.parse().unwrap()).collect();
    // 3 s of run, 50 Hz control: the last message at 2.98 s → 30 frames of 100 ms.
    assert_eq!(v[0], frames_said, "{got} / {said}");
    assert_eq!(v[0], 30, "{got}");
    assert_eq!(v[1], 3000, "clip length {got} ms");
    assert_eq!((v[2], v[3]), (320, 240));
    std::fs::remove_dir_all(&dir).ok();
}
