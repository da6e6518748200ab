//! What the `ros2` command-line tools ask of the suite, asked by an independent ROS 2 peer
//! speaking rmw_cyclonedds' formats (scripts/ros2_peer.py on the Python Cyclone DDS binding):
//! the node graph (`ros_discovery_info`, as `ros2 node list` reads it), `/rosout`, the
//! parameter services (`ros2 param`), the bridge's mode service and the planner's reset
//! (`ros2 service call`), against the chains `g1d up` starts from the launch files.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use g1_msgs::diagnostic_msgs::DiagnosticArray;
use g1_msgs::geometry_msgs::Twist;
use g1_ros::dds::{take_all, QosPreset};

mod common;

/// Runs the peer; its one JSON line.
fn ros2_peer(domain: u16, args: &[&str]) -> serde_json::Value {
    let out = Command::new(g1_testkit::python())
        .arg(common::repo().join("scripts/ros2_peer.py"))
        .args(args)
        .args(["--domain", &domain.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ros2_peer {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Stops the chain as Ctrl-C does (its nodes log what they still hold); its log.
fn finish(chain: Child) -> String {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(chain.id() as i32, libc::SIGINT);
    }
    let out = chain.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn node_graph_rosout_parameters_and_the_bridge_mode_service() {
    let domain = g1_testkit::test_domain(60 + std::process::id() % 20);
    // The launch's parameter file without the emulated remote's active chord (4.6 s in) and
    // with the gantry holding the G1 throughout: the bridge stays in standby however long the
    // peer's discovery takes on a loaded machine, so the requests below meet the mode they are
    // written for.
    let dir = g1_testkit::Scratch::new("ros2-tools");
    let file = std::fs::read_to_string(common::repo().join("config/g1.params.yaml")).unwrap();
    let standby_only = file
        .replace(
            r#"remote_script: ["0.5:L1+A", "4.6:R1+A"]"#,
            r#"remote_script: ["0.5:L1+A"]"#,
        )
        .replace("gantry_s: 5.0", "gantry_s: 600.0");
    assert_ne!(
        standby_only, file,
        "the parameter file's remote script changed"
    );
    let params = dir.join("params.yaml");
    std::fs::write(&params, standby_only).unwrap();
    let params_arg = format!("params:={}", params.display());
    let chain = common::up("launch/sim.launch.xml", &[&params_arg], domain, 40);
    // Every node of the launch file, as `ros2 node list` finds them, and a /rosout line of
    // the bridge (its standby transition).
    let g = ros2_peer(
        domain,
        &[
            "graph",
            "--seconds",
            "25",
            "--expect",
            "g1_sim,g1_bridge,g1_estimator,g1_expert",
            "--logged",
            "g1_bridge",
        ],
    );
    for name in ["g1_sim", "g1_bridge", "g1_estimator", "g1_expert"] {
        let n = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name);
        let n = n.unwrap_or_else(|| panic!("{name} is not in ros_discovery_info: {g}"));
        assert_eq!(n["namespace"], "/");
        assert!(n["readers"].as_u64().unwrap() >= 1, "{n}");
        assert!(n["writers"].as_u64().unwrap() >= 2, "{n}");
    }
    let bridge_log: Vec<&serde_json::Value> = g["rosout"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["name"] == "g1_bridge")
        .collect();
    assert!(
        bridge_log
            .iter()
            .any(|l| l["msg"].as_str().unwrap().contains("→ standby") && l["level"] == 20),
        "{bridge_log:?}"
    );
    assert!(bridge_log[0]["file"].as_str().unwrap().ends_with(".rs"));
    // ros2 param on the bridge: its parameters, read-only while it runs.
    let p = ros2_peer(
        domain,
        &[
            "param",
            "--node",
            "/g1_bridge",
            "--ops",
            r#"[["get", ["max_tilt_rad", "network_active"]], ["set", {"max_tilt_rad": 0.1}]]"#,
        ],
    );
    assert!(p[0][0].as_f64().unwrap() > 0.0, "{p}");
    assert_eq!(p[0][1], false, "{p}");
    assert_eq!(p[1][0]["successful"], false);
    assert!(p[1][0]["reason"]
        .as_str()
        .unwrap()
        .contains("read-only at run time"));
    // ros2 service call /g1_bridge/set_mode g1_diffusion/srv/SetMode: refused with the
    // reason, or done.
    let call = |mode: &str| {
        ros2_peer(
            domain,
            &["call", "--request", &format!(r#"{{"mode": "{mode}"}}"#)],
        )
    };
    let r = call("flying");
    assert_eq!(r["success"], false);
    assert!(
        r["message"].as_str().unwrap().contains("unknown mode"),
        "{r}"
    );
    let r = call("active");
    assert_eq!(r["success"], false);
    assert!(
        r["message"].as_str().unwrap().contains("network_active"),
        "{r}"
    );
    let r = call("damping");
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["mode"], "damping");
    let log = finish(chain);
    assert!(log.contains("standby → damping (request"), "{log}");
}

/// `ros2 param set` on the planner while it runs: a limit changes and the node's handling of
/// `cmd_vel` shows it (commands clamped that were not); bad values are refused with the
/// reason; `ros2 service call /g1_planner/reset std_srvs/srv/Trigger`.
#[test]
fn planner_parameters_change_its_behaviour_and_reset_clears_it() {
    let domain = g1_testkit::test_domain(80 + std::process::id() % 20);
    let chain = common::up(
        "launch/sim_diffusion.launch.xml",
        &["lockstep:=true"],
        domain,
        60,
    );
    let mut peer = common::peer(domain, "joystick");
    let cmd = peer
        .publisher::<Twist>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let diag = peer
        .subscription::<DiagnosticArray>("/diagnostics", QosPreset::Command)
        .unwrap();
    let clamped = |diag: &g1_ros::dds::Subscription<DiagnosticArray>| -> Option<u64> {
        take_all(diag)
            .0
            .iter()
            .flat_map(|d| &d.status)
            .filter(|s| s.name == "g1_planner: planning")
            .filter_map(|s| s.values.iter().find(|kv| kv.key == "clamped_inputs"))
            .filter_map(|kv| kv.value.parse().ok())
            .max()
    };
    // A 0.4 m/s command, inside the planner's limits: nothing clamped.
    let drive = |seconds: f64| {
        let t0 = Instant::now();
        let mut newest = None;
        while t0.elapsed().as_secs_f64() < seconds {
            let mut t = Twist::default();
            t.linear.x = 0.4;
            cmd.publish(t).ok();
            newest = clamped(&diag).or(newest);
            std::thread::sleep(Duration::from_millis(100));
        }
        newest
    };
    let before = drive(6.0);
    let p = ros2_peer(
        domain,
        &[
            "param",
            "--node",
            "/g1_planner",
            "--ops",
            r#"[["get", ["limits.vx_mps", "control.joystick_weight", "model"]],
                ["describe", ["limits.vx_mps", "model"]],
                ["set", {"limits.vx_mps": [-0.5, 0.3]}],
                ["set", {"control.joystick_weight": -1.0}],
                ["set", {"control.joystik_weight": 1.0}],
                ["set", {"model": "models/other"}],
                ["get", ["limits.vx_mps"]]]"#,
        ],
    );
    assert_eq!(p[0][0], serde_json::json!([-0.5, 1.0]), "{p}");
    assert!(p[0][1].as_f64().unwrap() > 0.0, "{p}");
    assert_eq!(p[0][2], "models/default");
    assert_eq!(p[1][0]["read_only"], false);
    assert_eq!(p[1][1]["read_only"], true);
    assert_eq!(p[2][0]["successful"], true, "{p}");
    for (i, why) in [(3, "control"), (4, "not declared"), (5, "read-only")] {
        assert_eq!(p[i][0]["successful"], false, "{p}");
        assert!(
            p[i][0]["reason"].as_str().unwrap().contains(why),
            "{why}: {p}"
        );
    }
    assert_eq!(p[6][0], serde_json::json!([-0.5, 0.3]));
    // The same command is clamped now.
    let after = drive(4.0);
    assert!(
        before.unwrap_or(0) == 0,
        "clamped before the change: {before:?}"
    );
    assert!(after.unwrap_or(0) > 0, "nothing clamped after: {after:?}");
    let r = ros2_peer(
        domain,
        &[
            "call",
            "--service",
            "/g1_planner/reset",
            "--type",
            "std_srvs/srv/Trigger",
            "--request",
            r#"{"structure_needs_at_least_one_member": 0}"#,
        ],
    );
    assert_eq!(r["success"], true, "{r}");
    let log = finish(chain);
    assert!(log.contains("parameters set: limits.vx_mps"), "{log}");
    assert!(log.contains("reset: plan and history cleared"), "{log}");
}
