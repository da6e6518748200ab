//! Real argv shapes: what `ros2 launch` (launch_ros 0.26, Jazzy) passes to an executable, and
//! what users type by hand.

use g1_ros::*;
use serde::Deserialize;

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("g1_ros_test_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Watchdog {
    hold_s: f64,
    damping_s: f64,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct BridgeCfg {
    rate_hz: f64,
    #[serde(default)]
    chords: Vec<String>,
    watchdog: Watchdog,
    #[serde(default)]
    mode: String,
}

impl NodeConfig for BridgeCfg {
    fn check(&self) -> Result<(), ParamError> {
        range_check("rate_hz", self.rate_hz, 1.0, 2000.0)?;
        range_check("watchdog.hold_s", self.watchdog.hold_s, 0.0, 5.0)?;
        range_check("watchdog.damping_s", self.watchdog.damping_s, 0.0, 60.0)
    }
}

const SHARED: &str = r#"
/**:
  ros__parameters:
    use_sim_time: false
    rate_hz: 500
    watchdog:
      hold_s: 0.1
      damping_s: 1.0
/g1/bridge:
  ros__parameters:
    chords: ["L1+A", "R1+A", "B"]
other_node:
  ros__parameters:
    rate_hz: 7
"#;

#[test]
fn launch_ros_tail_with_name_ns_files_and_remaps() {
    let shared = tmp("shared.yaml", SHARED);
    // launch_ros writes inline <param> tags to a temporary `/**` file placed after the others.
    let inline = tmp(
        "launch_params_x1y2",
        "/**:\n  ros__parameters:\n    mode: robot\n    use_sim_time: true\n",
    );
    let a = argv(&format!(
        "--verbose --ros-args -r __node:=bridge -r __ns:=/g1 --params-file {} --params-file {} \
         -r lowcmd:=/rt/lowcmd -r ~/status:=/status --log-level warn",
        shared.display(),
        inline.display()
    ));
    let ctx = NodeContext::from_args_env("g1_bridge", &a, &no_env).unwrap();
    assert_eq!(ctx.user_args, vec!["--verbose"]);
    assert_eq!(ctx.names.name, "bridge");
    assert_eq!(ctx.names.namespace, "/g1");
    assert_eq!(ctx.names.fqn(), "/g1/bridge");
    assert!(
        ctx.use_sim_time,
        "the later inline file overrides `/**` of the shared file"
    );
    assert_eq!(ctx.log_level, LogLevel::Warn);
    assert_eq!(ctx.names.resolve_topic("lowcmd"), "/rt/lowcmd");
    assert_eq!(ctx.names.resolve_topic("/g1/lowcmd"), "/rt/lowcmd");
    assert_eq!(ctx.names.resolve_topic("~/status"), "/status");
    assert_eq!(ctx.names.resolve_topic("joint_states"), "/g1/joint_states");
    assert_eq!(ctx.names.resolve_topic("/imu"), "/imu");
    assert_eq!(ctx.names.dds_topic("joint_states"), "rt/g1/joint_states");
    let cfg: BridgeCfg = ctx.config().unwrap();
    assert_eq!(
        cfg,
        BridgeCfg {
            rate_hz: 500.0,
            chords: vec!["L1+A".into(), "R1+A".into(), "B".into()],
            watchdog: Watchdog {
                hold_s: 0.1,
                damping_s: 1.0
            },
            mode: "robot".into(),
        }
    );
    assert_eq!(ctx.params.sources["mode"], inline.display().to_string());
}

#[test]
fn p_values_are_typed_as_yaml_and_override_files() {
    let shared = tmp("shared2.yaml", SHARED);
    let a = argv(&format!(
        "--ros-args -r __ns:=/g1 -r __node:=bridge --params-file {} -p use_sim_time:=True \
         -p rate_hz:=250.5 -p watchdog.hold_s:=0 -p mode:=sim -p other:bridge_x:=1",
        shared.display()
    ));
    let ctx = NodeContext::from_args_env("g1_bridge", &a, &no_env).unwrap();
    assert!(ctx.use_sim_time);
    assert_eq!(ctx.params.get("rate_hz"), Some(&ParamValue::Double(250.5)));
    assert_eq!(
        ctx.params.get("watchdog.hold_s"),
        Some(&ParamValue::Integer(0))
    );
    assert_eq!(ctx.params.get("bridge_x"), None, "scoped to another node");
    let cfg: BridgeCfg = ctx.config().unwrap();
    assert_eq!(cfg.watchdog.hold_s, 0.0);
    assert_eq!(cfg.mode, "sim");
    for (text, want) in [
        ("true", ParamValue::Bool(true)),
        ("False", ParamValue::Bool(false)),
        ("-3", ParamValue::Integer(-3)),
        ("1e-3", ParamValue::Double(1e-3)),
        ("hello", ParamValue::String("hello".into())),
        ("'42'", ParamValue::String("42".into())),
        ("[1, 2]", ParamValue::IntegerArray(vec![1, 2])),
        ("[0.5, 1]", ParamValue::DoubleArray(vec![0.5, 1.0])),
        (
            "[a, b]",
            ParamValue::StringArray(vec!["a".into(), "b".into()]),
        ),
        ("[true, false]", ParamValue::BoolArray(vec![true, false])),
    ] {
        assert_eq!(ParamValue::parse_yaml(text).unwrap(), want, "{text}");
    }
    assert!(ParamValue::parse_yaml("[1, a]").is_err());
    assert!(ParamValue::parse_yaml("{a: 1}").is_err());
}

#[test]
fn several_blocks_and_double_dash() {
    let a = argv("pos1 --ros-args -r __node:=a -- pos2 --flag --ros-args -p x:=1 --ros-args --log-level a:=debug");
    let p = parse_args(&a).unwrap();
    assert_eq!(p.user, vec!["pos1", "pos2", "--flag"]);
    assert_eq!(p.ros.params.len(), 1);
    assert_eq!(p.ros.remaps.len(), 1);
    assert_eq!(p.ros.log_level_for("a"), LogLevel::Debug);
    assert_eq!(p.ros.log_level_for("b"), LogLevel::Info);
    // A bare trailing --ros-args (always present from ros2 launch) is fine.
    let p = parse_args(&argv("x --ros-args")).unwrap();
    assert_eq!(p.user, vec!["x"]);
    assert_eq!(p.ros, RosArgs::default());
}

#[test]
fn node_scoped_name_remaps() {
    let a = argv("--ros-args -r other:__node:=nope -r g1_sim:__node:=sim -r g1_sim:__ns:=/robot");
    let ctx = NodeContext::from_args_env("g1_sim", &a, &no_env).unwrap();
    assert_eq!(ctx.names.fqn(), "/robot/sim");
}

#[test]
fn logging_flags_are_acted_on_or_reported_and_the_enclave_is_kept() {
    let a = argv(
        "--ros-args --enclave /g1/bridge --disable-rosout-logs --disable-external-lib-logs \
         --disable-stdout-logs --enable-stdout-logs -r __node:=b",
    );
    let ctx = NodeContext::from_args_env("b", &a, &no_env).unwrap();
    assert!(!ctx.rosout_logs);
    assert!(ctx.stdout_logs, "the last switch wins");
    assert_eq!(ctx.unsupported.len(), 1);
    assert!(ctx.unsupported[0].contains("--disable-external-lib-logs"));
    assert_eq!(ctx.enclave.as_deref(), Some("/g1/bridge"));
    let plain = NodeContext::from_args_env("b", &argv("--ros-args"), &no_env).unwrap();
    assert!(plain.rosout_logs && plain.stdout_logs);
    let bad = argv("--ros-args --enclave relative/name");
    let e = NodeContext::from_args_env("b", &bad, &no_env).unwrap_err();
    assert!(format!("{e:#}").contains("must be absolute"), "{e:#}");
}

/// rcl's resolution of `ROS_SECURITY_*`: on only for `true`; the enclave from the override,
/// then `--enclave`, then the suite's default; missing files refused under Enforce, reported
/// (and security off) under Permissive.
#[test]
fn security_environment_is_resolved_as_rcl_does() {
    use g1_ros::SecurityEnv;
    let ks = std::env::temp_dir().join(format!("g1-argv-ks-{}", std::process::id()));
    let dir = ks.join("enclaves/g1/bridge");
    std::fs::create_dir_all(&dir).unwrap();
    for f in g1_ros::security::ENCLAVE_FILES {
        std::fs::write(dir.join(f), "x").unwrap();
    }
    let ks_s = ks.display().to_string();
    let env = |pairs: &'static [(&'static str, &'static str)], ks: String| {
        move |k: &str| {
            if k == "ROS_SECURITY_KEYSTORE" {
                return Some(ks.clone());
            }
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let mut warnings = Vec::new();
    let mut resolve = |get: &dyn Fn(&str) -> Option<String>, enclave: Option<&str>| {
        SecurityEnv::from_vars(get, enclave, &mut |w| warnings.push(w))
    };
    let on = env(&[("ROS_SECURITY_ENABLE", "true")], ks_s.clone());
    let s = resolve(&on, Some("/g1/bridge"))
        .unwrap()
        .expect("security on");
    assert_eq!(s.enclave, "/g1/bridge");
    assert_eq!(s.dir, dir);
    // Anything but `true` is off (rcl), a typo is an error rather than silently off.
    let off = env(&[("ROS_SECURITY_ENABLE", "false")], ks_s.clone());
    assert!(resolve(&off, Some("/g1/bridge")).unwrap().is_none());
    let typo = env(&[("ROS_SECURITY_ENABLE", "yes")], ks_s.clone());
    assert!(resolve(&typo, Some("/g1/bridge")).is_err());
    // The override wins over --enclave; its files are missing here.
    let over = env(
        &[
            ("ROS_SECURITY_ENABLE", "true"),
            ("ROS_SECURITY_STRATEGY", "Enforce"),
            ("ROS_SECURITY_ENCLAVE_OVERRIDE", "/g1/other"),
        ],
        ks_s.clone(),
    );
    let e = resolve(&over, Some("/g1/bridge")).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("/g1/other") && msg.contains("cert.pem"),
        "{msg}"
    );
    // Permissive: runs unsecured, with the reason as a warning.
    let perm = env(
        &[
            ("ROS_SECURITY_ENABLE", "true"),
            ("ROS_SECURITY_ENCLAVE_OVERRIDE", "/g1/other"),
        ],
        ks_s.clone(),
    );
    assert!(resolve(&perm, Some("/g1/bridge")).unwrap().is_none());
    // No enclave given: the suite's default (missing here, so a warning naming it).
    assert!(resolve(&on, None).unwrap().is_none());
    // Security on without a keystore is an error.
    let no_ks = |k: &str| (k == "ROS_SECURITY_ENABLE").then(|| "true".to_string());
    assert!(resolve(&no_ks, None).is_err());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.contains("WITHOUT security")));
    assert!(warnings[1].contains(g1_ros::security::DEFAULT_ENCLAVE));
    std::fs::remove_dir_all(&ks).unwrap();
}

#[test]
fn bad_arguments_are_named() {
    for (a, needle) in [
        ("--ros-args --frobnicate", "--frobnicate"),
        ("--ros-args -p", "needs a value"),
        ("--ros-args -p rate", "no `:=`"),
        ("--ros-args -r __node:=9bad", "not a valid ROS name"),
        ("--ros-args --log-level loud", "unknown log level"),
        (
            "--ros-args --params-file /nonexistent/p.yaml",
            "/nonexistent/p.yaml",
        ),
        ("--ros-args -p use_sim_time:=yes-please", "use_sim_time"),
    ] {
        let e = NodeContext::from_args_env("n", &argv(a), &no_env).unwrap_err();
        assert!(format!("{e:#}").contains(needle), "{a}: {e:#}");
    }
}

#[test]
fn unknown_and_out_of_range_keys_are_named() {
    let bad_key = tmp(
        "bad_key.yaml",
        "/**:\n  ros__parameters:\n    rate_hz: 500\n    watchdog: {hold_s: 0.1, damping_s: 1.0, hodl: 2}\n",
    );
    let ctx = NodeContext::from_args_env(
        "n",
        &argv(&format!("--ros-args --params-file {}", bad_key.display())),
        &no_env,
    )
    .unwrap();
    let e = ctx.config::<BridgeCfg>().unwrap_err();
    assert!(
        matches!(&e, ParamError::Invalid { key, .. } if key == "watchdog.hodl"),
        "{e}"
    );
    let ctx = NodeContext::from_args_env(
        "n",
        &argv("--ros-args -p rate_hz:=5000 -p watchdog.hold_s:=0.1 -p watchdog.damping_s:=1"),
        &no_env,
    )
    .unwrap();
    let e = ctx.config::<BridgeCfg>().unwrap_err();
    assert!(e.to_string().contains("`rate_hz` (5000)"), "{e}");
    let ctx = NodeContext::from_args_env(
        "n",
        &argv("--ros-args -p rate_hz:=fast -p watchdog.hold_s:=0.1 -p watchdog.damping_s:=1"),
        &no_env,
    )
    .unwrap();
    let e = ctx.config::<BridgeCfg>().unwrap_err();
    assert!(
        matches!(&e, ParamError::Invalid { key, .. } if key == "rate_hz"),
        "{e}"
    );
    let e = ctx.config::<BridgeCfg>().unwrap_err().to_string();
    assert!(e.contains("rate_hz"), "{e}");
    // A file that is not a parameter file at all.
    let not = tmp("not_params.yaml", "- just\n- a list\n");
    let e = NodeContext::from_args_env(
        "n",
        &argv(&format!("--ros-args --params-file {}", not.display())),
        &no_env,
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("ros__parameters"), "{e:#}");
}

#[test]
fn key_patterns() {
    use g1_ros::params::key_matches;
    for (pat, fqn, want) in [
        ("/**", "/a/b/node", true),
        ("/**", "/node", true),
        ("/g1/bridge", "/g1/bridge", true),
        ("/g1/bridge", "/bridge", false),
        ("bridge", "/bridge", true),
        ("bridge", "/g1/bridge", false),
        ("/**/bridge", "/g1/x/bridge", true),
        ("/g1/*", "/g1/sim", true),
        ("/g1/*", "/g1/a/sim", false),
    ] {
        assert_eq!(key_matches(pat, fqn), want, "{pat} vs {fqn}");
    }
}

