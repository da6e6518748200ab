//! `g1d bench estimator`: the contact-aided Kalman filter against simulator truth while the
//! velocity expert walks with turns (IMU and encoders at the robot's 500 Hz).

use anyhow::{bail, Result};
use g1::nalgebra::Vector3;
use g1_data::rollout;
use g1_estimator::{ContactKf, KfConfig, Sample};
use g1_expert::Expert;
use g1_sim::{MotorCommand, Sim, SimConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

#[derive(clap::Args)]
pub struct BenchEstimatorArgs {
    /// Seconds of walking (the command schedule repeats every 20 s).
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Corrupt the sensors like a real IMU and encoders: gyro 0.02 rad/s, accelerometer
    /// 0.2 m/s² white noise plus a 0.1 m/s² bias per axis, q 0.002 rad, q̇ 0.1 rad/s.
    #[arg(long)]
    pub sensor_noise: bool,
    /// Push the walking robot like `walk_perturb` does (a horizontal velocity change of
    /// 0–0.5 m/s every second) and report the velocity error in the 100 ms after each push.
    #[arg(long)]
    pub pushes: bool,
    /// The filter's settings: a YAML file of `KfConfig` keys (the estimator node's `kalman.*`
    /// parameters, e.g. `stance_velocity_noise: 0.1`); the rest keep their defaults.
    #[arg(long)]
    pub kalman: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
pub struct EstimatorReport {
    pub seconds: f64,
    pub distance_walked_m: f64,
    pub final_position_error_m: f64,
    pub drift_per_metre: f64,
    pub max_position_error_m: f64,
    pub velocity_rmse_mps: f64,
    pub planar_velocity_rmse_mps: f64,
    pub height_rmse_m: f64,
    /// With `--pushes`: pushes, and the planar velocity RMSE over the 100 ms after each.
    pub pushes: usize,
    pub after_push_velocity_rmse_mps: Option<f64>,
    pub sensor_noise: bool,
    pub fell: bool,
}

/// vx, vy, wz for each 4 s block: straight, left turn, right turn, diagonal, left turn.
const SCHEDULE: [[f64; 3]; 5] = [
    [0.5, 0.0, 0.0],
    [0.5, 0.0, 0.6],
    [0.6, 0.0, -0.5],
    [0.3, 0.2, 0.0],
    [0.5, 0.0, 0.4],
];

/// The filter settings of a `--kalman` file (defaults without one).
pub fn kalman_config(path: Option<&std::path::Path>) -> Result<KfConfig> {
    let Some(path) = path else {
        return Ok(KfConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--kalman {}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("--kalman {}: {e}", path.display()))
}

pub fn evaluate(
    seconds: f64,
    seed: u64,
    noise: bool,
    pushes: bool,
    kf_cfg: KfConfig,
) -> Result<EstimatorReport> {
    if !(seconds.is_finite() && seconds > 0.0) {
        bail!("--seconds must be positive");
    }
    let cfg = SimConfig {
        timestep_s: 0.002,
        decimation: 10,
        pushes: pushes.then(g1_sim::PushConfig::default),
        ..SimConfig::default()
    };
    let assets = g1_sim::default_assets_dir();
    let mut sim = Sim::new(&assets, cfg.clone())?;
    let mut expert = Expert::load(&assets.join("policies/velocity_mjlab"), None)?;
    let init = rollout::initial_state(&mut sim, &mut expert)?;
    sim.reset(&init, seed)?;
    expert.reset(&rollout::robot_state(&sim))?;
    let mut kf = ContactKf::new(kf_cfg);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED);
    let k = if noise { 1.0 } else { 0.0 };
    let bias: [f64; 3] = std::array::from_fn(|_| k * 0.1 * rng.sample::<f64, _>(StandardNormal));
    let mut sample = |sim: &Sim| {
        let s = sim.sensors();
        let mut n = |sd: f64| k * sd * rng.sample::<f64, _>(StandardNormal);
        Sample {
            dt: cfg.timestep_s,
            quat_wxyz: s.imu_quat_wxyz,
            gyro_b: s.gyro_b.map(|v| v + n(0.02)),
            accel_b: std::array::from_fn(|i| s.accel_b[i] + bias[i] + n(0.2)),
            q: s.q.map(|v| v + n(0.002)),
            dq: s.dq.map(|v| v + n(0.1)),
            tau: Some(s.tau),
        }
    };
    let gt0 = sim.ground_truth();
    kf.reset(gt0.root.pos_w, Vector3::zeros(), &sample(&sim));
    let steps = (seconds / cfg.timestep_s).round() as usize;
    let (mut path, mut sq_v, mut sq_vp, mut sq_z, mut max_err) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
    let mut prev_xy = [gt0.root.pos_w.x, gt0.root.pos_w.y];
    let mut last_err = 0.0;
    let mut fell = false;
    let mut n = 0usize;
    let (mut pushed_at, mut sq_push, mut n_push) = (None::<usize>, 0.0, 0usize);
    for k in 0..steps {
        if k % cfg.decimation == 0 {
            let before = sim.pushes_applied();
            sim.apply_due_push();
            if sim.pushes_applied() > before {
                pushed_at = Some(k);
            }
            let t = k as f64 * cfg.timestep_s;
            let cmd = SCHEDULE[((t / 4.0) as usize) % SCHEDULE.len()];
            let a = expert.step(&rollout::robot_state(&sim), cmd)?;
            sim.set_command(&MotorCommand::with_gains(a.q_target, a.kp, a.kd));
        }
        sim.step_physics();
        let est = kf.step(&sample(&sim));
        let gt = sim.ground_truth();
        let xy = [gt.root.pos_w.x, gt.root.pos_w.y];
        path += ((xy[0] - prev_xy[0]).powi(2) + (xy[1] - prev_xy[1]).powi(2)).sqrt();
        prev_xy = xy;
        let dv = est.root.lin_vel_w - gt.root.lin_vel_w;
        sq_v += dv.norm_squared();
        sq_vp += dv.x * dv.x + dv.y * dv.y;
        if pushed_at.is_some_and(|p| (k - p) as f64 * cfg.timestep_s < 0.1) {
            sq_push += dv.x * dv.x + dv.y * dv.y;
            n_push += 1;
        }
        sq_z += (est.root.pos_w.z - gt.root.pos_w.z).powi(2);
        let dp = est.root.pos_w - gt.root.pos_w;
        last_err = (dp.x * dp.x + dp.y * dp.y).sqrt();
        max_err = max_err.max(last_err);
        n += 1;
        if gt.head_height_m < g1_sim::FALL_HEAD_HEIGHT_M {
            fell = true;
            break;
        }
    }
    let n = n.max(1) as f64;
    Ok(EstimatorReport {
        seconds,
        distance_walked_m: path,
        final_position_error_m: last_err,
        drift_per_metre: last_err / path.max(1e-9),
        max_position_error_m: max_err,
        velocity_rmse_mps: (sq_v / n).sqrt(),
        planar_velocity_rmse_mps: (sq_vp / n).sqrt(),
        height_rmse_m: (sq_z / n).sqrt(),
        pushes: sim.pushes_applied(),
        after_push_velocity_rmse_mps: (n_push > 0).then(|| (sq_push / n_push as f64).sqrt()),
        sensor_noise: noise,
        fell,
    })
}

pub fn bench_estimator(a: BenchEstimatorArgs) -> Result<()> {
    let r = evaluate(
        a.seconds,
        a.seed,
        a.sensor_noise,
        a.pushes,
        kalman_config(a.kalman.as_deref())?,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "contact-aided KF vs simulator truth, velocity expert walking {} s with turns (seed {}, {})",
            a.seconds,
            a.seed,
            if a.sensor_noise { "noisy sensors" } else { "noise-free sensors" }
        );
        println!(
            "  walked {:.2} m; final planar error {:.3} m = {:.1} % of the distance (target ≤ 5 %); max {:.3} m",
            r.distance_walked_m,
            r.final_position_error_m,
            100.0 * r.drift_per_metre,
            r.max_position_error_m
        );
        println!(
            "  velocity RMSE {:.3} m/s (planar {:.3}; target ≤ 0.1); height RMSE {:.3} m{}",
            r.velocity_rmse_mps,
            r.planar_velocity_rmse_mps,
            r.height_rmse_m,
            if r.fell { "  — the walk FELL" } else { "" }
        );
        if let Some(v) = r.after_push_velocity_rmse_mps {
            println!(
                "  {} pushes; planar velocity RMSE in the 100 ms after each: {v:.3} m/s",
                r.pushes
            );
        }
    }
    Ok(())
}
