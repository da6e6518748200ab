//! The model pipeline through the command line on a small real dataset: collect → dataset →
//! train (tiny) → exact resume → export → ONNX Runtime vs libtorch vs Python onnxruntime and
//! onnx.checker → manifest mismatches and bad datasets rejected with named reasons.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{python_bag_report, repo};

fn g1d(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(args)
        .output()
        .unwrap();
    out
}

fn ok(args: &[&str]) -> String {
    let o = g1d(args);
    assert!(
        o.status.success(),
        "g1d {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let o = g1d(args);
    assert!(!o.status.success(), "g1d {args:?} should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Rewrites the safetensors file at `src` into `dst`, changing its bytes with `edit(header
/// JSON, data bytes)`.
fn edit_safetensors(src: &Path, dst: &Path, edit: impl FnOnce(&mut serde_json::Value, &mut [u8])) {
    let bytes = std::fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut data = bytes[8 + n..].to_vec();
    edit(&mut header, &mut data);
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    std::fs::write(dst, out).unwrap();
}

#[test]
fn train_resume_export_check_and_rejections() {
    let tmp = std::env::temp_dir().join(format!("g1d_model_cli_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let policy = repo().join("assets/policies/velocity_mjlab");
    let bags = tmp.join("bags");
    let ds = tmp.join("ds.safetensors");
    ok(&[
        "collect",
        "--policy",
        s(&policy),
        "--sim-hours",
        "0.03",
        "--episode-seconds",
        "6",
        "--seed",
        "2",
        "--out",
        s(&bags),
    ]);
    ok(&["dataset", "build", s(&bags), "--out", s(&ds)]);

    // Train tiny for 40 steps in one go, and in two invocations (20 + resume to 40).
    let opts = tmp.join("opts.yaml");
    std::fs::write(
        &opts,
        "val_every: 20\nlog_every: 5\ncheckpoint_every: 20\nval_fraction: 0.2\n",
    )
    .unwrap();
    let one = tmp.join("one");
    let two = tmp.join("two");
    let base = [
        "train",
        "--data",
        s(&ds),
        "--config",
        "tiny",
        "--steps",
        "40",
        "--threads",
        "1",
        "--options",
        s(&opts),
        "--json",
    ];
    let summary: serde_json::Value =
        serde_json::from_str(&ok(&[&base[..], &["--out", s(&one)]].concat())).unwrap();
    let (v0, v1) = (
        summary["initial_val_loss"].as_f64().unwrap(),
        summary["final_val_loss"].as_f64().unwrap(),
    );
    assert!(
        v1 < 0.9 * v0,
        "validation x0-MSE {v0} → {v1} after 40 steps"
    );
    ok(&[&base[..], &["--out", s(&two), "--stop-after", "20"]].concat());
    ok(&[&base[..], &["--out", s(&two), "--resume"]].concat());
    let a = g1_diffusion::Checkpoint::load(&one.join("checkpoint.safetensors")).unwrap();
    let b = g1_diffusion::Checkpoint::load(&two.join("checkpoint.safetensors")).unwrap();
    assert_eq!(a.meta.step, 40);
    assert_eq!(b.meta.step, 40);
    for (name, t) in &a.tensors {
        let u = &b.tensors[name];
        let d = t
            .data
            .iter()
            .zip(&u.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(d <= 1e-6, "{name} differs by {d} after resume");
    }
    let log = std::fs::read_to_string(two.join("train_log.csv")).unwrap();
    let steps: Vec<&str> = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        steps.iter().filter(|s| **s == "25").count(),
        1,
        "resumed log repeats or lacks rows: {steps:?}"
    );
    assert!(two.join("loss.png").exists());
    // Resuming with another configuration is refused.
    let e = fails(&[
        "train",
        "--data",
        s(&ds),
        "--config",
        "small",
        "--steps",
        "50",
        "--out",
        s(&two),
        "--resume",
    ]);
    assert!(e.contains("configuration"), "{e}");

    // Export, then ONNX Runtime (Rust) vs libtorch on random and real inputs.
    let model = tmp.join("model");
    ok(&["export", s(&one), "--out", s(&model)]);
    // Outputs that exist are not overwritten without --force (nor a training run restarted
    // without --resume or --force).
    let e = fails(&["export", s(&one), "--out", s(&model)]);
    assert!(e.contains("--force"), "{e}");
    ok(&["export", s(&one), "--out", s(&model), "--force"]);
    // A fine-tune may start from an exported model directory: its first validation loss is
    // the exported model's (the EMA weights the run ended with), not a fresh network's.
    let ft: serde_json::Value = serde_json::from_str(&ok(&[
        &base[..],
        &["--out", s(&tmp.join("ft")), "--init-from", s(&model)],
    ]
    .concat()))
    .unwrap();
    let ft0 = ft["initial_val_loss"].as_f64().unwrap();
    assert!(
        ft0 < 0.9 * v0,
        "fine-tune from the exported model starts at {ft0}, a fresh run at {v0}"
    );
    let e = fails(&["dataset", "build", s(&bags), "--out", s(&ds)]);
    assert!(e.contains("--force"), "{e}");
    let e = fails(&[
        "train",
        "--data",
        s(&ds),
        "--config",
        "tiny",
        "--out",
        s(&one),
    ]);
    assert!(e.contains("--resume") && e.contains("--force"), "{e}");
    let dump = tmp.join("dump");
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "model",
        "check",
        s(&model),
        "--checkpoint",
        s(&one),
        "--data",
        s(&ds),
        "--dump",
        s(&dump),
        "--json",
    ]))
    .unwrap();
    assert!(
        report["max_abs_diff_random"].as_f64().unwrap() < 1e-4,
        "{report}"
    );
    assert!(
        report["max_abs_diff_real"].as_f64().unwrap() < 1e-4,
        "{report}"
    );
    // Python: onnx.checker (full) and onnxruntime on the same inputs.
    let py = Command::new(g1_testkit::python())
        .arg(repo().join("scripts/check_onnx_python.py"))
        .arg(&dump)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success(),
        "python check failed: {text}\n{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let pr: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(pr["checker"], "ok");
    assert!(pr["opset"].as_i64().unwrap() >= 17);
    assert!(
        pr["python_vs_rust_ort_max_abs_diff"].as_f64().unwrap() < 1e-4,
        "{pr}"
    );
    assert!(
        pr["python_vs_rust_torch_max_abs_diff"].as_f64().unwrap() < 1e-4,
        "{pr}"
    );
    assert!(pr["output_abs_max"].as_f64().unwrap() > 1e-2, "{pr}");

    // Unguided plans run on held-out windows.
    let plans: serde_json::Value = serde_json::from_str(&ok(&[
        "model",
        "plans",
        s(&model),
        "--data",
        s(&ds),
        "--windows",
        "10",
        "--json",
    ]))
    .unwrap();
    assert_eq!(plans["windows"], 10);
    assert!(plans["model_root_error_m"]["mean"]
        .as_f64()
        .unwrap()
        .is_finite());

    // A manifest that disagrees with the robot is rejected, naming the disagreement.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("manifest.json")).unwrap())
            .unwrap();
    for (edit, expect) in [
        (("joint_names", 0usize), "joint 0"),
        (("state_layout_version", 0), "layout"),
        (("action_dim", 0), "action dimension"),
    ] {
        let bad = tmp.join(format!("bad_{}", edit.0));
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::copy(model.join("denoiser.onnx"), bad.join("denoiser.onnx")).unwrap();
        let mut m = manifest.clone();
        match edit.0 {
            "joint_names" => m["joint_names"][0] = "right_hip_pitch_joint".into(),
            "state_layout_version" => m["state_layout_version"] = 2.into(),
            _ => m["action_dim"] = 23.into(),
        }
        std::fs::write(bad.join("manifest.json"), m.to_string()).unwrap();
        let e = fails(&["model", "check", s(&bad), "--checkpoint", s(&one)]);
        assert!(e.contains(expect), "expected `{expect}` in: {e}");
    }

    // Bad datasets stop training with a message naming the problem.
    let nan = tmp.join("nan.safetensors");
    edit_safetensors(&ds, &nan, |h, data| {
        let off = h["states"]["data_offsets"][0].as_u64().unwrap() as usize + 4 * 7;
        data[off..off + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let e = fails(&[
        "train",
        "--data",
        s(&nan),
        "--config",
        "tiny",
        "--steps",
        "5",
        "--out",
        s(&tmp.join("x")),
    ]);
    assert!(e.contains("NaN") && e.contains("states"), "{e}");
    let layout = tmp.join("layout.safetensors");
    edit_safetensors(&ds, &layout, |h, _| {
        let mut meta: serde_json::Value =
            serde_json::from_str(h["__metadata__"]["g1d"].as_str().unwrap()).unwrap();
        meta["state_layout_version"] = 7.into();
        h["__metadata__"]["g1d"] = meta.to_string().into();
    });
    let e = fails(&[
        "train",
        "--data",
        s(&layout),
        "--config",
        "tiny",
        "--steps",
        "5",
        "--out",
        s(&tmp.join("y")),
    ]);
    assert!(e.contains("state layout version 7"), "{e}");
    let e = fails(&[
        "train",
        "--data",
        s(&ds),
        "--config",
        "huge",
        "--out",
        s(&tmp.join("z")),
    ]);
    assert!(
        e.contains("unknown model size `huge` (expected tiny, small or paper)"),
        "{e}"
    );
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn shipped_default_model_loads_and_its_backends_agree() {
    let model = repo().join("assets/models/default");
    let r: serde_json::Value =
        serde_json::from_str(&ok(&["model", "check", s(&model), "--json"])).unwrap();
    assert_eq!(r["config"], "small");
    assert!(r["max_abs_diff_random"].as_f64().unwrap() < 1e-4, "{r}");
    let card = std::fs::read_to_string(model.join("README.md")).unwrap();
    assert!(
        card.contains(" train --data") && card.contains(" export "),
        "the model card must say how it was trained"
    );
}

/// `g1d bench model --shipped`: the shipped model's plans as the planner node makes them, with
/// the parameter file's calls per plan (read here from the file itself) for a waypoint task
/// and, in the joystick profile, for a joystick task; a parameter file that names no model
/// that exists is refused, naming it.
#[test]
fn bench_model_measures_the_shipped_plans() {
    const TINY_ORT: [&str; 6] = ["bench", "model", "--configs", "tiny", "--backends", "ort"];
    let out = ok(&[
        TINY_ORT.as_slice(),
        &[
            "--calls",
            "5",
            "--plans",
            "2",
            "--shipped",
            "--shipped-plans",
            "25",
            "--json",
        ],
    ]
    .concat());
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{r}");
    let params: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("config/g1.params.yaml")).unwrap(),
    )
    .unwrap();
    let planner = &params["g1_planner"]["ros__parameters"]["planner"];
    let calls = |k: &str| {
        planner[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {planner:?}"))
    };
    for (row, task, expect) in [
        (&rows[1], "waypoint", calls("max_calls")),
        (&rows[2], "joystick", calls("joystick_max_calls")),
    ] {
        let name = row["config"].as_str().unwrap();
        assert!(name.starts_with(&format!("shipped, {task}")), "{row}");
        assert_eq!(
            row["denoiser_calls_per_plan"].as_u64(),
            Some(expect),
            "{row}"
        );
        let (p50, p99) = (
            row["plan_ms_p50"].as_f64().unwrap(),
            row["plan_ms_p99"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p99, "{row}");
        assert!(row["call_ms_p50"].is_null(), "{row}");
    }
    // The tiny row is measured as before, beside them.
    assert_eq!(rows[0]["config"], "tiny");
    assert!(rows[0]["call_ms_p50"].as_f64().unwrap() > 0.0);
    let dir = g1_testkit::Scratch::new("bench-params");
    let file = std::fs::read_to_string(repo().join("config/g1.params.yaml")).unwrap();
    let bad = file.replace("model: models/default", "model: models/no_such_model");
    assert_ne!(bad, file, "the parameter file's model line changed");
    let params = dir.join("p.yaml");
    std::fs::write(&params, bad).unwrap();
    let err = fails(&[TINY_ORT.as_slice(), &["--shipped", "--params", s(&params)]].concat());
    assert!(err.contains("no_such_model"), "{err}");
}

/// Reads a bag's `/sim/odom` and returns, over every three consecutive messages, the RMS
/// difference between the recorded linear twist and the poses' central difference expressed
/// in the pelvis frame (REP-105), the same difference taken in the world frame, the fastest
/// speed and the largest |yaw| seen.
fn odom_twist_check(bag: &std::path::Path) -> (f64, f64, f64, f64) {
    use g1::nalgebra::{Quaternion, UnitQuaternion, Vector3};
    use g1_msgs::nav_msgs::Odometry;
    let mut odom = vec![];
    g1_bag::Bag::open(bag)
        .unwrap()
        .read(|m| -> Result<(), g1_bag::BagError> {
            if m.topic == "/sim/odom" {
                odom.push(m.decode::<Odometry>()?);
            }
            Ok(())
        })
        .unwrap()
        .unwrap();
    assert!(odom.len() >= 10, "{} odometry messages", odom.len());
    let t = |o: &Odometry| o.header.stamp.as_secs_f64();
    let p = |o: &Odometry| {
        let q = &o.pose.pose.position;
        Vector3::new(q.x, q.y, q.z)
    };
    let (mut body_sq, mut world_sq, mut speed, mut yaw) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for w in odom.windows(3) {
        let v_world = (p(&w[2]) - p(&w[0])) / (t(&w[2]) - t(&w[0]));
        let o = &w[1].pose.pose.orientation;
        let r = UnitQuaternion::from_quaternion(Quaternion::new(o.w, o.x, o.y, o.z));
        let l = &w[1].twist.twist.linear;
        let recorded = Vector3::new(l.x, l.y, l.z);
        body_sq += (recorded - r.inverse() * v_world).norm_squared();
        world_sq += (recorded - v_world).norm_squared();
        speed = speed.max(v_world.norm());
        yaw = yaw.max(r.euler_angles().2.abs());
    }
    let n = (odom.len() - 2) as f64;
    ((body_sq / n).sqrt(), (world_sq / n).sqrt(), speed, yaw)
}

/// `/sim/odom` in a `g1d drive --bag` recording carries its twist in the pelvis frame, as
/// `g1_sim` publishes it (both use the simulator node's conversion): checked against finite
/// differences of the recorded poses on a walk that turns towards a goal on the left, where the
/// world-frame reading would be wrong.
#[test]
fn drive_bag_odometry_twist_is_in_the_pelvis_frame() {
    let out = std::env::temp_dir().join(format!("g1d_drive_odom_{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let bag = out.join("bag");
    let model = repo().join("assets/models/default");
    let o = g1d(&[
        "drive",
        "--model",
        s(&model),
        "--goal",
        "0,3",
        "--seconds",
        "6",
        "--bag",
        s(&bag),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (body_err, world_err, speed, yaw) = odom_twist_check(&bag);
    assert!(
        yaw > 0.5,
        "the walk must turn for the check to tell frames apart: {yaw:.2} rad"
    );
    assert!(speed > 0.1, "it must move: {speed:.2} m/s");
    eprintln!("twist RMS error: pelvis frame {body_err:.4} m/s, world frame {world_err:.4} m/s");
    assert!(
        body_err < 0.03,
        "twist vs pelvis-frame differences: {body_err:.3} m/s RMS"
    );
    assert!(
        world_err > 3.0 * body_err,
        "the world-frame reading must differ: {world_err:.3} vs {body_err:.3} m/s RMS"
    );
    std::fs::remove_dir_all(&out).ok();
}

/// `g1d demo` (what `make demo` runs), shortened: the shipped model drives the G1 in the
/// obstacle scene; it prints progress and the outcome and leaves a top-view PNG and a bag that
/// the independent Python readers decode.
#[test]
fn demo_writes_its_bag_and_picture() {
    let out = std::env::temp_dir().join(format!("g1d_demo_{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let o = g1d(&["demo", "--seconds", "1.0", "--out", s(&out)]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("outcome"), "{stdout}");
    assert!(stderr.contains("to the goal"), "progress lines: {stderr}");
    let png = std::fs::read(out.join("top_view.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let v = python_bag_report(&out.join("bag"));
    // One message per topic per control step (fewer than 50 only if it fell).
    let n = v["rosbags"]["/joint_states"].as_u64().unwrap();
    assert!((10..=50).contains(&n), "{v}");
    for reader in ["rosbags", "mcap"] {
        for topic in ["/joint_states", "/sim/odom", "/joint_targets"] {
            assert_eq!(v[reader][topic].as_u64(), Some(n), "{reader} {topic}: {v}");
        }
    }
    // The per-step log: one row per control step, 20 ms apart, the model's surprise from the
    // second step on (the first has no plan predicting it), the gate within [0, 1].
    let csv = std::fs::read_to_string(out.join("log.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, n, "{csv}");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len(), "row {i}: {r:?}");
        let t: f64 = r[col("time_s")].parse().unwrap();
        assert!((t - 0.02 * (i + 1) as f64).abs() < 1e-6, "row {i}: t = {t}");
        let g: f64 = r[col("gate")].parse().unwrap();
        assert!((0.0..=1.0).contains(&g), "row {i}: gate {g}");
    }
    // (When the first plan lands depends on its compute time: on a loaded machine after more
    // than one step.)
    assert_eq!(rows[0][col("surprise_mps")], "");
    let first = rows
        .iter()
        .position(|r| r[col("mode")] == "plan")
        .expect("no step executed a plan");
    assert!(first < 10, "the first plan landed at step {first}");
    let surprised: Vec<f64> = rows[first..]
        .iter()
        .map(|r| r[col("surprise_mps")].parse().unwrap())
        .collect();
    assert!(
        surprised.iter().all(|v| (0.0..1.0).contains(v)),
        "{surprised:?}"
    );
    // A second run refuses to replace the previous outputs, naming them, unless --force.
    let again = g1d(&["demo", "--seconds", "0.2", "--out", s(&out)]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success() && err.contains("--force"), "{err}");
    assert!(err.contains("top_view.png"), "{err}");
    assert_eq!(
        std::fs::read(out.join("top_view.png")).unwrap(),
        png,
        "left alone"
    );
    let again = g1d(&["demo", "--seconds", "0.2", "--out", s(&out), "--force"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    std::fs::remove_dir_all(&out).ok();
}

/// A tour through `g1d eval`: two waypoints straight ahead under gentle punches and a slow arm
/// walk. Both controllers reach them in turn (the harness moves the target on), every punch is
/// counted in the per-step log, and the tour table is printed with its errors.
#[test]
fn eval_runs_a_tour_waypoint_by_waypoint_under_punches() {
    let dir = std::env::temp_dir().join(format!("g1d_tour_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let scen = dir.join("t.yaml");
    std::fs::write(
        &scen,
        "scenarios:\n  - name: short_tour\n    task: tour\n    seconds: 7\n    seed: 3\n    waypoints: [[0.6, 0.0], [1.2, 0.0]]\n    punches: {every_s: 2.0, max_force_n: 30, duration_s: 0.08}\n    arm_walk: {step_std_rad: 0.002, max_offset_rad: 0.1}\n",
    )
    .unwrap();
    let (out, steps) = (dir.join("out"), dir.join("steps"));
    let stdout = ok(&[
        "eval",
        "--scenarios",
        s(&scen),
        "--runs",
        "1",
        "--baseline",
        "expert",
        "--steps",
        s(&steps),
        "--out",
        s(&out),
    ]);
    assert!(
        stdout.contains("| tour | controller | runs | completed |"),
        "{stdout}"
    );
    let groups: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    for g in groups.as_array().unwrap() {
        let run = &g["runs"][0];
        assert_eq!(run["success"], true, "{g}");
        assert_eq!(run["waypoints_reached"], 2, "{g}");
        assert!(run["path_error_m"].as_f64().unwrap() < 0.2, "{g}");
        assert!(run["final_error_m"].as_f64().unwrap() < 0.35, "{g}");
    }
    // The diffusion run's log: one punch per 2 s window of the 7 s episode.
    let csv = std::fs::read_to_string(steps.join("short_tour_seed0.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = rows[0].iter().position(|c| *c == "pushes").unwrap();
    let pushes: usize = rows.last().unwrap()[col].parse().unwrap();
    assert!((3..=4).contains(&pushes), "{pushes} punches in 7 s");
    std::fs::remove_dir_all(&dir).ok();
}

/// `g1d eval` end to end on a short course: the shipped model and the expert baseline, two
/// runs each; the printed table, `report.json`, `runs.json` and the picture agree with one
/// another; bad scenario files and options are refused with the reason.
#[test]
fn eval_reports_every_run_and_refuses_bad_scenarios() {
    let dir = std::env::temp_dir().join(format!("g1d_eval_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let scen = dir.join("s.yaml");
    std::fs::write(
        &scen,
        "scenarios:\n  - name: short_post\n    task: obstacles\n    seconds: 1.5\n    goal: [3.0, 0.0]\n    obstacles:\n      - {shape: cylinder, center: [1.5, 0.0], radius: 0.3, height: 1.5}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let stdout = ok(&[
        "eval",
        "--scenarios",
        s(&scen),
        "--runs",
        "2",
        "--seed",
        "5",
        "--baseline",
        "expert",
        "--out",
        s(&out),
    ]);
    assert!(
        stdout.contains("| short_post | diffusion | deployed | 2 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| short_post | expert | deployed | 2 |"),
        "{stdout}"
    );
    // The file table is the printed one.
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(stdout.starts_with(&table), "{stdout}\n---\n{table}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let groups: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    let (report, groups) = (report.as_array().unwrap(), groups.as_array().unwrap());
    assert_eq!((report.len(), groups.len()), (2, 2));
    for (r, g) in report.iter().zip(groups) {
        assert_eq!(r["controller"], g["controller"]);
        let runs = g["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        // Seeds: `--seed` × 1 000 003 + run index, as documented, distinct per run.
        let seeds: Vec<u64> = runs.iter().map(|x| x["seed"].as_u64().unwrap()).collect();
        assert_eq!(seeds, vec![5 * 1_000_003, 5 * 1_000_003 + 1]);
        let count = |k: &str| runs.iter().filter(|x| x[k] == true).count() as u64;
        assert_eq!(r["successes"].as_u64(), Some(count("success")), "{r}\n{g}");
        assert_eq!(r["falls"].as_u64(), Some(count("fell")), "{r}\n{g}");
        let contacts: u64 = runs.iter().map(|x| x["contacts"].as_u64().unwrap()).sum();
        assert_eq!(r["contacts"].as_u64(), Some(contacts));
        for x in runs {
            // 1.5 s from standing: the goal 3 m away is out of reach, and the run ends where
            // it walked to (never behind the start, never past the post).
            assert_eq!(x["success"], false, "{x}");
            let end = x["end_xy"].as_array().unwrap();
            let (ex, ey) = (end[0].as_f64().unwrap(), end[1].as_f64().unwrap());
            assert!((-0.3..1.3).contains(&ex) && ey.abs() < 0.5, "{x}");
            let err = x["final_error_m"].as_f64().unwrap();
            assert!(((3.0 - ex).hypot(ey) - err).abs() < 1e-9, "{x}");
            assert_eq!(x["fell"] == true, x["fall_time_s"].is_number(), "{x}");
        }
    }
    assert_eq!(report[0]["controller"], "diffusion");
    assert_eq!(report[0]["profile"], "deployed");
    let latency = report[0]["latency"].as_str().unwrap();
    assert!(latency.contains("plan_latency.json"), "{latency}");
    assert!(report[0]["plan_latency_ms_p50"].as_f64().unwrap() > 0.0);

    // The latency model, not the wall clock, decides when plans land: the same eval with both
    // cores busy beside it gives the same runs, fall times and end points to the last digit.
    let runs_idle = std::fs::read_to_string(out.join("runs.json")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let out2 = dir.join("out_busy");
    let steps = dir.join("steps");
    ok(&[
        "eval",
        "--scenarios",
        s(&scen),
        "--runs",
        "2",
        "--seed",
        "5",
        "--steps",
        s(&steps),
        "--out",
        s(&out2),
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.into_iter().for_each(|b| b.join().unwrap());
    let runs_busy = std::fs::read_to_string(out2.join("runs.json")).unwrap();
    let diffusion = |t: &str| {
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        v.as_array().unwrap()[0].clone()
    };
    assert_eq!(diffusion(&runs_idle), diffusion(&runs_busy));
    // `--steps`: one CSV per diffusion run, a row per control step, ending where the run did.
    for run in diffusion(&runs_busy)["runs"].as_array().unwrap() {
        let seed = run["seed"].as_u64().unwrap();
        let csv =
            std::fs::read_to_string(steps.join(format!("short_post_seed{seed}.csv"))).unwrap();
        let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        assert!(
            rows[0].starts_with(&["time_s", "x_m", "y_m"]),
            "{:?}",
            rows[0]
        );
        let last = rows.last().unwrap();
        let end = run["end_xy"].as_array().unwrap();
        if run["fell"] == false {
            assert_eq!(rows.len(), 1 + 75, "1.5 s at 50 Hz");
        }
        for i in 0..2 {
            let (csv_v, json_v) = (
                last[1 + i].parse::<f64>().unwrap(),
                end[i].as_f64().unwrap(),
            );
            assert!((csv_v - json_v).abs() < 1e-3, "{csv_v} {json_v}");
        }
    }
    let png = std::fs::read(out.join("short_post.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // Bad input: a missing goal, an unknown key, a bad option, each named.
    for (yaml, says) in [
        (
            "scenarios:\n  - {name: x, task: waypoint}\n",
            "needs a goal",
        ),
        (
            "scenarios:\n  - {name: x, task: waypoint, goal: [1, 0], speeed: 1}\n",
            "speeed",
        ),
        ("scenarios:\n  - {name: x, task: fly}\n", "fly"),
    ] {
        std::fs::write(&scen, yaml).unwrap();
        let err = fails(&[
            "eval",
            "--scenarios",
            s(&scen),
            "--runs",
            "1",
            "--out",
            s(&out),
        ]);
        assert!(err.contains(says), "{yaml}: {err}");
    }
    let err = fails(&["eval", "--runs", "0", "--out", s(&out)]);
    assert!(err.contains("--runs"), "{err}");
    let err = fails(&["eval", "--runs", "1", "--baseline", "pid", "--out", s(&out)]);
    assert!(err.contains("pid"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The joint-space state (the baseline of the state-representation table): bags built with
/// `--state joint-space`, a model trained, exported (ONNX Runtime and libtorch agree on its
/// 70-number states) and driven by `g1d eval`; a course with obstacles is refused, since the
/// obstacle costs need body positions.
#[test]
fn joint_space_models_train_export_and_drive_but_refuse_obstacles() {
    let tmp = std::env::temp_dir().join(format!("g1d_joint_cli_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let policy = repo().join("assets/policies/velocity_mjlab");
    let (bags, ds) = (tmp.join("bags"), tmp.join("ds.safetensors"));
    ok(&[
        "collect",
        "--policy",
        s(&policy),
        "--sim-hours",
        "0.02",
        "--episode-seconds",
        "6",
        "--seed",
        "3",
        "--out",
        s(&bags),
    ]);
    let built: serde_json::Value = serde_json::from_str(&ok(&[
        "dataset",
        "build",
        s(&bags),
        "--out",
        s(&ds),
        "--state",
        "joint-space",
        "--json",
    ]))
    .unwrap();
    assert_eq!(built["layout"], "joint_space", "{built}");
    assert_eq!(built["state_mean"].as_array().unwrap().len(), 70);
    let e = fails(&[
        "dataset",
        "build",
        s(&bags),
        "--out",
        s(&ds),
        "--force",
        "--state",
        "joints",
    ]);
    assert!(e.contains("joint-space"), "{e}");

    let opts = tmp.join("opts.yaml");
    std::fs::write(&opts, "val_every: 15\nlog_every: 5\nval_fraction: 0.2\n").unwrap();
    let run = tmp.join("run");
    let summary: serde_json::Value = serde_json::from_str(&ok(&[
        "train",
        "--data",
        s(&ds),
        "--config",
        "tiny",
        "--steps",
        "30",
        "--threads",
        "1",
        "--options",
        s(&opts),
        "--out",
        s(&run),
        "--json",
    ]))
    .unwrap();
    assert!(
        summary["final_val_loss"].as_f64().unwrap() < summary["initial_val_loss"].as_f64().unwrap(),
        "{summary}"
    );
    let model = tmp.join("model");
    ok(&["export", s(&run), "--out", s(&model)]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["state_layout"], "joint_space");
    assert_eq!(m["state_dim"], 70);
    assert_eq!(m["state_names"][12], "joint_pos.left_hip_pitch");
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "model",
        "check",
        s(&model),
        "--checkpoint",
        s(&run),
        "--data",
        s(&ds),
        "--json",
    ]))
    .unwrap();
    assert!(
        report["max_abs_diff_real"].as_f64().unwrap() < 1e-4,
        "{report}"
    );

    // Driven through the deployed chain on a joystick command: it plans (whatever a 30-step
    // model does with the robot).
    let scen = tmp.join("s.yaml");
    std::fs::write(
        &scen,
        "scenarios:\n  - name: walk\n    task: joystick\n    commands: [[0.3, 0, 0, 2]]\n",
    )
    .unwrap();
    let out = tmp.join("out");
    let eval = [
        "eval",
        "--scenarios",
        s(&scen),
        "--runs",
        "1",
        "--model",
        s(&model),
        "--out",
        s(&out),
    ];
    ok(&eval);
    let groups: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    let fresh = groups[0]["runs"][0]["fresh_share"].as_f64();
    assert!(fresh.is_some_and(|f| f > 0.5), "{groups}");
    std::fs::write(
        &scen,
        "scenarios:\n  - name: course\n    task: obstacles\n    seconds: 5\n    goal: [2.0, 0.0]\n    obstacles:\n      - {shape: cylinder, center: [1.0, 0.0], radius: 0.2, height: 1.0}\n",
    )
    .unwrap();
    let e = fails(&eval);
    assert!(e.contains("Body-Pos") && e.contains("joint_space"), "{e}");
    std::fs::remove_dir_all(&tmp).ok();
}