#[test]
fn domain_and_discovery_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let d = DdsEnv::from_vars(&env(&[
        ("ROS_DOMAIN_ID", "42"),
        ("ROS_LOCALHOST_ONLY", "1"),
    ]))
    .unwrap();
    assert_eq!(d.domain_id, 42);
    assert_eq!(d.range, DiscoveryRange::Localhost);
    let d = DdsEnv::from_vars(&env(&[])).unwrap();
    assert_eq!((d.domain_id, d.range), (0, DiscoveryRange::Subnet));
    let d = DdsEnv::from_vars(&env(&[("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")])).unwrap();
    assert_eq!(d.range, DiscoveryRange::Localhost);
    assert_eq!(d.rmw, g1_ros::Rmw::Dds);
    for (name, rmw) in [
        ("rmw_zenoh_cpp", g1_ros::Rmw::Zenoh),
        ("rmw_cyclonedds_cpp", g1_ros::Rmw::Dds),
        ("rmw_fastrtps_cpp", g1_ros::Rmw::Dds),
    ] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(Box::new([("RMW_IMPLEMENTATION", name)]));
        assert_eq!(DdsEnv::from_vars(&env(pairs)).unwrap().rmw, rmw);
    }
    for bad in [
        &[("ROS_DOMAIN_ID", "233")][..],
        &[("ROS_DOMAIN_ID", "abc")][..],
        &[("ROS_LOCALHOST_ONLY", "yes")][..],
        &[("RMW_IMPLEMENTATION", "rmw_opendds")][..],
    ] {
        let pairs: &'static [(&'static str, &'static str)] = bad;
        let e = DdsEnv::from_vars(&env(pairs)).unwrap_err().to_string();
        assert!(e.contains(pairs[0].0), "{e}");
    }
}

#[test]
fn unknown_top_level_key_is_named() {
    let ctx = NodeContext::from_args_env(
        "n",
        &argv("--ros-args -p rate_hz:=5 -p watchdog.hold_s:=0.1 -p watchdog.damping_s:=1 -p rate_hzz:=5"),
        &no_env,
    )
    .unwrap();
    let e = ctx.config::<BridgeCfg>().unwrap_err();
    assert!(
        matches!(&e, ParamError::Invalid { key, .. } if key == "rate_hzz"),
        "{e}"
    );
}
