//! The diffusion controller as a node in the chain over DDS: g1_sim (lockstep) → g1_bridge →
//! g1_estimator → g1_planner → g1_bridge → g1_sim, all but the simulator on `/clock`. After
//! R1+A the planner's targets drive the G1, the shipped default model alone holds it up for at
//! least 1.5 s after the gantry lets go (at 4 s), and the planner publishes its plan for RViz.
//! The node chain is what this tests; how long the model keeps the robot up is the model's
//! quality, measured by `g1d eval`. Measured here: idle, the model held the G1 up to the end of
//! 7.5–10 s runs in most runs and lost it at 8.5 s in one CI run; with a 2-thread training job
//! beside it, at 5.6–6.0 s. Lockstep does not make the chain bit-exact: at a 20 ms boundary the
//! simulator waits for the planner's targets, but the bridge's LowCmd it then applies may still
//! carry the previous targets for a few 2 ms ticks, more under load (known issue). The real-time
//! chain (no lockstep) is tested to a goal by `cli/tests/realtime_chain.rs`. Standby's soft policy gains
//! alone do not hold the G1 up: the gantry lets go after R1+A.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1_nodes::runtime::{compose, Node};
use g1_nodes::sim_node::SimNode;
use g1_ros::dds::{take_all, QosPreset};

