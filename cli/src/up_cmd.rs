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
    /// ROS 2 XML launch file (e.g. launch/sim.launch.xml), or, as with `ros2 launch`, the
    /// package and a launch file name (`g1_diffusion sim.launch.xml`: found under
    /// share/g1_diffusion/launch of an install on AMENT_PREFIX_PATH).
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

/// `g1d up g1_diffusion NAME.launch.xml`: the launch file from the package's share directory
/// in the first AMENT_PREFIX_PATH prefix that has it, as `ros2 launch` finds it. `None` when
/// `a.launch` is not a package name.
fn package_launch(a: &UpArgs) -> Result<Option<PathBuf>> {
    let pkg = a.launch.to_string_lossy();
    if a.launch.exists() || pkg.contains('/') || pkg.ends_with(".xml") {
        return Ok(None);
    }
    let Some(name) = a.args.first().filter(|n| !n.contains(":=")) else {
        bail!(
            "no launch file `{pkg}` (give a launch file, or a package and a launch file name \
             as with ros2 launch: g1d up g1_diffusion sim.launch.xml)"
        );
    };
    if pkg != "g1_diffusion" {
        bail!("package `{pkg}`: g1d up starts g1_diffusion's launch files only");
    }
    let prefixes = std::env::var("AMENT_PREFIX_PATH").unwrap_or_default();
    let found = prefixes
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|p| {
            PathBuf::from(p)
                .join("share/g1_diffusion/launch")
                .join(name)
        })
        .find(|f| f.is_file());
    match found {
        Some(f) => Ok(Some(f)),
        None if prefixes.is_empty() => bail!(
            "g1_diffusion's {name}: AMENT_PREFIX_PATH is empty (after `colcon build`, \
             source install/setup.sh)"
        ),
        None => bail!("g1_diffusion's {name}: not in share/g1_diffusion/launch of any prefix of AMENT_PREFIX_PATH ({prefixes})"),
    }
}

pub fn cmd_up(mut a: UpArgs) -> Result<()> {
    if let Some(f) = package_launch(&a)? {
        a.launch = f;
        a.args.remove(0);
    }
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
        "[up] {} nodes on {} domain {}; Ctrl-C stops",
        built.len(),
        match env.rmw {
            g1_ros::Rmw::Dds => "DDS",
            g1_ros::Rmw::Zenoh => "Zenoh (rmw_zenoh)",
        },
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
        let mut s = g1_nodes::summary::summary(&reports);
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
