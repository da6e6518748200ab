//! `g1d` links no libtorch: the commands that need it run in `g1d-torch`, which `g1d` hands
//! them to, so the suite's everyday commands (demo, eval, up, drive on ONNX Runtime) run on a
//! machine without libtorch.

use std::process::Command;

/// The shared libraries an executable asks the loader for (`readelf -d`).
fn needed(exe: &str) -> String {
    let out = Command::new("readelf")
        .args(["-d", exe])
        .output()
        .expect("readelf (binutils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn g1d_links_no_libtorch_and_hands_training_to_g1d_torch() {
    let g1d = env!("CARGO_BIN_EXE_g1d");
    let torch = env!("CARGO_BIN_EXE_g1d-torch");
    assert!(!needed(g1d).contains("libtorch"), "{}", needed(g1d));
    assert!(needed(torch).contains("libtorch"), "{}", needed(torch));

    // `g1d train` runs in g1d-torch: its error is the trainer's, about the missing dataset.
    let out = Command::new(g1d)
        .args(["train", "--data", "/nonexistent/g1.safetensors", "--out"])
        .arg(std::env::temp_dir().join(format!("g1d_split_{}", std::process::id())))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("/nonexistent/g1.safetensors"), "{err}");

    // Without g1d-torch beside it, g1d says what is missing instead of failing obscurely.
    let dir = std::env::temp_dir().join(format!("g1d_alone_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let alone = dir.join("g1d");
    std::fs::copy(g1d, &alone).unwrap();
    let out = Command::new(&alone)
        .args(["model", "check", "assets/models/default"])
        .current_dir(g1_testkit::repo())
        // MuJoCo, found through the build's $ORIGIN-relative run path before the copy.
        .env("LD_LIBRARY_PATH", g1_testkit::repo().join(".deps/lib"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("needs libtorch") && err.contains("g1d-torch"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
