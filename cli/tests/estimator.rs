//! The state estimator's targets (issue: ≤ 5 % position drift per metre walked, ≤ 0.1 m/s
//! velocity RMSE) against simulator truth, with noise-free and with noisy sensors.

use std::process::Command;

fn run(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["bench", "estimator", "--seconds", "20", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn kalman_filter_meets_drift_and_velocity_targets() {
    for extra in [&[][..], &["--sensor-noise", "--seed", "3"][..]] {
        let r = run(extra);
        assert_eq!(r["fell"], false, "{r}");
        let walked = r["distance_walked_m"].as_f64().unwrap();
        assert!(walked > 5.0, "the expert walked only {walked} m: {r}");
        let drift = r["drift_per_metre"].as_f64().unwrap();
        let v = r["velocity_rmse_mps"].as_f64().unwrap();
        assert!(drift <= 0.05, "drift {:.1} % per metre: {r}", drift * 100.0);
        assert!(v <= 0.1, "velocity RMSE {v} m/s: {r}");
        assert!(r["height_rmse_m"].as_f64().unwrap() < 0.05, "{r}");
    }
}

/// Pushes (the walk + perturb scenario's instantaneous velocity changes, which the
/// accelerometer never sees): the filter's impulse detection takes them up faster than the
/// filter alone — the velocity error in the 100 ms after each push is smaller with it on.
#[test]
fn impulse_detection_follows_pushes_faster() {
    let off = std::env::temp_dir().join(format!("g1d_kf_off_{}.yaml", std::process::id()));
    std::fs::write(&off, "impulse_mps: 0\n").unwrap();
    for seed in ["1", "2"] {
        let base = ["--pushes", "--sensor-noise", "--seed", seed];
        let on = run(&base);
        let without = run(&[&base[..], &["--kalman", off.to_str().unwrap()]].concat());
        for r in [&on, &without] {
            assert_eq!(r["fell"], false, "{r}");
            assert!(r["pushes"].as_u64().unwrap() >= 15, "{r}");
        }
        let (a, b) = (
            on["after_push_velocity_rmse_mps"].as_f64().unwrap(),
            without["after_push_velocity_rmse_mps"].as_f64().unwrap(),
        );
        assert!(
            a < 0.85 * b,
            "seed {seed}: after pushes {a} m/s with, {b} m/s without"
        );
        // And the position still drifts within the target.
        assert!(on["drift_per_metre"].as_f64().unwrap() <= 0.05, "{on}");
    }
    std::fs::remove_file(off).ok();
}
