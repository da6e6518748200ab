//! `g1d up <launch file> [name:=value …]`: the launch file's nodes composed in one process,
//! talking DDS (so RViz or `ros2 topic echo` on another machine can watch) — `ros2 launch`
//! for machines without ROS 2.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use g1_nodes::launch::read_launch;
use g1_nodes::runtime::{supervise, Supervised};
use g1_ros::dds::Dds;
use g1_ros::NodeContext;

#[derive(clap::Args)]
pub struct UpArgs {
    /// ROS 2 XML launch file (e.g. launch/sim.launch.xml).
    pub launch: PathBuf,
    /// Launch arguments `name:=value`.
    pub args: Vec<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// When it stops, write one JSON object here: `fell`, `fall_time_s`, `final_xy`,
    /// `goal_error_m` (null without a goal), `contacts` (control steps touching an obstacle),
    /// `plans`, `plan_ms_p50/p99`, `state_to_command_ms_p50/p99` (from the LowState sample a
    /// state was estimated from to the first LowCmd carrying the targets planned for it),
    /// `bad_crc`, and every node's own report under `nodes`.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// The SROS2 enclave this process (all its composed nodes share one DDS participant) runs
    /// as when `ROS_SECURITY_ENABLE=true` (default: /g1_diffusion; `ROS_SECURITY_ENCLAVE_OVERRIDE`
    /// wins, as in rcl).
    #[arg(long)]
    pub enclave: Option<String>,
}

/// The run's summary from the nodes' reports (see [`UpArgs::summary`]).
pub fn summary(reports: &[(String, serde_json::Value)]) -> serde_json::Value {
    let find = |node: &str| {
        reports
            .iter()
            .find(|(n, _)| n.rsplit('/').next() == Some(node))
            .map(|(_, r)| r.clone())
            .unwrap_or(serde_json::Value::Null)
    };
    let (sim, planner, bridge) = (find("g1_sim"), find("g1_planner"), find("g1_bridge"));
    let estimator = find("g1_estimator");
    let xy = |v: &serde_json::Value| -> Option<[f64; 2]> {
        Some([v.get(0)?.as_f64()?, v.get(1)?.as_f64()?])
    };
    let goal_error_m = match (xy(&sim["final_xy"]), xy(&planner["goal"])) {
        (Some(p), Some(g)) => Some((p[0] - g[0]).hypot(p[1] - g[1])),
        _ => None,
    };
    let bad_crc = sim["bad_crc"].as_u64().unwrap_or(0) + bridge["bad_crc"].as_u64().unwrap_or(0);
    serde_json::json!({
        "fell": sim["fell"],
        "fall_time_s": sim["fall_time_s"],
        "final_xy": sim["final_xy"],
        "goal_error_m": goal_error_m,
        "contacts": sim["contacts"],
        "plans": planner["plans"],
        "plan_ms_p50": planner["plan_ms_p50"],
        "plan_ms_p99": planner["plan_ms_p99"],
        "state_to_command_ms_p50": bridge["state_to_command_ms_p50"],
        "state_to_command_ms_p99": bridge["state_to_command_ms_p99"],
        "bad_crc": bad_crc,
        // Where the state-to-command time goes: from a LowState's sample time at the bridge
        // to the estimator's state, to its arrival at the planner, to the LowCmd carrying the
        // targets computed from it (cumulative, ms).
        "latency_ms": {
            "sample_to_state_p50": estimator["sample_to_state_ms_p50"],
            "sample_to_state_p99": estimator["sample_to_state_ms_p99"],
            "sample_to_planner_p50": planner["sample_to_planner_ms_p50"],
            "sample_to_planner_p99": planner["sample_to_planner_ms_p99"],
            "sample_to_command_p50": bridge["state_to_command_ms_p50"],
            "sample_to_command_p99": bridge["state_to_command_ms_p99"],
        },
        // Each node's thread's CPU time over the run's wall time (1.0 = one core).
        "cpu_share": reports
            .iter()
            .map(|(n, r)| (n.clone(), r["cpu_share"].clone()))
            .collect::<serde_json::Map<_, _>>(),
        "nodes": reports.iter().cloned().collect::<serde_json::Map<_, _>>(),
    })
}

