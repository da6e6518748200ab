//! The `Controller` stepper (what the planner node runs): unguided, from a standing start, the
//! shipped model keeps the simulated G1 standing; a planning failure holds, then stops
//! commanding.

use g1::{forward_kinematics, CharacterFrame};
use g1_control::{Command, ControlConfig, Controller, Planner, PlannerConfig, Task};
use g1_sim::{MotorCommand, Sim, SimConfig};

#[test]
fn controller_stepper_keeps_the_g1_standing() {
    let dir = g1_sim::default_assets_dir().join("models/default");
    let (m, net) = g1_diffusion::open_ort(&dir, g1_diffusion::OrtDevice::Cpu, 1).unwrap();
    let planner = Planner::new(Box::new(net), m, PlannerConfig::default()).unwrap();
    let mut c = Controller::new(planner, ControlConfig::default());
    let cfg = SimConfig {
        timestep_s: 0.002,
        decimation: 10,
        ..Default::default()
    };
    let mut sim = Sim::new(&g1_sim::default_assets_dir(), cfg).unwrap();
    let init = g1_control::drive::standing_start(&mut sim);
    sim.reset(&init, 0).unwrap();
    let mut commanded = 0;
    // The command computed from the state at step k is executed from step k + 1 (one control
    // period of latency, as in the node pipeline).
    let mut pending: Option<Command> = None;
    for k in 0..250 {
        let gt = sim.ground_truth();
        let kin = forward_kinematics(&gt.root, &gt.q, &gt.dq);
        let s = g1::build_state_self(&kin);
        let f = CharacterFrame::from_root(&gt.root.pos_w, &gt.root.quat_w);
        let cmd = c.step(s, f, &gt.q, None, &Task::Free, &[]).unwrap();
        if let Some(Command::Targets { q, kp, kd, .. }) = pending.replace(cmd) {
            assert!(q.iter().all(|v| v.is_finite()));
            sim.set_command(&MotorCommand::with_gains(q, kp, kd));
            commanded += 1;
        }
        sim.step_control();
        let h = sim.ground_truth().head_height_m;
        assert!(h > 1.0, "head at {h:.2} m at step {k}: the G1 is falling");
    }
    assert_eq!(commanded, 249);
    assert_eq!(c.failed_plans, 0);
    assert!(c.plan().is_some());
}
