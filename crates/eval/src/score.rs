//! Scoring a run of a scenario from its trajectory: success, falls, contacts, reach time,
//! final error, velocity and yaw-rate tracking.

use serde::Serialize;

use crate::scenario::{tour_advance, Scenario, TaskKind, JOYSTICK_OK_MPS, REACH_M, STOP_MPS};

/// One run's outcome. `runs.json` in the output directory keeps these (without the path and
/// the latency samples), so a failed run can be found again by its seed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    pub seed: u64,
    pub success: bool,
    pub fell: bool,
    /// Simulated time of the fall.
    pub fall_time_s: Option<f64>,
    pub contacts: u64,
    /// Control steps each robot body (by name) touched an obstacle in (diffusion runs).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub contact_bodies: std::collections::BTreeMap<String, u64>,
    /// First time within reach of the goal.
    pub time_s: Option<f64>,
    pub final_error_m: Option<f64>,
    pub velocity_error_mps: Option<f64>,
    /// Joystick: mean over segments of |mean yaw rate − commanded wz| (rad/s).
    pub yaw_rate_error_rps: Option<f64>,
    /// Where the run ended (metres, world frame = the starting heading frame).
    pub end_xy: Option<[f64; 2]>,
    #[serde(skip)]
    pub path: Vec<[f64; 2]>,
    #[serde(skip)]
    pub plan_latency_ms: Vec<f64>,
    pub fresh_share: Option<f64>,
    /// Deployed profile: the estimator's state against the simulator's truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_error: Option<EstimateError>,
    /// Tour: waypoints reached, in turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waypoints_reached: Option<usize>,
    /// Tour: mean distance of the root from the tour's path (the legs walked and being walked, m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_error_m: Option<f64>,
    /// Tour: mean |heading − the segment's direction| as each waypoint is reached (rad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaw_error_rad: Option<f64>,
}

/// How far the estimator's state was from the simulator's truth over an episode's control
/// steps (what the controller saw against what was; the deployed profile).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EstimateError {
    /// RMS of the planar (x, y) velocity error (m/s).
    pub planar_velocity_rms_mps: f64,
    /// Largest planar velocity error (m/s).
    pub planar_velocity_max_mps: f64,
    /// RMS of the vertical velocity error (m/s).
    pub vertical_velocity_rms_mps: f64,
    /// Planar position error at the end (m): the estimate's drift from where the robot is.
    pub final_position_error_m: f64,
    /// RMS height error (m).
    pub height_rms_m: f64,
    /// RMS of the angular velocity error (rad/s).
    pub angular_velocity_rms_rps: f64,
    /// Control steps compared.
    pub steps: u64,
}

/// One control step of a run, as scored.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t: f64,
    /// Root position (m, world).
    pub xy: [f64; 2],
    /// Root planar velocity in the heading frame (m/s).
    pub vel: [f64; 2],
    /// Heading (rad).
    pub yaw: f64,
}

/// An angle (rad) wrapped into [−π, π).
pub fn wrap_pi(a: f64) -> f64 {
    (a + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI) - std::f64::consts::PI
}

