//! The node suite. Each node is a library object built from its [`NodeContext`] (argv tail,
//! parameters, names) that owns its publishers and subscriptions and is driven by
//! [`runtime::spin`]; the executables in `src/bin/` are three lines around it, and
//! [`runtime::compose`] runs several in one process (`g1d up`).
//!
//! | node | subscribes | publishes |
//! |---|---|---|
//! | `g1_sim` ([`sim_node`]) | `/lowcmd` | `/lowstate` (every physics step, CRC), `/clock`, `/sim/odom` |
//! | `g1_bridge` ([`bridge_node`]) | `/lowstate`, `joint_targets` | `/lowcmd` (per LowState, CRC), `/joint_states`, `/imu` |
//! | `g1_estimator` ([`estimator_node`]) | `/joint_states`, `/sim/odom` | `/g1d/state` (Body-Pos), `/odom`, `/tf` |
//! | `g1_expert` ([`expert_node`]) | `/joint_states`, `/imu`, `cmd_vel` | `joint_targets` |
//! | `g1_planner` ([`planner_node`]) | `/g1d/state`, `/lowcmd`, goals, `/g1d/obstacles` | `joint_targets`, plan path and markers |
//! | `g1_obstacles` ([`obstacles_node`]) | — | `/g1d/obstacles`, `/obstacles/markers` (latched) |
//! | `g1_teleop` ([`teleop_node`]) | `joy` (`sensor_msgs/Joy`) or `/lowstate` (G1 remote) | `cmd_vel` |
//! | `g1_teleop_key` ([`teleop_node`]) | keys on standard input | `cmd_vel` |
//! | `g1_recorder` ([`recorder_node`]) | the `topics` it is given | a rosbag2 (MCAP) directory |
//! | `g1_sim_adapter` ([`sim_adapter_node`]) | a simulator's `/engine/joint_states`, `imu`, `odom`; `/lowcmd` | `/lowstate`, `/sim/odom`, `/engine/joint_command` |

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod bridge_node;
pub mod convert;
pub mod deployed;
pub mod estimator_node;
pub mod evaluation;
pub mod expert_node;
pub mod io_record;
pub mod launch;
pub mod obstacles_node;
pub mod planner_node;
pub mod recorder_node;
pub mod replay;
pub mod run_bag;
pub mod runtime;
pub mod sim_adapter_node;
pub mod sim_node;
pub mod summary;
pub mod teleop_node;

pub use g1_ros::NodeContext;

/// A path parameter: absolute or existing as given, else under the assets directory.
pub fn asset_path(p: &str) -> std::path::PathBuf {
    let p = std::path::PathBuf::from(p);
    if p.is_absolute() || p.exists() {
        p
    } else {
        g1_sim::default_assets_dir().join(p)
    }
}

pub(crate) use convert::{pt, quat, stamp, unit_quat, v3};

/// A node constructor. Each executable names its own, so it links only its node's code (the
/// robot's executables then need no MuJoCo); `g1d up` looks them up by name ([`maker`]).
pub type MakeNode = fn(g1_ros::dds::RosNode) -> anyhow::Result<Box<dyn runtime::Node>>;

/// The constructor of the executable `exec` of this package.
pub fn maker(exec: &str) -> anyhow::Result<MakeNode> {
    fn boxed<N: runtime::Node + 'static>(
        n: anyhow::Result<N>,
    ) -> anyhow::Result<Box<dyn runtime::Node>> {
        Ok(Box::new(n?))
    }
    Ok(match exec {
        "g1_sim" => |r| boxed(sim_node::SimNode::new(r)),
        "g1_bridge" => |r| boxed(bridge_node::BridgeNode::new(r)),
        "g1_estimator" => |r| boxed(estimator_node::EstimatorNode::new(r)),
        "g1_expert" => |r| boxed(expert_node::ExpertNode::new(r)),
        "g1_planner" => |r| boxed(planner_node::PlannerNode::new(r)),
        "g1_obstacles" => |r| boxed(obstacles_node::ObstaclesNode::new(r)),
        "g1_teleop" => |r| boxed(teleop_node::TeleopNode::new(r, "g1_teleop")),
        "g1_teleop_key" => |r| boxed(teleop_node::TeleopNode::new(r, "g1_teleop_key")),
        "g1_recorder" => |r| boxed(recorder_node::RecorderNode::new(r)),
        "g1_sim_adapter" => |r| boxed(sim_adapter_node::SimAdapterNode::new(r)),
        other => anyhow::bail!(
            "unknown executable `{other}` (this package has: {})",
            EXECUTABLES.join(", ")
        ),
    })
}