#[test]
fn diffusion_planner_node_holds_the_g1_up_over_dds() {
    let dds = common::dds(150, 20);
    let sim = SimNode::new(common::ros(
        &dds,
        "g1_sim",
        "--ros-args -p gantry_s:=4.0 -p remote_script:=[0.3:L1+A,3.5:R1+A] -p lockstep:=true",
    ))
    .unwrap();
    // Everything but the simulator on simulated time (/clock), so the 50 Hz history the model
    // sees is 20 ms apart in the simulation whatever the machine's load.
    let ctx = common::ctx;
    let bridge = g1_nodes::build_node(
        "g1_bridge",
        &dds,
        ctx(
            "g1_bridge",
            "--ros-args -p use_sim_time:=true -p standby_ramp_s:=2.0 -p hold_after_s:=0.2 -p damping_after_s:=1.0",
        ),
    )
    .unwrap();
    let est = g1_nodes::build_node(
        "g1_estimator",
        &dds,
        ctx(
            "g1_estimator",
            "--ros-args -p use_sim_time:=true -p mode:=ground_truth",
        ),
    )
    .unwrap();
    let planner = g1_nodes::build_node(
        "g1_planner",
        &dds,
        ctx("g1_planner", "--ros-args -p use_sim_time:=true"),
    )
    .unwrap();
    let mut watcher = common::ros(&dds, "watcher", "--ros-args");
    let path_sub = watcher
        .subscription::<g1_msgs::nav_msgs::Path>("/g1d/plan/path", QosPreset::Sensor)
        .unwrap();
    let plan_sub = watcher
        .subscription::<g1_msgs::g1d::PlannedTrajectory>("/g1d/plan", QosPreset::Sensor)
        .unwrap();
    let mut last_plan = None;
    let route_sub = watcher
        .subscription::<g1_msgs::nav_msgs::Path>("/g1d/route", QosPreset::Sensor)
        .unwrap();
    let diag_sub = watcher
        .subscription::<g1_msgs::diagnostic_msgs::DiagnosticArray>(
            "/diagnostics",
            QosPreset::Command,
        )
        .unwrap();
    let mut diagnostics = vec![];
    let goal_pub = watcher
        .publisher::<g1_msgs::geometry_msgs::PoseStamped>("/goal_pose", QosPreset::Command)
        .unwrap();
    let mut goal_sent = false;
    let mut routes = vec![];
    let sim_status = sim.status.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let nodes: Vec<Box<dyn Node>> = vec![Box::new(sim), bridge, est, planner];
    let runner = std::thread::spawn(move || compose(nodes, s2));
    let t0 = Instant::now();
    let mut paths = 0;
    let mut last_path = None;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let got = take_all(&path_sub).0;
        paths += got.len();
        if let Some(p) = got.into_iter().last() {
            last_path = Some(p);
        }
        routes.extend(take_all(&route_sub).0);
        if let Some(p) = take_all(&plan_sub).0.pop() {
            last_plan = Some(p);
        }
        diagnostics.extend(take_all(&diag_sub).0);
        let s = sim_status.lock().unwrap().clone();
        // An RViz "2D Goal Pose" late in the run: the planner answers with a route on /g1d/route.
        if s.time_s >= 6.0 && !goal_sent {
            let mut g = g1_msgs::geometry_msgs::PoseStamped::default();
            g.header.frame_id = "odom".into();
            g.pose.position.x = 2.0;
            g.pose.position.y = 1.0;
            g.pose.orientation.w = 1.0;
            goal_pub.publish(g).unwrap();
            goal_sent = true;
        }
        if s.fell || s.time_s >= 7.5 || t0.elapsed() > Duration::from_secs(90) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    runner.join().unwrap().unwrap();
    let s = sim_status.lock().unwrap().clone();
    assert!(
        !s.fell || s.time_s >= 5.5,
        "the G1 fell at {:.1} s under the diffusion planner (gantry released at 4.0 s)",
        s.time_s
    );
    assert!(
        s.fell || s.time_s >= 7.5,
        "only {:.1} s simulated",
        s.time_s
    );
    assert!(
        s.commands > 1000,
        "{} LowCmds reached the simulator",
        s.commands
    );
    assert!(paths > 10, "{paths} plan paths received");
    let p = last_path.unwrap();
    assert_eq!(p.poses.len(), g1_diffusion::HORIZON + 1);
    assert_eq!(p.header.frame_id, "odom");
    // The plan itself: H future states and H + 1 actions, 20 ms apart from the time of the
    // state it was planned from, which lies in the simulated past.
    let t = last_plan.expect("no PlannedTrajectory on /g1d/plan");
    let (h, dim) = (g1_diffusion::HORIZON, g1::STATE_DIM);
    assert_eq!(
        (t.state_dim as usize, t.action_dim as usize),
        (dim, g1::NUM_JOINTS)
    );
    assert_eq!(t.layout_version, g1::LAYOUT_VERSION);
    assert_eq!(t.state_times.len(), h);
    assert_eq!(t.states.len(), h * dim);
    assert_eq!(t.action_times.len(), h + 1);
    assert_eq!(t.actions.len(), (h + 1) * g1::NUM_JOINTS);
    assert!((t.state_times[0] - 0.02).abs() < 1e-12 && t.action_times[0] == 0.0);
    assert!(t
        .state_times
        .windows(2)
        .all(|w| (w[1] - w[0] - 0.02).abs() < 1e-12));
    assert!(t.states.iter().chain(&t.actions).all(|v| v.is_finite()));
    let planned_at = t.header.stamp.as_secs_f64();
    assert!(
        planned_at > 4.0 && planned_at <= s.time_s,
        "{planned_at} s, sim at {} s",
        s.time_s
    );
    assert!(t.compute_time.sec == 0 && t.compute_time.nanosec > 0);
    let r = routes
        .last()
        .expect("no route on /g1d/route after a goal pose");
    assert_eq!(r.header.frame_id, "odom");
    let end = &r.poses.last().unwrap().pose.position;
    assert_eq!((end.x, end.y), (2.0, 1.0));
    // The bridge reports its counters on /diagnostics once a second: nothing refused here.
    let (planner, bridge): (Vec<_>, Vec<_>) = diagnostics
        .iter()
        .partition(|d| d.status[0].name == "g1_planner: planning");
    let last = &bridge.last().expect("no bridge /diagnostics").status[0];
    assert_eq!(last.name, "g1_bridge: safety");
    for k in [
        "bad_crc",
        "refused_requests",
        "rejected_targets",
        "foreign_states",
    ] {
        let kv = last.values.iter().find(|kv| kv.key == k);
        assert_eq!(kv.map(|kv| kv.value.as_str()), Some("0"), "{k}: {last:?}");
    }
    // The planner reports on /diagnostics once per 50 control steps: plans made, their compute
    // time, the disturbance gate.
    assert!(
        planner.len() >= 3,
        "{} /diagnostics messages",
        planner.len()
    );
    for d in &planner {
        let st = &d.status[0];
        let v = |k: &str| -> f64 {
            let kv = st.values.iter().find(|kv| kv.key == k).expect(k);
            kv.value.parse().unwrap()
        };
        assert_eq!(v("steps"), 50.0, "{st:?}");
        assert!(v("plans") + v("failed_plans") == 50.0, "{st:?}");
        assert!((0.0..=1.0).contains(&v("gate_min")), "{st:?}");
    }
}
