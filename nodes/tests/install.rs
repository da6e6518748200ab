//! The install layout (scripts/install.sh) and the launch files against it: every executable
//! and file the launch files name exists in the install, and an installed executable runs
//! from there (finds its libraries and assets).

use std::path::Path;
use std::process::Command;

use g1_nodes::launch::read_launch;

use g1_testkit::repo;

#[test]
fn install_layout_serves_the_launch_files() {
    // Cargo builds this package's executables for its integration tests.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_g1_sim")).parent().unwrap();
    let prefix = std::env::temp_dir().join(format!("g1d_install_{}", std::process::id()));
    let out = Command::new("bash")
        .arg(repo().join("scripts/install.sh"))
        .args(["--prefix", prefix.to_str().unwrap()])
        .args(["--bin-dir", bin_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let share = prefix.join("share/g1_diffusion");
    assert!(prefix
        .join("share/ament_index/resource_index/packages/g1_diffusion")
        .is_file());
    for f in [
        "package.xml",
        "rviz/g1.rviz",
        "urdf/g1.urdf",
        "config/g1.params.yaml",
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
    // With its default parameters the installed expert loads ONNX Runtime and the policy from
    // the install and keeps running (waiting for /joint_states).
    let mut running = Command::new(prefix.join("lib/g1_diffusion/g1_expert"))
        .args(["--ros-args", "-r", "__node:=installed_expert"])
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("G1D_ASSETS")
        .env("ROS_DOMAIN_ID", "99")
        .current_dir(&prefix)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let still = running.try_wait().unwrap();
    running.kill().ok();
    let out = running.wait_with_output().unwrap();
    assert!(
        still.is_none(),
        "the installed expert exited: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&prefix).ok();
}