pub fn cmd_up(a: UpArgs) -> Result<()> {
    let overrides = a
        .args
        .iter()
        .map(|s| {
            s.split_once(":=")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("launch argument `{s}` is not `name:=value`"))
        })
        .collect::<Result<Vec<_>>>()?;
    // The package share directory: the launch file's folder's parent (the repository root in a
    // checkout, share/g1_diffusion in an install).
    let launch = a
        .launch
        .canonicalize()
        .with_context(|| format!("launch file {}", a.launch.display()))?;
    let share = launch
        .parent()
        .and_then(|p| p.parent())
        .context("the launch file must sit in <package>/launch/")?
        .to_path_buf();
    let nodes = read_launch(&launch, &share, &overrides)?;
    if nodes.is_empty() {
        bail!("{} starts no nodes", launch.display());
    }
    let env = g1_ros::DdsEnv::from_vars(&|k| std::env::var(k).ok())?;
    if let Some(e) = &a.enclave {
        g1_ros::security::check_enclave(e)?;
    }
    let security = g1_ros::SecurityEnv::from_vars(
        &|k| std::env::var(k).ok(),
        a.enclave.as_deref(),
        &mut |w| eprintln!("[up] warning: {w}"),
    )?;
    if let Some(s) = &security {
        eprintln!(
            "[up] DDS Security on: enclave {} ({})",
            s.enclave,
            s.dir.display()
        );
    }
    // The composed nodes share one participant, except when secured or restricted to chosen
    // interfaces: then each gets its own (RustDDS does not match a secured participant's
    // endpoints with its own, and a loopback-only participant does not discover itself;
    // measured: no command reached the simulator), and the participants find each other.
    let shared = match env.needs_participant_per_node(security.as_ref()) {
        false => Some(Dds::open(&env, None)?),
        true => None,
    };
    let participant = || -> Result<Dds> {
        match &shared {
            Some(d) => Ok(d.clone()),
            None => Dds::open(&env, security.as_ref()),
        }
    };
    let mut built: Vec<Supervised> = Vec::new();
    for n in &nodes {
        if n.pkg != "g1_diffusion" {
            eprintln!(
                "[up] skipping {}/{} (another package's node; `ros2 launch` starts it on a machine with ROS 2)",
                n.pkg, n.exec
            );
            continue;
        }
        let ctx = NodeContext::from_args(&n.exec, &n.ros_args())
            .with_context(|| format!("node {}", n.exec))?;
        for w in &ctx.unsupported {
            eprintln!("[{}] warning: {w}", ctx.names.fqn());
        }
        eprintln!(
            "[up] {} as {} ({})",
            n.exec,
            ctx.names.fqn(),
            n.params_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let name = ctx.names.fqn();
        let dds = participant()?;
        let node =
            g1_nodes::build_node(&n.exec, &dds, ctx).with_context(|| format!("node {}", n.exec))?;
        let (exec, args, d) = (n.exec.clone(), n.ros_args(), dds.clone());
        built.push(Supervised {
            name,
            node,
            respawn: n.respawn,
            build: Box::new(move || {
                let ctx = NodeContext::from_args(&exec, &args)?;
                g1_nodes::build_node(&exec, &d, ctx)
            }),
        });
    }
    eprintln!(
        "[up] {} nodes on DDS domain {}; Ctrl-C stops",
        built.len(),
        env.domain_id
    );
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing Ctrl-C")?;
    if let Some(secs) = a.seconds {
        if !(secs.is_finite() && secs > 0.0) {
            bail!("--seconds must be positive");
        }
        let s = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs));
            s.store(true, Ordering::Relaxed);
        });
    }
    if let Some(p) = &a.summary {
        // Created now, so that a bad path fails before the run.
        std::fs::write(p, "").with_context(|| format!("--summary {}", p.display()))?;
    }
    // A node that fails stops alone (and is built again with respawn="true").
    let t_run = std::time::Instant::now();
    let cpu0 = g1_nodes::runtime::process_cpu_s();
    let reports = supervise(built, stop);
    let process_cpu_share =
        (g1_nodes::runtime::process_cpu_s() - cpu0) / t_run.elapsed().as_secs_f64().max(1e-9);
    let failed: Vec<_> = reports
        .iter()
        .filter(|(_, r)| r.get("failed").is_some())
        .map(|(n, r)| format!("{n}: {}", r["failed"]))
        .collect();
    eprintln!("[up] stopped");
    for f in &failed {
        eprintln!("[up] failed during the run: {f}");
    }
    if let Some(p) = &a.summary {
        let mut s = summary(&reports);
        // All threads: the nodes', DDS', the runtime's.
        s["cpu_share"]["process"] = serde_json::json!(process_cpu_share);
        std::fs::write(p, serde_json::to_string_pretty(&s)? + "\n")
            .with_context(|| format!("--summary {}", p.display()))?;
        eprintln!(
            "[up] summary {}: fell {}, final {}, goal error {} m, contacts {}, plans {}, state→command p50/p99 {}/{} ms",
            p.display(),
            s["fell"],
            s["final_xy"],
            s["goal_error_m"],
            s["contacts"],
            s["plans"],
            s["state_to_command_ms_p50"],
            s["state_to_command_ms_p99"]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// The summary takes each field from the node that measured it and computes the goal error.
    #[test]
    fn summary_merges_the_node_reports() {
        let reports = vec![
            (
                "/g1_sim".to_string(),
                json!({"fell": false, "fall_time_s": null, "final_xy": [2.9, 1.4], "contacts": 3, "bad_crc": 1}),
            ),
            (
                "/g1_planner".to_string(),
                json!({"goal": [3.0, 1.0], "plans": 1200, "plan_ms_p50": 6.5, "plan_ms_p99": 9.0}),
            ),
            (
                "/g1_bridge".to_string(),
                json!({"bad_crc": 2, "state_to_command_ms_p50": 8.0, "state_to_command_ms_p99": 14.0}),
            ),
        ];
        let s = super::summary(&reports);
        assert_eq!(s["fell"], false);
        assert_eq!(s["contacts"], 3);
        assert_eq!(s["plans"], 1200);
        assert_eq!(s["bad_crc"], 3);
        assert_eq!(s["state_to_command_ms_p99"], 14.0);
        let e = s["goal_error_m"].as_f64().unwrap();
        assert!((e - 0.1f64.hypot(0.4)).abs() < 1e-12, "{e}");
        // Without a goal there is no goal error.
        let mut r = reports.clone();
        r[1].1["goal"] = serde_json::Value::Null;
        assert!(super::summary(&r)["goal_error_m"].is_null());
    }
}
