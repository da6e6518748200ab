//! The g1 crate's kinematics and Body-Pos state against MuJoCo's own computation.

use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{forward_kinematics, quat_from_wxyz, RootState, JOINTS, NUM_BODIES, NUM_JOINTS};
use g1_sim::{default_assets_dir, InitialState, MotorCommand, Sim, SimConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_state(rng: &mut ChaCha8Rng) -> InitialState {
    let root = RootState {
        pos_w: Vector3::new(
            rng.gen_range(-2.0..2.0),
            rng.gen_range(-2.0..2.0),
            rng.gen_range(0.3..1.2),
        ),
        quat_w: UnitQuaternion::from_euler_angles(
            rng.gen_range(-3.1..3.1),
            rng.gen_range(-1.5..1.5),
            rng.gen_range(-3.1..3.1),
        ),
        lin_vel_w: Vector3::new(
            rng.gen_range(-2.0..2.0),
            rng.gen_range(-2.0..2.0),
            rng.gen_range(-2.0..2.0),
        ),
        ang_vel_w: Vector3::new(
            rng.gen_range(-3.0..3.0),
            rng.gen_range(-3.0..3.0),
            rng.gen_range(-3.0..3.0),
        ),
    };
    let q = std::array::from_fn(|i| {
        let [lo, hi] = JOINTS[i].pos_limits_rad;
        rng.gen_range(lo..hi)
    });
    let dq = std::array::from_fn(|_| rng.gen_range(-5.0..5.0));
    InitialState { root, q, dq }
}

#[test]
fn fk_matches_mujoco_on_random_configurations() {
    let mut sim = Sim::new(&default_assets_dir(), SimConfig::default()).expect("load G1");
    let mut rng = ChaCha8Rng::seed_from_u64(1234);
    let mut worst = [0.0f64; 4];
    for _ in 0..200 {
        let st = random_state(&mut rng);
        sim.set_configuration(&st);
        let kin = forward_kinematics(&st.root, &st.q, &st.dq);
        for b in 0..NUM_BODIES {
            let (p, q) = sim.mujoco_body_pose(b);
            let (v, w) = sim.mujoco_body_velocity(b);
            let dp = (kin.pos_w[b] - Vector3::from(p)).norm();
            let dr = kin.quat_w[b].angle_to(&quat_from_wxyz(q));
            let dv = (kin.lin_vel_w[b] - Vector3::from(v)).norm();
            let dw = (kin.ang_vel_w[b] - Vector3::from(w)).norm();
            for (k, d) in [dp, dr, dv, dw].into_iter().enumerate() {
                worst[k] = worst[k].max(d);
            }
        }
    }
    println!(
        "worst errors: pos {:.2e} m, rot {:.2e} rad, lin vel {:.2e} m/s, ang vel {:.2e} rad/s",
        worst[0], worst[1], worst[2], worst[3]
    );
    assert!(
        worst.iter().all(|e| *e <= 1e-6),
        "FK disagrees with MuJoCo: {worst:?}"
    );
}

#[test]
fn body_pos_state_matches_mujoco_quantities() {
    // The state built from our FK equals the state built from MuJoCo's xpos / object velocities.
    let mut sim = Sim::new(&default_assets_dir(), SimConfig::default()).expect("load G1");
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for _ in 0..100 {
        let st = random_state(&mut rng);
        sim.set_configuration(&st);
        let ours = g1::build_state_self(&forward_kinematics(&st.root, &st.q, &st.dq));
        let mut kin = forward_kinematics(&st.root, &st.q, &st.dq);
        for b in 0..NUM_BODIES {
            let (p, q) = sim.mujoco_body_pose(b);
            let (v, w) = sim.mujoco_body_velocity(b);
            kin.pos_w[b] = Vector3::from(p);
            kin.quat_w[b] = quat_from_wxyz(q);
            kin.lin_vel_w[b] = Vector3::from(v);
            kin.ang_vel_w[b] = Vector3::from(w);
        }
        let theirs = g1::build_state_self(&kin);
        for i in 0..g1::STATE_DIM {
            assert!(
                (ours[i] - theirs[i]).abs() <= 1e-6,
                "index {i}: {} vs {}",
                ours[i],
                theirs[i]
            );
        }
    }
}

#[test]
fn sensors_report_pd_torque_and_gravity() {
    // Without a balance controller the G1 eventually tips over, so only the first 0.3 s.
    let mut sim = Sim::new(&default_assets_dir(), SimConfig::default()).unwrap();
    let mut init = InitialState::standing(0.8);
    sim.place_on_ground(&mut init);
    sim.reset(&init, 0).unwrap();
    let target = g1::default_pose();
    let cmd = MotorCommand::position(target);
    sim.set_command(&cmd);
    for _ in 0..15 {
        sim.step_control();
    }
    let gt = sim.ground_truth();
    assert!(gt.head_height_m > 1.15, "head at {}", gt.head_height_m);
    assert!((gt.time_s - 0.3).abs() < 1e-9);
    assert_eq!(sim.foot_contacts(), [true, true], "standing on both feet");
    let s = sim.sensors();
    let a = Vector3::from(s.accel_b).norm();
    assert!((a - 9.81).abs() < 0.5, "accelerometer |a| = {a}");
    // Reported torque = what MuJoCo's actuators apply in this state (kp, kd written into the
    // model's actuator parameters from the command; forces clamped by the joint effort limits).
    sim.forward();
    let force = sim.data().actuator_force();
    for i in 0..NUM_JOINTS {
        assert!(
            (s.tau[i] - force[i]).abs() < 1e-9 * (1.0 + force[i].abs()),
            "joint {i}: {} vs {}",
            s.tau[i],
            force[i]
        );
    }
    assert!(
        s.tau.iter().any(|t| t.abs() > 1.0),
        "no joint is loaded: {:?}",
        s.tau
    );
}

fn rollout(seed: u64, cfg: SimConfig) -> Vec<f64> {
    let mut sim = Sim::new(&default_assets_dir(), cfg).unwrap();
    let mut init = InitialState::standing(0.8);
    sim.place_on_ground(&mut init);
    sim.reset(&init, seed).unwrap();
    let mut out = Vec::new();
    for k in 0..75 {
        let q: [f64; NUM_JOINTS] =
            std::array::from_fn(|i| g1::default_pose()[i] + 0.1 * ((k + i) as f64 * 0.3).sin());
        sim.set_command(&MotorCommand::position(q));
        sim.step_control();
        out.extend_from_slice(sim.data().qpos());
        out.extend_from_slice(sim.data().qvel());
    }
    out
}

#[test]
fn same_seed_same_trajectory_bit_for_bit() {
    let cfg = SimConfig {
        randomization: g1_sim::Randomization::training(),
        pushes: Some(g1_sim::PushConfig {
            interval_s: [0.3, 0.6],
            max_speed_mps: 0.5,
        }),
        ..SimConfig::default()
    };
    let a = rollout(5, cfg.clone());
    let b = rollout(5, cfg.clone());
    let c = rollout(6, cfg);
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "same seed diverged"
    );
    assert!(
        a.iter().zip(&c).any(|(x, y)| x != y),
        "different seeds gave the same trajectory"
    );
}

