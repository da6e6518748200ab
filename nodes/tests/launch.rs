//! Launch-file reading: arguments, substitutions, the argv tail each node gets, and errors.

use std::path::Path;

use g1_nodes::launch::{parse_launch, read_launch};
use g1_ros::NodeContext;

use g1_testkit::repo;

#[test]
fn sim_launch_resolves_to_the_argv_ros2_launch_would_pass() {
    let share = repo().canonicalize().unwrap();
    let nodes = read_launch(
        &share.join("launch/sim.launch.xml"),
        &share,
        &[("command".into(), "[0.3, 0.0, 0.1]".into())],
    )
    .unwrap();
    let execs: Vec<&str> = nodes.iter().map(|n| n.exec.as_str()).collect();
    assert_eq!(
        execs,
        [
            "g1_sim",
            "g1_bridge",
            "g1_estimator",
            "g1_expert",
            "robot_state_publisher"
        ]
    );
    let expert = &nodes[3];
    let argv = expert.ros_args();
    assert_eq!(argv[..3], ["--ros-args", "-r", "__node:=g1_expert"]);
    // The node's own argument layer reads it back: the file, then the overriding argument.
    let ctx = NodeContext::from_args_env("g1_expert", &argv, &|_| None).unwrap();
    assert_eq!(
        ctx.params.get("command").unwrap().to_string(),
        "[0.3, 0.0, 0.1]"
    );
    assert_eq!(
        ctx.params.sources["policy"],
        share.join("config/g1.params.yaml").display().to_string()
    );
    let cfg: g1_nodes::expert_node::ExpertConfig = ctx.config().unwrap();
    assert_eq!(cfg.command, vec![0.3, 0.0, 0.1]);
    // Every g1_diffusion node's configuration loads from the shared parameter file.
    for n in nodes.iter().filter(|n| n.pkg == "g1_diffusion") {
        let ctx = NodeContext::from_args_env(&n.exec, &n.ros_args(), &|_| None).unwrap();
        match n.exec.as_str() {
            "g1_sim" => drop(ctx.config::<g1_nodes::sim_node::SimNodeConfig>().unwrap()),
            "g1_bridge" => drop(ctx.config::<g1_bridge::BridgeConfig>().unwrap()),
            "g1_estimator" => drop(
                ctx.config::<g1_nodes::estimator_node::EstimatorConfig>()
                    .unwrap(),
            ),
            "g1_expert" => drop(ctx.config::<g1_nodes::expert_node::ExpertConfig>().unwrap()),
            other => panic!("unexpected {other}"),
        }
    }
    // The diffusion launch file's planner loads its nested planner/control settings.
    let nodes = read_launch(&share.join("launch/sim_diffusion.launch.xml"), &share, &[]).unwrap();
    let p = nodes.iter().find(|n| n.exec == "g1_planner").unwrap();
    let ctx = NodeContext::from_args_env("g1_planner", &p.ros_args(), &|_| None).unwrap();
    let cfg: g1_nodes::planner_node::PlannerNodeConfig = ctx.config().unwrap();
    assert_eq!(cfg.planner.guidance_scale, 5.0);
    assert_eq!(cfg.control.route_speed_mps, 0.6);
    // The shipped YAML says what the code's defaults are (what `g1d eval` measured).
    assert_eq!(cfg.planner, g1_control::PlannerConfig::default());
    assert_eq!(cfg.control, g1_control::ControlConfig::default());
}

#[test]
fn launch_errors_name_what_is_wrong() {
    let share = Path::new("/pkg");
    let ok = r#"<launch><arg name="a" default="1"/>
        <node pkg="g1_diffusion" exec="g1_bridge" name="b" namespace="/g1">
          <param name="x" value="$(var a)"/><remap from="in" to="/out"/>
        </node></launch>"#;
    let n = parse_launch(ok, share, &[]).unwrap();
    assert_eq!(
        n[0].ros_args(),
        [
            "--ros-args",
            "-r",
            "__node:=b",
            "-r",
            "__ns:=/g1",
            "-p",
            "x:=1",
            "-r",
            "in:=/out"
        ]
    );
    for (text, args, needle) in [
        (ok, vec![("zzz", "1")], "not an argument"),
        ("<launch><node pkg=\"g1_diffusion\" exec=\"x\"><param name=\"p\" value=\"$(var nope)\"/></node></launch>", vec![], "$(var nope)"),
        ("<launch><group/></launch>", vec![], "<group>"),
        ("<launch><arg name=\"r\"/></launch>", vec![], "no default"),
        ("<notlaunch/>", vec![], "<launch>"),
        ("<launch><node pkg=\"g1_diffusion\" exec=\"x\"><param name=\"p\" value=\"$(command ls)\"/></node></launch>", vec![], "$(command ls)"),
    ] {
        let args: Vec<(String, String)> =
            args.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let e = parse_launch(text, share, &args).unwrap_err();
        assert!(format!("{e:#}").contains(needle), "{text}: {e:#}");
    }
}

