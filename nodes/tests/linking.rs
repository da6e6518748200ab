//! The robot's executables link only their own node's code: no MuJoCo (the simulator's engine)
//! and no libtorch (training), read from the binaries' dynamic sections with `readelf -d`. The
//! simulator's executable is the control: it does need libmujoco.

use std::process::Command;

fn needed(path: &str) -> Vec<String> {
    let o = Command::new("readelf")
        .args(["-d", path])
        .output()
        .expect("readelf (binutils)");
    assert!(o.status.success(), "readelf -d {path}");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.trim_end_matches(']').to_string()))
        .collect()
}

#[test]
fn robot_executables_link_neither_mujoco_nor_libtorch() {
    for (exe, path) in [
        ("g1_bridge", env!("CARGO_BIN_EXE_g1_bridge")),
        ("g1_estimator", env!("CARGO_BIN_EXE_g1_estimator")),
        ("g1_planner", env!("CARGO_BIN_EXE_g1_planner")),
        ("g1_expert", env!("CARGO_BIN_EXE_g1_expert")),
        ("g1_teleop", env!("CARGO_BIN_EXE_g1_teleop")),
        ("g1_teleop_key", env!("CARGO_BIN_EXE_g1_teleop_key")),
        ("g1_recorder", env!("CARGO_BIN_EXE_g1_recorder")),
        ("g1_obstacles", env!("CARGO_BIN_EXE_g1_obstacles")),
        ("g1_sim_adapter", env!("CARGO_BIN_EXE_g1_sim_adapter")),
    ] {
        let libs = needed(path);
        assert!(
            !libs
                .iter()
                .any(|l| l.contains("mujoco") || l.contains("torch")),
            "{exe} needs {libs:?}"
        );
    }
    let sim = needed(env!("CARGO_BIN_EXE_g1_sim"));
    assert!(
        sim.iter().any(|l| l.contains("libmujoco")),
        "g1_sim needs {sim:?}"
    );
}
