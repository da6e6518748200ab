//! `g1d robustness` through the real binary: the JSON report, its files, determinism across
//! worker counts, policies that differ only in their deploy.yaml, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use g1_testkit::repo;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("g1d_rob_{name}_{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

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

/// A short test: 3 s episodes, three conditions (one only tracking policies run).
fn small_conditions(dir: &Path) -> PathBuf {
    let p = dir.join("conditions.yaml");
    std::fs::write(
        &p,
        "episode_seconds: 3.0\n\
         command_hold_s: [1.0, 1.5]\n\
         criteria: {max_early_termination_rate: 0.05, max_body_pos_err_m: 0.05, max_anchor_ori_err_deg: 10}\n\
         conditions:\n\
         \x20 - name: standard\n\
         \x20 - name: low_friction\n\
         \x20   friction: 0.3\n\
         \x20   action_delay_steps: 1\n\
         \x20 - name: motion_1.5x\n\
         \x20   motion_speed: 1.5\n",
    )
    .unwrap();
    p
}

fn report(policy: &str, conditions: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "robustness",
        "--policy",
        policy,
        "--episodes",
        "2",
        "--json",
        "--conditions",
        conditions.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = g1d(&args);
    assert!(ok, "g1d {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON object ({e}): {out}"))
}

#[test]
fn velocity_policy_report_has_every_condition_and_metric() {
    let dir = scratch("vel");
    let cond = small_conditions(&dir);
    let out = dir.join("out");
    let j = report(
        "assets/policies/velocity_mjlab",
        &cond,
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(j["kind"], "velocity");
    let conds = j["conditions"].as_array().unwrap();
    let names: Vec<&str> = conds.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["standard", "low_friction"]);
    assert_eq!(j["skipped"][0]["name"], "motion_1.5x");
    for c in conds {
        assert_eq!(c["episodes"], 2);
        for key in [
            "success_rate",
            "fall_rate",
            "lin_vel_corr",
            "ang_vel_corr",
            "command_lin_err_mps",
            "command_ang_err_radps",
        ] {
            assert!(c[key].is_number(), "{key} missing in {c}");
        }
        // Tracking metrics do not apply to a velocity policy.
        assert!(c["body_pos_err_mean_m"].is_null());
        assert!(c["contact_agreement"].is_null());
    }
    assert_eq!(conds[0]["success_rate"], 1.0, "{}", conds[0]);
    assert!(conds[0]["lin_vel_corr"].as_f64().unwrap() > 0.5);
    // The files: the same report, a table naming each condition, and PNG charts.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(file["conditions"], j["conditions"]);
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(table.contains("| standard | 2 |") && table.contains("| low_friction | 2 |"));
    for chart in [
        "success_rate.png",
        "lin_vel_corr.png",
        "command_lin_err.png",
    ] {
        let bytes = std::fs::read(out.join(chart)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{chart}");
    }
    assert!(!out.join("body_pos_err.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn results_do_not_depend_on_the_number_of_workers() {
    let dir = scratch("workers");
    let cond = small_conditions(&dir);
    let policy = "assets/policies/mimic_dance1_subject2_mjlab";
    let one = report(policy, &cond, &["--workers", "1"]);
    let two = report(policy, &cond, &["--workers", "2"]);
    assert_eq!(one["conditions"], two["conditions"]);
    // Tracking metrics are all there, and the faster motion was run.
    let conds = one["conditions"].as_array().unwrap();
    assert_eq!(conds.len(), 3);
    for c in conds {
        for key in [
            "body_pos_err_mean_m",
            "body_pos_err_p95_m",
            "anchor_ori_err_mean_deg",
            "joint_rmse_rad",
            "contact_agreement",
            "contact_detector_agreement",
        ] {
            assert!(c[key].is_number(), "{key} missing in {c}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A policy whose joints come in another order and whose observation carries longer histories
/// is only a different deploy.yaml (the ONNX wrapped to match): the same report.
#[test]
fn reordered_joints_and_longer_histories_need_no_code_change() {
    let dir = scratch("variant");
    let cond = small_conditions(&dir);
    for (policy, args) in [
        (
            "velocity_mjlab",
            ["--permute-seed", "7", "--history", "base_ang_vel=3"],
        ),
        (
            "mimic_dance1_subject2_mjlab",
            ["--permute-seed", "3", "--history", "motion_command=2"],
        ),
    ] {
        let src = format!("assets/policies/{policy}");
        let variant = dir.join(policy);
        let status = Command::new(g1_testkit::python())
            .arg("scripts/make_policy_variant.py")
            .args(["--policy", &src, "--out", variant.to_str().unwrap()])
            .args(args)
            .current_dir(repo())
            .output()
            .expect("run the variant builder with the .venv Python (make setup)");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let yaml = std::fs::read_to_string(variant.join("deploy.yaml")).unwrap();
        let original = std::fs::read_to_string(repo().join(&src).join("deploy.yaml")).unwrap();
        assert_ne!(yaml, original);
        let a = report(&src, &cond, &[]);
        let b = report(variant.to_str().unwrap(), &cond, &[]);
        assert_eq!(a["conditions"], b["conditions"], "{policy}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_conditions_and_arguments_are_clear_errors() {
    let dir = scratch("bad");
    let cases = [
        ("unknown.yaml", "episode_seconds: 3\ncriteria: {max_early_termination_rate: 0.05, max_body_pos_err_m: 0.05, max_anchor_ori_err_deg: 10}\nconditions:\n  - name: a\n    frction: 0.3\n", "frction"),
        ("friction.yaml", "episode_seconds: 3\ncriteria: {max_early_termination_rate: 0.05, max_body_pos_err_m: 0.05, max_anchor_ori_err_deg: 10}\nconditions:\n  - name: slippery\n    friction: 9\n", "condition slippery: friction 9"),
        ("twice.yaml", "episode_seconds: 3\ncriteria: {max_early_termination_rate: 0.05, max_body_pos_err_m: 0.05, max_anchor_ori_err_deg: 10}\nconditions:\n  - name: a\n  - name: a\n", "appears twice"),
        ("none.yaml", "episode_seconds: 3\ncriteria: {max_early_termination_rate: 0.05, max_body_pos_err_m: 0.05, max_anchor_ori_err_deg: 10}\nconditions: []\n", "no conditions"),
    ];
    for (file, text, expect) in cases {
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        let (ok, _, err) = g1d(&[
            "robustness",
            "--policy",
            "assets/policies/velocity_mjlab",
            "--conditions",
            p.to_str().unwrap(),
        ]);
        assert!(!ok, "{file} accepted");
        assert!(err.contains(expect) && err.contains(file), "{file}: {err}");
    }
    let (ok, _, err) = g1d(&[
        "robustness",
        "--policy",
        "assets/policies/velocity_mjlab",
        "--episodes",
        "0",
    ]);
    assert!(!ok && err.contains("--episodes 0"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `g1d collect --max-fall-rate`: screening episodes decide before anything is recorded; the
/// summary gives the fall rate per policy and per condition.
#[test]
fn collect_refuses_a_policy_that_falls_too_often() {
    let dir = scratch("collect");
    let refused = dir.join("refused");
    let (ok, _, err) = g1d(&[
        "collect",
        "--policy",
        "assets/policies/mimic_gangnam_style_isaaclab",
        "--sim-hours",
        "0.005",
        "--episode-seconds",
        "5",
        "--max-fall-rate",
        "0",
        "--screen-episodes",
        "8",
        "--out",
        refused.to_str().unwrap(),
    ]);
    assert!(!ok, "a policy that fell in screening was accepted: {err}");
    assert!(
        err.contains("refusing to collect with mimic_gangnam_style_isaaclab"),
        "{err}"
    );
    assert!(!refused.exists(), "something was recorded");
    let kept = dir.join("kept");
    let (ok, out, err) = g1d(&[
        "collect",
        "--policy",
        "assets/policies/velocity_mjlab",
        "--sim-hours",
        "0.005",
        "--episode-seconds",
        "6",
        "--max-fall-rate",
        "0",
        "--screen-episodes",
        "4",
        "--out",
        kept.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("screening: velocity_mjlab") && err.contains("4 episodes,    0 falls"),
        "{err}"
    );
    assert!(
        out.contains("velocity_mjlab") && out.contains("delay "),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A BeyondMimic export (reference inside the graph, built by the repository's fixture script
/// from the shipped dance policy) runs the same test: random start phases in the reference's
/// pose, tracking metrics from the graph's reference.
#[test]
fn beyondmimic_export_runs_the_robustness_test() {
    let dir = scratch("bm");
    let cond = small_conditions(&dir);
    let onnx = dir.join("bm.onnx");
    let out = Command::new(g1_testkit::python())
        .args(["scripts/make_beyondmimic_fixture.py", "--seconds", "20"])
        .args(["--out", onnx.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .expect("run the fixture builder with the .venv Python (make setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = report(onnx.to_str().unwrap(), &cond, &[]);
    assert_eq!(j["kind"], "motion_tracking");
    let standard = &j["conditions"][0];
    assert_eq!(standard["name"], "standard");
    assert_eq!(standard["fall_rate"], 0.0, "{standard}");
    let body = standard["body_pos_err_mean_m"].as_f64().unwrap();
    assert!(body > 0.0 && body < 0.06, "{standard}");
    assert!(
        standard["contact_agreement"].as_f64().unwrap() > 0.5,
        "{standard}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