/// `robot.launch.xml controller:=expert|diffusion`: the `if` conditions start the chosen
/// controller's nodes and only those; an unknown controller starts no controller; unknown
/// node attributes and malformed conditions are errors, not ignored.
#[test]
fn robot_launch_starts_the_chosen_controller() {
    let share = repo().canonicalize().unwrap();
    let execs = |controller: &str| -> Vec<String> {
        read_launch(
            &share.join("launch/robot.launch.xml"),
            &share,
            &[("controller".into(), controller.into())],
        )
        .unwrap()
        .into_iter()
        .filter(|n| n.pkg == "g1_diffusion")
        .map(|n| n.exec)
        .collect()
    };
    assert_eq!(execs("expert"), ["g1_bridge", "g1_expert"]);
    assert_eq!(
        execs("diffusion"),
        ["g1_bridge", "g1_estimator", "g1_planner", "g1_teleop"]
    );
    assert_eq!(execs("none"), ["g1_bridge"]);
    // Every node of the diffusion set loads its configuration from the shared file.
    for n in read_launch(
        &share.join("launch/robot.launch.xml"),
        &share,
        &[("controller".into(), "diffusion".into())],
    )
    .unwrap()
    .iter()
    .filter(|n| n.exec == "g1_teleop")
    {
        let ctx = NodeContext::from_args_env(&n.exec, &n.ros_args(), &|_| None).unwrap();
        let cfg: g1_nodes::teleop_node::TeleopConfig = ctx.config().unwrap();
        assert_eq!(cfg.source, "remote");
    }
    let bad = |node: &str| {
        let xml = format!("<launch>{node}</launch>");
        format!("{:#}", parse_launch(&xml, &share, &[]).unwrap_err())
    };
    let e = bad(r#"<node pkg="g1_diffusion" exec="g1_sim" iff="false"/>"#);
    assert!(e.contains("`iff`"), "{e}");
    let e = bad(r#"<node pkg="g1_diffusion" exec="g1_sim" if="maybe"/>"#);
    assert!(e.contains("maybe"), "{e}");
    // `if="false"` and `unless="true"` skip the node; `respawn` is read.
    let xml = r#"<launch>
        <node pkg="g1_diffusion" exec="g1_sim" if="false"/>
        <node pkg="g1_diffusion" exec="g1_bridge" unless="true"/>
        <node pkg="g1_diffusion" exec="g1_planner" respawn="true"/>
      </launch>"#;
    let nodes = parse_launch(xml, &share, &[]).unwrap();
    assert_eq!(nodes.len(), 1);
    assert!(nodes[0].respawn);
}

/// The Isaac Sim and Gazebo setups name exactly the topics `g1_sim_adapter` offers with the
/// parameters their launch files give it (types included).
#[test]
fn simulator_setups_name_the_adapters_topics() {
    use g1_nodes::sim_adapter_node::{interface, SimAdapterConfig};
    let share = g1_testkit::repo();
    let adapter_interface = |launch: &str| {
        let nodes = read_launch(&share.join("launch").join(launch), &share, &[]).unwrap();
        let n = nodes.iter().find(|n| n.exec == "g1_sim_adapter").unwrap();
        let ctx = g1_ros::NodeContext::from_args_env(&n.exec, &n.ros_args(), &|_| None).unwrap();
        let cfg: SimAdapterConfig = ctx.config().unwrap();
        let mut v: Vec<(String, String)> = interface(&cfg)
            .into_iter()
            .map(|(t, ty, _)| (t, ty.to_string()))
            .collect();
        v.sort();
        v
    };
    let yaml = |f: &str, topic: &str, ty: &str| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(share.join(f)).unwrap();
        let entries: Vec<serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
        let mut v: Vec<(String, String)> = entries
            .iter()
            .map(|e| {
                (
                    e[topic].as_str().unwrap().to_string(),
                    e[ty].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let gz = adapter_interface("gazebo.launch.xml");
    assert_eq!(gz.len(), 4 + 29, "{gz:?}");
    assert_eq!(
        yaml(
            "config/gazebo/ros_gz_bridge.yaml",
            "ros_topic_name",
            "ros_type_name"
        ),
        gz
    );
    let isaac = adapter_interface("isaac_sim.launch.xml");
    assert_eq!(isaac.len(), 5, "{isaac:?}");
    assert_eq!(yaml("config/isaac_sim/topics.yaml", "topic", "type"), isaac);
    // The engine peer's launch file: the joint_state command topic.
    let engine = adapter_interface("engine.launch.xml");
    assert!(engine.contains(&(
        "/engine/joint_command".to_string(),
        "sensor_msgs/msg/JointState".to_string()
    )));
}