/// Builds the node called `exec` (an executable name of this package) from its context.
pub fn build_node(
    exec: &str,
    dds: &g1_ros::dds::Dds,
    ctx: NodeContext,
) -> anyhow::Result<Box<dyn runtime::Node>> {
    build_node_with(exec, maker(exec)?, dds, ctx)
}

/// Builds a node with `make`, on the simulation clock when its `use_sim_time` says so.
pub fn build_node_with(
    exec: &str,
    make: MakeNode,
    dds: &g1_ros::dds::Dds,
    ctx: NodeContext,
) -> anyhow::Result<Box<dyn runtime::Node>> {
    let sim_time = ctx.use_sim_time;
    if sim_time && exec == "g1_sim" {
        anyhow::bail!("parameter `use_sim_time`: g1_sim publishes /clock and cannot run on it");
    }
    let clock_node = if sim_time {
        let mut c = ctx.clone();
        c.names =
            g1_ros::NodeNames::resolve(&format!("{exec}_clock"), &g1_ros::RosArgs::default())?;
        Some(g1_ros::dds::RosNode::new(dds, c)?)
    } else {
        None
    };
    let ros = g1_ros::dds::RosNode::new(dds, ctx)?;
    match clock_node {
        Some(c) => Ok(Box::new(runtime::SimTime::wrap(c, move || make(ros))?)),
        None => make(ros),
    }
}

/// The package's node executables.
pub const EXECUTABLES: [&str; 10] = [
    "g1_sim",
    "g1_bridge",
    "g1_estimator",
    "g1_expert",
    "g1_planner",
    "g1_obstacles",
    "g1_teleop",
    "g1_teleop_key",
    "g1_recorder",
    "g1_sim_adapter",
];

/// `main` of a node executable, by name (see [`node_main_with`]).
pub fn node_main(exec: &str) -> std::process::ExitCode {
    match maker(exec) {
        Ok(make) => node_main_with(exec, make),
        Err(e) => {
            eprintln!("{exec}: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `main` of a node executable: the `--ros-args` tail, the DDS participant, the node built by
/// `make`, spin.
pub fn node_main_with(exec: &str, make: MakeNode) -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let run = || -> anyhow::Result<()> {
        g1_ros::dds_log::init_from_env().map_err(anyhow::Error::msg)?;
        let ctx = NodeContext::from_args(exec, &argv)?;
        for w in &ctx.unsupported {
            eprintln!("[{}] warning: {w}", ctx.names.fqn());
        }
        if let Some(extra) = ctx.user_args.first() {
            anyhow::bail!("unexpected argument `{extra}` (node settings are ROS parameters: --ros-args -p name:=value)");
        }
        let security = g1_ros::SecurityEnv::from_vars(
            &|k| std::env::var(k).ok(),
            ctx.enclave.as_deref(),
            &mut |w| eprintln!("[{}] warning: {w}", ctx.names.fqn()),
        )?;
        if let Some(s) = &security {
            eprintln!(
                "[{}] DDS Security on: enclave {} ({})",
                ctx.names.fqn(),
                s.enclave,
                s.dir.display()
            );
        }
        let dds = g1_ros::dds::Dds::open(&ctx.dds, security.as_ref())?;
        let node = build_node_with(exec, make, &dds, ctx)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        runtime::spin(node, runtime::Clock::default(), stop)
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{exec}: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
