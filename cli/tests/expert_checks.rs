//! The foundation issue's acceptance checks, run through the real `g1d` binary.

use std::path::PathBuf;
use std::process::Command;

use g1_testkit::repo;

fn g1d(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run g1d");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn sim_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["sim", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = g1d(&all);
    assert!(ok, "g1d {all:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON {out}: {e}"))
}

#[test]
fn velocity_policy_walks_forward_for_seeds_0_to_4() {
    for seed in 0..5 {
        let s = seed.to_string();
        let j = sim_json(&[
            "--policy",
            "assets/policies/velocity_mjlab",
            "--command",
            "0.5,0,0",
            "--seconds",
            "10",
            "--seed",
            &s,
        ]);
        assert_eq!(j["fell"], false, "seed {seed}: {j}");
        assert!(j["fall_time_s"].is_null());
        let d = j["distance_m"].as_f64().unwrap();
        assert!(d >= 3.5, "seed {seed}: walked only {d} m");
        assert!(j["joint_rmse_rad"].is_null());
        assert!(j["realtime_factor"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn velocity_policy_turns() {
    let j = sim_json(&[
        "--policy",
        "assets/policies/velocity_mjlab",
        "--command",
        "0.5,0,0.8",
        "--seconds",
        "10",
    ]);
    assert_eq!(j["fell"], false, "{j}");
    let wz = j["mean_velocity"][2].as_f64().unwrap();
    assert!(wz >= 0.6, "mean yaw rate {wz}");
}

#[test]
fn velocity_policy_survives_pushes() {
    let j = sim_json(&[
        "--policy",
        "assets/policies/velocity_mjlab",
        "--command",
        "0.5,0,0",
        "--seconds",
        "10",
        "--pushes",
        "--seed",
        "3",
    ]);
    assert!(j["pushes"].as_u64().unwrap() >= 9, "{j}");
    assert_eq!(j["fell"], false, "{j}");
}

#[test]
fn dance_policy_tracks_its_whole_clip() {
    let j = sim_json(&["--policy", "assets/policies/mimic_dance1_subject2_mjlab"]);
    assert_eq!(j["fell"], false, "{j}");
    assert!(j["seconds"].as_f64().unwrap() > 131.0, "{j}");
    let e = j["joint_rmse_rad"].as_f64().unwrap();
    assert!(e <= 0.2, "joint RMSE {e}");
}

#[test]
fn isaaclab_gangnam_policy_dances_its_window() {
    let j = sim_json(&["--policy", "assets/policies/mimic_gangnam_style_isaaclab"]);
    assert_eq!(j["fell"], false, "{j}");
    // Unitree's config plays 5.2 s to 25.5 s of the clip.
    assert!((j["seconds"].as_f64().unwrap() - 20.3).abs() < 0.05, "{j}");
    assert!(j["joint_rmse_rad"].as_f64().unwrap() < 0.2, "{j}");
}

/// Copies a shipped policy into a scratch directory with an edited deploy.yaml.
fn edited_policy(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let src = repo().join("assets/policies/velocity_mjlab");
    let dir = std::env::temp_dir().join(format!("g1d_test_{name}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["policy.onnx", "policy.onnx.data"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let yaml = std::fs::read_to_string(src.join("deploy.yaml")).unwrap();
    std::fs::write(dir.join("deploy.yaml"), edit(yaml)).unwrap();
    dir
}

/// Runs `g1d sim` on an edited copy of the walking policy and returns its error output.
fn sim_error(name: &str, edit: impl Fn(String) -> String) -> String {
    let dir = edited_policy(name, edit);
    let (ok, _, err) = g1d(&["sim", "--policy", dir.to_str().unwrap(), "--seconds", "1"]);
    std::fs::remove_dir_all(dir).ok();
    assert!(!ok, "the edited policy `{name}` was accepted");
    err
}

#[test]
fn unknown_term_is_a_clear_error() {
    let err = sim_error("unknown", |y| {
        y.replace("  projected_gravity:", "  feet_air_time:")
    });
    assert!(
        err.contains("unknown observation term `feet_air_time`"),
        "{err}"
    );
}

#[test]
fn scale_size_mismatch_names_the_term_and_both_sizes() {
    let err = sim_error("scale", |y| {
        y.replace("scale: [ 1.0, 1.0, 1.0 ]", "scale: [1.0, 1.0]")
    });
    assert!(
        err.contains("velocity_commands") && err.contains("expected 3") && err.contains("found 2"),
        "{err}"
    );
}

#[test]
fn observation_width_mismatch_with_the_network_is_caught() {
    let err = sim_error("width", |y| {
        y.replace(
            "    history_length: 1\n  projected_gravity",
            "    history_length: 2\n  projected_gravity",
        )
    });
    assert!(
        err.contains("expected 96")
            && err.contains("found 99")
            && err.contains("base_ang_vel[3×2]"),
        "{err}"
    );
}

#[test]
fn out_of_range_command_and_missing_policy_are_refused() {
    let (ok, _, err) = g1d(&[
        "sim",
        "--policy",
        "assets/policies/velocity_mjlab",
        "--command",
        "3,0,0",
    ]);
    assert!(
        !ok && err.contains("outside the policy's trained ranges"),
        "{err}"
    );
    let (ok, _, err) = g1d(&["sim", "--policy", "assets/policies/nope"]);
    assert!(!ok && err.contains("nope"), "{err}");
    let (ok, _, err) = g1d(&[
        "sim",
        "--policy",
        "assets/policies/velocity_mjlab",
        "--command",
        "1,x,0",
    ]);
    assert!(!ok && err.contains("`x`"), "{err}");
}

#[test]
fn beyondmimic_export_built_from_a_shipped_policy_runs() {
    // The fixture is made by the repository itself (scripts/make_beyondmimic_fixture.py):
    // obs [1,160] + time_step, reference baked into the graph, CSV metadata_props.
    let out = std::env::temp_dir().join(format!("g1d_bm_fixture_{}.onnx", std::process::id()));
    let py = g1_testkit::python();
    let status = Command::new(&py)
        .args([
            "scripts/make_beyondmimic_fixture.py",
            "--seconds",
            "8",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(repo())
        .status()
        .expect("run the fixture builder with the .venv Python (make setup)");
    assert!(status.success());
    let j = sim_json(&["--policy", out.to_str().unwrap()]);
    std::fs::remove_file(&out).ok();
    assert_eq!(j["kind"], "motion_tracking");
    assert_eq!(j["steps"], 401, "{j}");
    assert_eq!(j["fell"], false, "{j}");
    let e = j["joint_rmse_rad"].as_f64().unwrap();
    assert!(e < 0.2, "joint RMSE {e}");
}
