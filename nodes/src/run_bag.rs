//! A simulated run recorded as the node suite would have recorded it: `/joint_states`,
//! `/sim/odom` (the simulator node's own conversion) and `/joint_targets`, stamped with the
//! simulator's clock (`g1d drive --bag`, `g1d demo`).

use anyhow::{Context as _, Result};
use g1_sim::Sim;

/// The run's recording: what a `g1_recorder` would have taken from the node suite.
pub struct RunBag {
    pub w: g1_bag::BagWriter,
    joints: g1_bag::Topic<g1_msgs::sensor_msgs::JointState>,
    odom: g1_bag::Topic<g1_msgs::nav_msgs::Odometry>,
    targets: g1_bag::Topic<g1_msgs::g1d::JointTargets>,
    names: Vec<String>,
}

impl RunBag {
    /// A new bag in `dir` with `run` as its run metadata.
    pub fn create(
        dir: &std::path::Path,
        run: std::collections::BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut w = g1_bag::BagWriter::create(
            dir,
            g1_bag::WriterOptions {
                run_metadata: run,
                ..Default::default()
            },
        )
        .with_context(|| format!("bag {}", dir.display()))?;
        Ok(Self {
            joints: w.topic("/joint_states", g1_bag::Qos::Reliable)?,
            odom: w.topic("/sim/odom", g1_bag::Qos::Reliable)?,
            targets: w.topic("/joint_targets", g1_bag::Qos::Reliable)?,
            names: g1::JOINTS.iter().map(|j| j.model_name()).collect(),
            w,
        })
    }

    /// The simulator's state now: joint states, odometry and the motor command.
    pub fn record(&mut self, sim: &Sim) -> Result<()> {
        use g1_msgs::std_msgs::Header;
        let gt = sim.ground_truth();
        let t_ns = (gt.time_s * 1e9).round() as u64;
        let stamp = g1_msgs::builtin_interfaces::Time::from_secs_f64(gt.time_s);
        let tau = sim.sensors().tau;
        self.w.write(
            &self.joints,
            t_ns,
            &g1_msgs::sensor_msgs::JointState {
                header: Header::new(stamp, "pelvis"),
                name: self.names.clone(),
                position: gt.q.to_vec(),
                velocity: gt.dq.to_vec(),
                effort: tau.to_vec(),
            },
        )?;
        // The simulator node's own conversion (REP-105: the twist in the child frame).
        self.w.write(
            &self.odom,
            t_ns,
            &crate::convert::sim_odometry(&gt.root, gt.time_s),
        )?;
        let c = sim.command();
        self.w.write(
            &self.targets,
            t_ns,
            &g1_msgs::g1d::JointTargets {
                header: Header::new(stamp, "pelvis"),
                policy_id: "diffusion".into(),
                action: vec![],
                q_target: c.q.to_vec(),
                kp: c.kp.iter().map(|v| *v as f32).collect(),
                kd: c.kd.iter().map(|v| *v as f32).collect(),
            },
        )?;
        Ok(())
    }
}
