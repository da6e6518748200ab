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