#[test]
fn obstacles_are_in_the_scene_and_report_contacts() {
    let cfg: SimConfig = serde_yaml::from_str(
        "obstacles:\n  - {shape: cylinder, center: [0.0, 0.0], radius: 0.3, height: 1.5}\n  - {shape: box, center: [3.0, -0.8], half_extents: [0.2, 0.3, 0.5], yaw: 0.3}\n  - {shape: sphere, center: [1.5, 0.8, 0.5], radius: 0.25}\n",
    )
    .unwrap();
    let mut sim = Sim::new(&default_assets_dir(), cfg).unwrap();
    // The robot stands inside the cylinder at the origin: contacts must be reported.
    sim.step_control();
    assert!(sim.obstacle_contacts() > 0);
    // Which bodies touch: the pelvis stands on the cylinder's axis; each body is named once.
    let bodies = sim.obstacle_contact_bodies();
    assert!(bodies.contains(&(g1::Body::Pelvis as usize)), "{bodies:?}");
    assert!(bodies.windows(2).all(|w| w[0] < w[1]), "{bodies:?}");
    assert!(bodies.iter().all(|&b| b < g1::NUM_BODIES), "{bodies:?}");
    let bad: Result<SimConfig, _> =
        serde_yaml::from_str("obstacles:\n  - {shape: cone, center: [0, 0], radius: 1}\n");
    assert!(bad.is_err());
    let cfg = SimConfig {
        obstacles: vec![g1_sim::Obstacle::Sphere {
            center: vec![1.0],
            radius: 0.2,
        }],
        ..SimConfig::default()
    };
    let err = Sim::new(&default_assets_dir(), cfg)
        .err()
        .expect("bad obstacle accepted")
        .to_string();
    assert!(err.contains("obstacles[0]"), "{err}");
}

#[test]
fn shipped_sim_config_parses_and_validates() {
    let path = default_assets_dir().join("../config/sim_randomized.yaml");
    let cfg: SimConfig = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg.obstacles.len(), 1);
    let bad: Result<SimConfig, _> = serde_yaml::from_str("timestep: 0.005\n");
    assert!(bad.unwrap_err().to_string().contains("timestep"));
    let cfg = SimConfig {
        timestep_s: 0.5,
        ..SimConfig::default()
    };
    assert!(cfg
        .validate()
        .unwrap_err()
        .to_string()
        .contains("timestep_s"));
}

/// Foot contacts follow the geometry: both feet on the floor, one lifted, both in the air.
#[test]
fn foot_contacts_follow_the_feet() {
    let mut sim = Sim::new(&default_assets_dir(), SimConfig::default()).unwrap();
    let mut stance = InitialState::standing(0.8);
    // Left hip flexed and knee bent: the left foot swings clear of the floor.
    stance.q[g1::Joint::LeftHipPitch.index()] = -0.8;
    stance.q[g1::Joint::LeftKnee.index()] = 1.2;
    sim.place_on_ground(&mut stance);
    stance.root.pos_w.z -= 0.002;
    sim.set_configuration(&stance);
    assert_eq!(sim.foot_contacts(), [false, true], "left foot lifted");
    let mut both = InitialState::standing(0.8);
    sim.place_on_ground(&mut both);
    both.root.pos_w.z -= 0.002;
    sim.set_configuration(&both);
    assert_eq!(sim.foot_contacts(), [true, true], "both feet down");
    both.root.pos_w.z += 0.2;
    sim.set_configuration(&both);
    assert_eq!(sim.foot_contacts(), [false, false], "in the air");
}