/// Mean yaw rate (rad/s) over `samples` from the unwrapped heading change end to end.
fn mean_yaw_rate(samples: &[&Sample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if last.t - first.t <= 0.0 {
        return None;
    }
    let turned: f64 = samples
        .windows(2)
        .map(|w| wrap_pi(w[1].yaw - w[0].yaw))
        .sum();
    Some(turned / (last.t - first.t))
}

/// Scores a finished run from its trajectory.
pub fn score(s: &Scenario, fell: bool, contacts: u64, log: &[Sample]) -> RunResult {
    let path: Vec<[f64; 2]> = log.iter().map(|l| l.xy).collect();
    let mut r = RunResult {
        seed: 0,
        success: false,
        fell,
        fall_time_s: None,
        contacts,
        contact_bodies: Default::default(),
        time_s: None,
        final_error_m: None,
        velocity_error_mps: None,
        yaw_rate_error_rps: None,
        end_xy: path.last().copied(),
        path,
        plan_latency_ms: vec![],
        fresh_share: None,
        estimate_error: None,
        waypoints_reached: None,
        path_error_m: None,
        yaw_error_rad: None,
    };
    match s.task {
        TaskKind::WalkPerturb => {
            // Success is not falling; the planar velocity error (after the first second, pushes
            // included) shows whether the walk kept its commanded speed while doing so.
            let v = s.speed.unwrap_or(0.5);
            let errs: Vec<f64> = log
                .iter()
                .filter(|l| l.t >= 1.0)
                .map(|l| (l.vel[0] - v).hypot(l.vel[1]))
                .collect();
            r.velocity_error_mps =
                (!errs.is_empty()).then(|| errs.iter().sum::<f64>() / errs.len() as f64);
            r.success = !fell;
        }
        TaskKind::Joystick => {
            // Mean planar velocity error, skipping the first second of every segment; the
            // yaw-rate error: per segment, |mean yaw rate − wz| over the same window, averaged.
            let (mut sum, mut n) = (0.0, 0usize);
            let (mut yaw_sum, mut yaw_n) = (0.0, 0usize);
            let mut start = 0.0;
            for c in &s.commands {
                let window: Vec<&Sample> = log
                    .iter()
                    .filter(|l| l.t >= start + 1.0 && l.t < start + c[3])
                    .collect();
                for l in &window {
                    sum += ((l.vel[0] - c[0]).powi(2) + (l.vel[1] - c[1]).powi(2)).sqrt();
                    n += 1;
                }
                if let Some(w) = mean_yaw_rate(&window) {
                    yaw_sum += (w - c[2]).abs();
                    yaw_n += 1;
                }
                start += c[3];
            }
            let e = if n > 0 { sum / n as f64 } else { f64::INFINITY };
            r.velocity_error_mps = Some(e);
            r.yaw_rate_error_rps = (yaw_n > 0).then(|| yaw_sum / yaw_n as f64);
            r.success = !fell && e <= JOYSTICK_OK_MPS;
        }
        TaskKind::Waypoint | TaskKind::Obstacles => {
            // Scenario files are checked to give these tasks a goal; without one, no success.
            let Some(g) = s.goal else { return r };
            let dist = |p: &[f64; 2]| ((p[0] - g[0]).powi(2) + (p[1] - g[1]).powi(2)).sqrt();
            if let Some(Sample { xy: p, vel: v, .. }) = log.last() {
                let e = dist(p);
                r.final_error_m = Some(e);
                let speed = (v[0] * v[0] + v[1] * v[1]).sqrt();
                r.time_s = log.iter().find(|l| dist(&l.xy) <= REACH_M).map(|l| l.t);
                r.success = !fell && e <= REACH_M && speed <= STOP_MPS;
                if s.task == TaskKind::Obstacles {
                    r.success &= contacts == 0;
                }
            }
        }
        TaskKind::Tour => score_tour(s, fell, log, &mut r),
    }
    r
}

/// Distance (m) from `p` to the segment `a`–`b`.
fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

/// A tour is completed when every waypoint has been reached in turn without a fall. Its
/// errors: the root's mean distance from the tour's path (the legs from the start through the
/// waypoints, up to the one being walked to), the heading against that segment's direction as each
/// waypoint is reached, and the distance from the waypoint being walked to at the end (the last
/// one once completed).
fn score_tour(s: &Scenario, fell: bool, log: &[Sample], r: &mut RunResult) {
    let w = &s.waypoints;
    if w.is_empty() {
        return;
    }
    let Some(end) = log.last().map(|l| l.xy) else {
        return;
    };
    let from = |i: usize| if i == 0 { [0.0, 0.0] } else { w[i - 1] };
    let (mut reached, mut path_sum, mut yaw_errors) = (0usize, 0.0, vec![]);
    for l in log {
        // Off the tour's path: the nearest of the legs walked so far and the one being walked.
        path_sum += (0..=reached.min(w.len() - 1))
            .map(|i| segment_distance(l.xy, from(i), w[i]))
            .fold(f64::INFINITY, f64::min);
        let next = tour_advance(w, reached, l.xy);
        if next > reached {
            let (a, b) = (from(reached), w[reached]);
            let dir = (b[1] - a[1]).atan2(b[0] - a[0]);
            yaw_errors.push(wrap_pi(l.yaw - dir).abs());
            reached = next;
            if reached == w.len() {
                r.time_s = Some(l.t);
            }
        }
    }
    let target = w.get(reached).or(w.last()).copied().unwrap_or([0.0, 0.0]);
    r.final_error_m = Some((end[0] - target[0]).hypot(end[1] - target[1]));
    r.waypoints_reached = Some(reached);
    r.path_error_m = Some(path_sum / log.len() as f64);
    r.yaw_error_rad =
        (!yaw_errors.is_empty()).then(|| yaw_errors.iter().sum::<f64>() / yaw_errors.len() as f64);
    r.success = !fell && reached == w.len();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ScenarioFile;

    fn scenario(yaml: &str) -> Scenario {
        let s: Scenario = serde_yaml::from_str(yaml).unwrap();
        s.check().unwrap();
        s
    }

    /// The scenario files the repository ships parse and pass the checks `g1d eval` applies.
    #[test]
    fn shipped_scenario_files_are_valid() {
        let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        for (name, want) in [
            (
                "eval_scenarios.yaml",
                &["walk_perturb", "joystick_square", "waypoint_a", "forest_a"][..],
            ),
            (
                "eval_courses.yaml",
                &[
                    "far_waypoint",
                    "behind",
                    "wall_gap",
                    "forest_b",
                    "joystick_turns",
                ][..],
            ),
        ] {
            let text = std::fs::read_to_string(config.join(name)).unwrap();
            let f: ScenarioFile = serde_yaml::from_str(&text).unwrap();
            let names: Vec<&str> = f.scenarios.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, want, "{name}");
            for s in &f.scenarios {
                s.check().unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
        }
    }

    /// A straight walk along +x at `v` m/s for `secs`, then standing still for `hold` s.
    fn walk(v: f64, secs: f64, hold: f64) -> Vec<Sample> {
        let dt = 0.02;
        let mut log = vec![];
        let (mut t, mut x) = (0.0, 0.0);
        while t < secs + hold {
            let vi = if t < secs { v } else { 0.0 };
            x += vi * dt;
            t += dt;
            log.push(Sample {
                t,
                xy: [x, 0.0],
                vel: [vi, 0.0],
                yaw: 0.0,
            });
        }
        log
    }

    #[test]
    fn waypoint_needs_reach_stop_and_no_contact() {
        let wp = scenario("{name: w, task: waypoint, goal: [2.0, 0.0]}");
        // 0.5 m/s for 4 s reaches x = 2.0 at t = 4 s, then stands.
        let r = score(&wp, false, 0, &walk(0.5, 4.0, 1.0));
        assert!(r.success);
        assert!((r.time_s.unwrap() - 3.4).abs() < 0.03, "{:?}", r.time_s); // within 0.3 m
        assert!(r.final_error_m.unwrap() < 0.02);
        // Still moving at the end: not a success, though within reach.
        assert!(!score(&wp, false, 0, &walk(0.5, 4.0, 0.0)).success);
        // Stopped 0.5 m short.
        let short = score(&wp, false, 0, &walk(0.5, 3.0, 1.0));
        assert!(!short.success && (short.final_error_m.unwrap() - 0.5).abs() < 0.02);
        // A fall fails it.
        assert!(!score(&wp, true, 0, &walk(0.5, 4.0, 1.0)).success);
        // Contacts count only on the obstacle task.
        assert!(score(&wp, false, 3, &walk(0.5, 4.0, 1.0)).success);
        let ob = scenario("{name: o, task: obstacles, goal: [2.0, 0.0]}");
        assert!(!score(&ob, false, 3, &walk(0.5, 4.0, 1.0)).success);
        assert!(score(&ob, false, 0, &walk(0.5, 4.0, 1.0)).success);
    }

    #[test]
    fn joystick_error_skips_each_segments_first_second() {
        let js = scenario("{name: j, task: joystick, commands: [[0.5, 0, 0, 2], [0, 0, 0, 2]]}");
        // Walking 0.5 m/s for 2 s, then standing: exact tracking, error 0.
        let r = score(&js, false, 0, &walk(0.5, 2.0, 2.0));
        assert!(r.success && r.velocity_error_mps.unwrap() < 1e-9, "{r:?}");
        // Walking 0.3 m/s all the time: 0.2 m/s off in the first segment, 0.3 in the second.
        let r = score(&js, false, 0, &walk(0.3, 4.0, 0.0));
        let e = r.velocity_error_mps.unwrap();
        assert!((e - 0.25).abs() < 0.01, "{e}");
        // 0.8 m/s throughout: 0.3 and 0.8 m/s off, mean 0.55 > 0.25.
        assert!(!score(&js, false, 0, &walk(0.8, 4.0, 0.0)).success);
        // Heading held: no yaw-rate error.
        assert!(r.yaw_rate_error_rps.unwrap() < 1e-12);
    }

    /// The yaw-rate error through the ±π wrap: turning at 0.5 rad/s for 10 s (five wraps of
    /// the heading) against commands of 0.5 and then 0.2 rad/s.
    #[test]
    fn walk_perturb_scores_falls_and_reports_the_speed_kept() {
        let wp = scenario("{name: p, task: walk_perturb, speed: 0.5}");
        // 0.3 m/s for 5 s: no fall is a success, the error after the first second is 0.2.
        let slow = walk(0.3, 5.0, 0.0);
        let r = score(&wp, false, 0, &slow);
        assert!(r.success);
        assert!((r.velocity_error_mps.unwrap() - 0.2).abs() < 1e-9);
        // Walking 0.5 m/s for 1 s, then standing: the first second is skipped.
        let stop = walk(0.5, 1.0, 4.0);
        let e = score(&wp, false, 0, &stop).velocity_error_mps.unwrap();
        assert!((e - 0.5).abs() < 0.01, "{e}");
        assert!(!score(&wp, true, 0, &slow).success);
    }

    #[test]
    fn yaw_rate_error_unwraps_the_heading() {
        let js = scenario("{name: j, task: joystick, commands: [[0, 0, 0.5, 5], [0, 0, 0.2, 5]]}");
        let log: Vec<Sample> = (1..=500)
            .map(|k| {
                let t = k as f64 * 0.02;
                let yaw = (0.5 * t + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
                    - std::f64::consts::PI;
                Sample {
                    t,
                    xy: [0.0, 0.0],
                    vel: [0.0, 0.0],
                    yaw,
                }
            })
            .collect();
        let e = score(&js, false, 0, &log).yaw_rate_error_rps.unwrap();
        // Segment errors 0 and 0.3 rad/s.
        assert!((e - 0.15).abs() < 1e-9, "{e}");
    }

    /// A straight-line walk through `points` at 0.5 m/s, heading `yaw(segment)`, then 1 s still.
    fn walk_through(points: &[[f64; 2]], yaw: &dyn Fn(usize) -> f64) -> Vec<Sample> {
        let dt = 0.02;
        let (mut log, mut t, mut at) = (vec![], 0.0, [0.0, 0.0]);
        for (i, p) in points.iter().enumerate() {
            let (dx, dy) = (p[0] - at[0], p[1] - at[1]);
            let n = ((dx.hypot(dy) / 0.5) / dt).round() as usize;
            for k in 1..=n {
                t += dt;
                let f = k as f64 / n as f64;
                log.push(Sample {
                    t,
                    xy: [at[0] + f * dx, at[1] + f * dy],
                    vel: [0.5, 0.0],
                    yaw: yaw(i),
                });
            }
            at = *p;
        }
        for _ in 0..50 {
            t += dt;
            let yaw = log.last().map_or(0.0, |l| l.yaw);
            log.push(Sample {
                t,
                xy: at,
                vel: [0.0, 0.0],
                yaw,
            });
        }
        log
    }

    #[test]
    fn a_tour_is_its_waypoints_in_turn() {
        let tour = scenario("{name: t, task: tour, waypoints: [[1, 0], [1, 1], [0, 1]]}");
        let along = |i: usize| [0.0, std::f64::consts::FRAC_PI_2, std::f64::consts::PI][i];
        // Along the segments, facing each: completed, on the path, headings right.
        let log = walk_through(&[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], &along);
        let r = score(&tour, false, 0, &log);
        assert!(r.success, "{r:?}");
        assert_eq!(r.waypoints_reached, Some(3));
        assert!(r.path_error_m.unwrap() < 1e-9 && r.yaw_error_rad.unwrap() < 1e-9);
        assert!(r.final_error_m.unwrap() < 1e-9);
        // Reached as the root comes within 0.3 m of the last: 0.7 m into the third metre.
        assert!((r.time_s.unwrap() - 5.4).abs() < 0.03, "{:?}", r.time_s);
        // The same walk facing +x throughout: the heading errors at the waypoints are
        // 0, π/2 and π (mean π/2); a fall fails the tour.
        let r = score(
            &tour,
            false,
            0,
            &walk_through(&[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], &|_| 0.0),
        );
        assert!((r.yaw_error_rad.unwrap() - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        assert!(!score(&tour, true, 0, &log).success);
        // Cutting the corner to the second waypoint skips the first: nothing counts after it.
        let r = score(
            &tour,
            false,
            0,
            &walk_through(&[[1.0, 1.0], [0.0, 1.0]], &|_| 0.0),
        );
        assert!(!r.success);
        assert_eq!(r.waypoints_reached, Some(0));
        // The end is 1.41 m from the first waypoint, still the target.
        assert!((r.final_error_m.unwrap() - 2f64.sqrt()).abs() < 1e-9);
        // Stepping 0.5 m aside (1 s, 0.25 m off on average), then walking and standing 0.5 m
        // beside the first segment (3 s): (0.25 + 3 × 0.5) / 4 m off the path on average.
        let r = score(
            &tour,
            false,
            0,
            &walk_through(&[[0.0, 0.5], [1.0, 0.5]], &|_| 0.0),
        );
        assert!((r.path_error_m.unwrap() - 0.4375).abs() < 0.01, "{r:?}");
        assert_eq!(r.waypoints_reached, Some(0));
    }

    #[test]
    fn bad_scenarios_are_named() {
        let bad = [
            ("{name: a, task: obstacles}", "needs a goal"),
            ("{name: b, task: joystick}", "needs commands"),
            (
                "{name: c, task: joystick, commands: [[0.5, 0, 0, 0]]}",
                "seconds > 0",
            ),
            (
                "{name: d, task: waypoint, goal: [1, 0], seconds: -1}",
                "(0, 300]",
            ),
            ("{name: e, task: tour}", "needs waypoints"),
            (
                "{name: f, task: tour, waypoints: [[1, 0]], punches: {max_force_n: -5}}",
                "max_force_n",
            ),
            (
                "{name: g, task: tour, waypoints: [[1, 0]], arm_walk: {step_std_rad: 1}}",
                "step_std_rad",
            ),
        ];
        for (yaml, says) in bad {
            let s: Scenario = serde_yaml::from_str(yaml).unwrap();
            let e = format!("{:#}", s.check().unwrap_err());
            assert!(e.contains(says), "{yaml}: {e}");
        }
    }
}
