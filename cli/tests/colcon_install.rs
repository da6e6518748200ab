//! `colcon build` of the package on a machine without ROS 2 (Debian's colcon and CMake): the
//! install holds every executable and file the launch files name, in the ament layout;
//! installed executables load their libraries, assets and policy from the install; and after
//! sourcing the install's setup file, `g1d up g1_diffusion sim.launch.xml` runs from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use g1_nodes::launch::read_launch;
use g1_testkit::repo;

/// A colcon workspace with the package in `src/`, built from this test build's executables.
fn colcon_build(ws: &Path, bin_dir: &Path) -> PathBuf {
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::os::unix::fs::symlink(repo(), ws.join("src/g1_diffusion")).unwrap();
    let out = Command::new("colcon")
        .args([
            "build",
            "--event-handlers",
            "console_direct+",
            "--cmake-args",
        ])
        .arg(format!("-DG1D_BIN_DIR={}", bin_dir.display()))
        .current_dir(ws)
        .output()
        .expect("colcon (Debian: colcon python3-colcon-ros python3-colcon-cmake; make setup)");
    assert!(
        out.status.success(),
        "colcon build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("interfaces are skipped"), "{log}");
    ws.join("install/g1_diffusion")
}

#[test]
fn colcon_build_installs_what_the_launch_files_name_and_g1d_up_runs_from_it() {
    // Cargo builds g1d and the node executables of the workspace into one directory.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_g1d")).parent().unwrap();
    for e in g1_nodes::EXECUTABLES {
        assert!(
            bin_dir.join(e).is_file(),
            "{} missing: build the workspace (cargo test --workspace)",
            bin_dir.join(e).display()
        );
    }
    let ws = std::env::temp_dir().join(format!("g1d_colcon_{}", std::process::id()));
    std::fs::remove_dir_all(&ws).ok();
    let prefix = colcon_build(&ws, bin_dir);
    let share = prefix.join("share/g1_diffusion");
    assert!(prefix
        .join("share/ament_index/resource_index/packages/g1_diffusion")
        .is_file());
    for f in [
        "package.xml",
        "rviz/g1.rviz",
        "urdf/g1.urdf",
        "config/g1.params.yaml",
        "srv/SetMode.srv",
        "msg/JointTargets.msg",
    ] {
        assert!(share.join(f).is_file(), "{f} missing");
    }
    // Every mesh the installed URDF names resolves to a file of the install.
    let urdf = std::fs::read_to_string(share.join("urdf/g1.urdf")).unwrap();
    let meshes: Vec<&str> = urdf
        .split("package://g1_diffusion/")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(meshes.len() >= 30, "{} meshes", meshes.len());
    for m in &meshes {
        assert!(share.join(m).is_file(), "URDF mesh {m} not installed");
    }
    assert!(!urdf.contains("filename=\"meshes/"));
    // Every launch file the install carries, not a list kept by hand.
    let mut launches: Vec<String> = std::fs::read_dir(share.join("launch"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".launch.xml"))
        .collect();
    launches.sort();
    assert!(launches.len() >= 5, "{launches:?}");
    for launch in &launches {
        let nodes = read_launch(&share.join("launch").join(launch), &share, &[]).unwrap();
        assert!(nodes.iter().any(|n| n.pkg == "g1_diffusion"), "{launch}");
        if launch.starts_with("sim") || launch.starts_with("robot") {
            assert!(nodes.iter().any(|n| n.exec == "g1_bridge"), "{launch}");
        }
        for n in nodes.iter().filter(|n| n.pkg == "g1_diffusion") {
            let exe = prefix.join("lib/g1_diffusion").join(&n.exec);
            assert!(exe.is_file(), "{launch}: {} not installed", exe.display());
            for f in &n.params_files {
                assert!(
                    f.starts_with(&share) && f.is_file(),
                    "{launch}: {} is not an installed file",
                    f.display()
                );
            }
        }
    }
    // An installed executable starts from the install: it loads libmujoco and ONNX Runtime and
    // finds the robot model (the simulator node builds its MuJoCo scene), then rejects a bad
    // parameter by name — which it can only do after parsing its arguments.
    let sim = Command::new(prefix.join("lib/g1_diffusion/g1_sim"))
        .args(["--ros-args", "-p", "timestep_s:=0.003"])
        .env_remove("G1D_ASSETS")
        .env_remove("ORT_DYLIB_PATH")
        .env("ROS_DOMAIN_ID", "99")
        .current_dir(&prefix)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&sim.stderr);
    assert!(!sim.status.success());
    assert!(err.contains("timestep_s"), "{err}");
    let expert = Command::new(prefix.join("lib/g1_diffusion/g1_expert"))
        .args(["--ros-args", "-p", "policy:=policies/nope"])
        .env("ROS_DOMAIN_ID", "99")
        .current_dir(&prefix)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&expert.stderr);
    assert!(
        err.contains("share/g1_diffusion/assets/policies/nope"),
        "the installed expert looks for policies in the install: {err}"
    );
    // After sourcing the install's setup file, the installed g1d finds the package on
    // AMENT_PREFIX_PATH as `ros2 launch` does, and runs its simulated chain from the install:
    // parameter files, robot model, policy and libraries all from there.
    let summary = ws.join("summary.json");
    let script = format!(
        ". {}/setup.sh && echo \"AMENT_PREFIX_PATH=$AMENT_PREFIX_PATH\" >&2 && \
         exec {} up g1_diffusion sim.launch.xml --seconds 4 --summary {}",
        ws.join("install").display(),
        prefix.join("lib/g1_diffusion/g1d").display(),
        summary.display()
    );
    let up = Command::new("sh")
        .args(["-c", &script])
        .env_remove("AMENT_PREFIX_PATH")
        .env_remove("G1D_ASSETS")
        .env_remove("ORT_DYLIB_PATH")
        .env(
            "ROS_DOMAIN_ID",
            g1_testkit::test_domain(140 + std::process::id() % 20).to_string(),
        )
        .current_dir(&ws)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "{log}");
    assert!(
        log.contains(&format!("AMENT_PREFIX_PATH={}", prefix.display())),
        "{log}"
    );
    let params = share.join("config/g1.params.yaml");
    assert!(
        log.contains(&format!("g1_sim as /g1_sim ({})", params.display())),
        "the chain did not read the installed parameter file: {log}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["fell"], false, "{s}");
    std::fs::remove_dir_all(&ws).ok();
}
