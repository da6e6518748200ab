//! A node's parameter services against independent clients: the Python Cyclone DDS peer
//! (scripts/ros2_peer.py) in rmw_cyclonedds' format (request header) and bare, and
//! ros2-client's service client in the RPC-over-DDS "enhanced" format rmw_fastrtps uses
//! (the reply matched by its related sample identity).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use g1_ros::dds::{Dds, RosNode};
use g1_ros::param_server::ParamServer;
use g1_ros::{range_check, DdsEnv, DiscoveryRange, NodeConfig, NodeContext, ParamError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Cfg {
    model: String,
    weights: Weights,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Weights {
    joystick: f64,
    gate: [f64; 2],
}

impl Default for Cfg {
    fn default() -> Self {
        Self {
            model: "models/default".into(),
            weights: Weights::default(),
        }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            joystick: 1.0,
            gate: [0.1, 0.2],
        }
    }
}

impl NodeConfig for Cfg {
    fn check(&self) -> Result<(), ParamError> {
        range_check("weights.joystick", self.weights.joystick, 0.0, 10.0)
    }
    fn settable_at_run_time(name: &str) -> bool {
        name.starts_with("weights.")
    }
}

/// A node `/planner` with [`Cfg`] answering its parameter services from a thread (as a node's
/// step would); the configurations it was handed are collected.
fn serve(
    domain: u16,
) -> (
    Arc<AtomicBool>,
    Arc<Mutex<Vec<Cfg>>>,
    std::thread::JoinHandle<()>,
) {
    let dds = Dds::new(DdsEnv {
        domain_id: domain,
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    })
    .unwrap();
    let argv: Vec<String> = "--ros-args -r __node:=planner -p use_sim_time:=false"
        .split_whitespace()
        .map(String::from)
        .collect();
    let ctx = NodeContext::from_args_env("planner", &argv, &|_| None).unwrap();
    let mut node = RosNode::new(&dds, ctx).unwrap();
    let cfg: Cfg = node.ctx.config().unwrap();
    let mut server = ParamServer::new(&mut node, cfg).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (s, g) = (stop.clone(), got.clone());
    let t = std::thread::spawn(move || {
        let _node = node;
        let t0 = std::time::Instant::now();
        while !s.load(Ordering::Relaxed) {
            if let Some(c) = server.poll(t0.elapsed().as_secs_f64()) {
                g.lock().unwrap().push(c);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (stop, got, t)
}

fn peer(domain: u16, format: &str, ops: serde_json::Value) -> serde_json::Value {
    let out = Command::new(g1_testkit::python())
        .arg(g1_testkit::repo().join("scripts/ros2_peer.py"))
        .args([
            "param",
            "--domain",
            &domain.to_string(),
            "--node",
            "/planner",
        ])
        .args(["--format", format, "--ops", &ops.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rmw_cyclonedds_and_bare_clients_list_get_set_and_are_refused_with_reasons() {
    let domain = g1_testkit::test_domain(40 + std::process::id() % 40);
    let (stop, got, t) = serve(domain);
    let r = peer(
        domain,
        "cyclone",
        serde_json::json!([
            ["list"],
            ["get", ["weights.joystick", "model", "weights.gate", "nope"]],
            ["types", ["weights.joystick", "model", "nope"]],
            ["describe", ["model", "weights.joystick"]],
            ["set", {"weights.joystick": 2.5}],
            ["set", {"weights.joystick": 12.0, "model": "x", "weights.jostick": 1.0}],
            ["set", {"weights.joystick": "high"}],
            ["set_atomically", {"weights.joystick": 3.0, "weights.gate": [0.0, 9.0]}],
            ["set_atomically", {"weights.joystick": 3.0, "model": "x"}],
            ["get", ["weights.joystick", "weights.gate"]]
        ]),
    );
    assert_eq!(
        r[0]["names"],
        serde_json::json!(["model", "use_sim_time", "weights.gate", "weights.joystick"])
    );
    assert_eq!(r[0]["prefixes"], serde_json::json!(["weights"]));
    assert_eq!(
        r[1],
        serde_json::json!([1.0, "models/default", [0.1, 0.2], null])
    );
    assert_eq!(r[2], serde_json::json!([3, 4, 0]));
    assert_eq!(r[3][0]["read_only"], true);
    assert_eq!(r[3][1]["read_only"], false);
    assert_eq!(
        r[4],
        serde_json::json!([{"successful": true, "reason": ""}])
    );
    let refusals = &r[5];
    let reason = |i: usize| refusals[i]["reason"].as_str().unwrap().to_string();
    assert!(refusals
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["successful"] == false));
    // (The peer sends them in name order.)
    assert!(reason(0).contains("read-only at run time"), "{}", reason(0));
    assert!(reason(1).contains("not declared"), "{}", reason(1));
    assert!(reason(2).contains("out of range"), "{}", reason(2));
    assert!(r[6][0]["reason"]
        .as_str()
        .unwrap()
        .contains("is a double, not a string"));
    assert_eq!(r[7][0]["successful"], true);
    assert_eq!(r[8][0]["successful"], false);
    assert_eq!(r[9], serde_json::json!([3.0, [0.0, 9.0]]));
    // The node was handed each accepted configuration, in order.
    let seen: Vec<(f64, [f64; 2])> = got
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.weights.joystick, c.weights.gate))
        .collect();
    assert_eq!(seen, [(2.5, [0.1, 0.2]), (3.0, [0.0, 9.0])]);
    // `ros2 param dump`'s file loads back as a parameter file: the node's configuration now.
    let dump = std::env::temp_dir().join(format!("g1d_param_dump_{}.yaml", std::process::id()));
    let r = peer(
        domain,
        "cyclone",
        serde_json::json!([["dump", dump.to_str().unwrap()]]),
    );
    assert_eq!(r[0], 4);
    let loaded = g1_ros::params::load_file(&dump, "/planner").unwrap();
    let map = g1_ros::ParamMap {
        values: loaded.into_iter().collect(),
        sources: Default::default(),
    };
    let cfg: Cfg = g1_ros::load_config(&map).unwrap();
    assert_eq!(&cfg, got.lock().unwrap().last().unwrap());
    std::fs::remove_file(&dump).ok();
    // A client without rmw_cyclonedds' header is answered too.
    let r = peer(
        domain,
        "bare",
        serde_json::json!([["get", ["weights.joystick"]]]),
    );
    assert_eq!(r[0], serde_json::json!([3.0]));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

/// ros2-client's service clients: the "enhanced" mapping (a bare request; the reply found by
/// its related sample identity, as rmw_fastrtps finds it) and its Cyclone mapping (header and
/// related identity both).
#[test]
fn ros2_client_enhanced_and_cyclone_clients_get_and_set() {
    use ros2_client::rcl_interfaces::{
        GetParametersRequest, GetParametersResponse, SetParametersRequest, SetParametersResponse,
    };
    use ros2_client::{Context, ContextOptions, Name, NodeName, NodeOptions, ServiceMapping};
    use ros2_client::{QosProfile, ServiceTypeName};

    let domain = g1_testkit::test_domain(80 + std::process::id() % 40);
    let (stop, got, t) = serve(domain);
    let ctx = Context::with_options(ContextOptions::new().domain_id(domain)).unwrap();
    let mut node = ctx
        .new_node(
            NodeName::new("/", "client").unwrap(),
            NodeOptions::new().enable_rosout(false),
        )
        .unwrap();
    // rmw's services profile: reliable, volatile, keep last 10.
    let qos = QosProfile::publisher_default()
        .reliability_reliable(ros2_client::qos::WhenFull::DEFAULT)
        .durability(ros2_client::qos::Durability::Volatile)
        .history(ros2_client::qos::History::KeepLast { depth: 10 });
    for (i, mapping) in [ServiceMapping::Enhanced, ServiceMapping::Cyclone]
        .into_iter()
        .enumerate()
    {
        let get = node
            .create_client::<GetParametersRequest, GetParametersResponse>(
                mapping,
                &Name::new("/planner", "get_parameters").unwrap(),
                &ServiceTypeName::new("rcl_interfaces", "GetParameters"),
                qos.clone(),
                qos.clone(),
            )
            .unwrap();
        let set = node
            .create_client::<SetParametersRequest, SetParametersResponse>(
                mapping,
                &Name::new("/planner", "set_parameters").unwrap(),
                &ServiceTypeName::new("rcl_interfaces", "SetParameters"),
                qos.clone(),
                qos.clone(),
            )
            .unwrap();
        let weight = 4.0 + i as f64;
        let value = g1_ros::param_server::to_raw(&g1_ros::ParamValue::Double(weight));
        let results = call(
            mapping,
            || {
                set.send_request(SetParametersRequest {
                    parameter: vec![ros2_client::parameters::raw::Parameter {
                        name: "weights.joystick".into(),
                        value: value.clone(),
                    }],
                })
                .unwrap()
            },
            || set.receive_response().ok().flatten(),
        )
        .results;
        assert!(results[0].successful, "{mapping:?}: {}", results[0].reason);
        let v = call(
            mapping,
            || {
                get.send_request(GetParametersRequest {
                    names: vec!["weights.joystick".into()],
                })
                .unwrap()
            },
            || get.receive_response().ok().flatten(),
        )
        .values;
        assert_eq!(v[0].double_value, weight, "{mapping:?}");
    }
    assert_eq!(
        got.lock()
            .unwrap()
            .iter()
            .map(|c| c.weights.joystick)
            .collect::<Vec<_>>(),
        [4.0, 5.0]
    );
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

/// Sends a request (again every 500 ms: discovery takes a moment) until a reply to one of them
/// comes. ros2-client's Cyclone client hands over every reply on the topic (one to the
/// previous client's repeated request, too): only ours count.
fn call<R>(
    mapping: ros2_client::ServiceMapping,
    send: impl Fn() -> ros2_client::RmwRequestId,
    take: impl Fn() -> Option<(ros2_client::RmwRequestId, R)>,
) -> R {
    let t0 = std::time::Instant::now();
    let mut sent = vec![];
    while t0.elapsed() < Duration::from_secs(10) {
        sent.push(send());
        let t1 = std::time::Instant::now();
        while t1.elapsed() < Duration::from_millis(500) {
            match take() {
                Some((id, r)) if sent.contains(&id) => return r,
                Some(_) => continue,
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
    panic!("{mapping:?}: no reply");
}
