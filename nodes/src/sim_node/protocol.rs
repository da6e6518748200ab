//! The robot's protocol on the simulator's side: a LowCmd as the simulator's motor command,
//! the sensors as a signed LowState, the physics steps per control period.

use anyhow::{bail, Result};
use g1::NUM_JOINTS;
use g1_hg::{sign_low_state, Buttons, Remote};
use g1_msgs::unitree::{LowCmd, LowState};
use g1_sim::MotorCommand;

/// The simulator's motor command for a `LowCmd` (a motor with mode 0 is unpowered).
pub fn motor_command(c: &LowCmd) -> MotorCommand {
    let m = &c.motor_cmd;
    let on = |j: usize| if m[j].mode == 0 { 0.0 } else { 1.0 };
    MotorCommand {
        q: std::array::from_fn(|j| m[j].q as f64),
        dq: std::array::from_fn(|j| m[j].dq as f64),
        kp: std::array::from_fn(|j| on(j) * m[j].kp as f64),
        kd: std::array::from_fn(|j| on(j) * m[j].kd as f64),
        tau: std::array::from_fn(|j| on(j) * m[j].tau as f64),
    }
}

/// Physics steps per 20 ms control period for the `timestep_s` parameter (it must divide it).
pub fn decimation_for(timestep_s: f64) -> Result<usize> {
    let decimation = (0.02 / timestep_s).round().max(1.0) as usize;
    if ((decimation as f64) * timestep_s - 0.02).abs() > 1e-9 {
        bail!("parameter `timestep_s` ({timestep_s}) must divide the 20 ms control period");
    }
    Ok(decimation)
}

/// The robot's `rt/lowstate` for these sensor readings, signed (what `g1_sim` publishes at
/// every physics step, and the deployed evaluation feeds the bridge).
pub fn low_state_of(s: &g1_sim::Sensors, tick: u32, mode_machine: u8, remote: &Remote) -> LowState {
    let mut m = LowState {
        mode_machine,
        tick,
        ..Default::default()
    };
    for j in 0..NUM_JOINTS {
        let ms = &mut m.motor_state[j];
        ms.mode = 1;
        ms.q = s.q[j] as f32;
        ms.dq = s.dq[j] as f32;
        ms.tau_est = s.tau[j] as f32;
        ms.temperature = [35, 35];
        ms.vol = 58.0;
    }
    let i = &mut m.imu_state;
    i.quaternion = s.imu_quat_wxyz.map(|v| v as f32);
    i.gyroscope = s.gyro_b.map(|v| v as f32);
    i.accelerometer = s.accel_b.map(|v| v as f32);
    let q = g1::quat_from_wxyz(s.imu_quat_wxyz);
    let (r, p, y) = q.euler_angles();
    i.rpy = [r as f32, p as f32, y as f32];
    m.wireless_remote = remote.encode();
    sign_low_state(&mut m);
    m
}

/// The wireless remote at `t` s of a `remote_script` (`(start s, chord)` entries, each chord
/// held for 0.1 s).
pub fn scripted_remote(script: &[(f64, u16)], t: f64) -> Remote {
    let held = script
        .iter()
        .filter(|(t0, _)| t >= *t0 && t < t0 + 0.1)
        .fold(0u16, |b, (_, c)| b | c);
    Remote {
        buttons: Buttons(held),
        ..Default::default()
    }
}
