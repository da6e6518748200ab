//! The planner's `/diagnostics`: what it did over the last second of control steps.

use g1_msgs::diagnostic_msgs::{DiagnosticStatus, KeyValue};

use super::InputCounters;

/// Control steps per `/diagnostics` message (1 s at 50 Hz).
pub const DIAGNOSTICS_EVERY: u64 = 50;

/// What the planner did over the last `/diagnostics` window: plan compute times, failed plans,
/// steps without targets, and the disturbance gate (the model's surprise at the measured
/// velocity; `g1_control::task::DisturbanceGate`).
#[derive(Debug, Default)]
pub struct PlanningWindow {
    pub steps: u64,
    pub plan_ms: Vec<f64>,
    pub failed_plans: u64,
    /// Failed plans by kind (`g1_control::PlanError::kind`).
    pub failures: std::collections::BTreeMap<&'static str, u64>,
    pub no_target_steps: u64,
    pub surprise_max_mps: f64,
    pub gate_min: Option<f64>,
}

impl PlanningWindow {
    /// One control step: the new plan's compute time, or the kind of its failure; whether
    /// targets went out, the step's surprise and the gate after it.
    pub fn record(
        &mut self,
        plan: Result<f64, &'static str>,
        sent: bool,
        surprise: Option<f64>,
        gate: f64,
    ) {
        self.steps += 1;
        match plan {
            Ok(ms) => self.plan_ms.push(ms),
            Err(kind) => {
                self.failed_plans += 1;
                *self.failures.entry(kind).or_insert(0) += 1;
            }
        }
        if !sent {
            self.no_target_steps += 1;
        }
        self.surprise_max_mps = self.surprise_max_mps.max(surprise.unwrap_or(0.0));
        self.gate_min = Some(self.gate_min.map_or(gate, |g| g.min(gate)));
    }

    /// The window as a `diagnostic_msgs/DiagnosticStatus`: ERROR when plans failed or no
    /// targets went out, WARN when planning took longer than the control period `period_ms`
    /// or a disturbance closed the gate, OK otherwise.
    pub fn status(&self, period_ms: f64, task: &str) -> DiagnosticStatus {
        let pct = |p: f64| g1_control::percentile(&self.plan_ms, p).unwrap_or(f64::NAN);
        let gate = self.gate_min.unwrap_or(1.0);
        let (level, message) = if self.failed_plans > 0 || self.no_target_steps > 0 {
            (
                DiagnosticStatus::ERROR,
                format!(
                    "{} failed plans{}, {} steps without targets",
                    self.failed_plans,
                    if self.failures.is_empty() {
                        String::new()
                    } else {
                        let kinds: Vec<String> = self
                            .failures
                            .iter()
                            .map(|(k, n)| format!("{k} {n}"))
                            .collect();
                        format!(" ({})", kinds.join(", "))
                    },
                    self.no_target_steps
                ),
            )
        } else if pct(1.0) > period_ms {
            (
                DiagnosticStatus::WARN,
                format!("a plan took {:.1} ms (period {period_ms:.0} ms)", pct(1.0)),
            )
        } else if gate < 1.0 {
            (
                DiagnosticStatus::WARN,
                format!(
                    "disturbed: velocity {:.2} m/s off the model's prediction",
                    self.surprise_max_mps
                ),
            )
        } else {
            (DiagnosticStatus::OK, "planning".to_string())
        };
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        DiagnosticStatus {
            level,
            name: "g1_planner: planning".into(),
            message,
            hardware_id: "g1".into(),
            values: vec![
                kv("task", task.to_string()),
                kv("steps", self.steps.to_string()),
                kv("plans", self.plan_ms.len().to_string()),
                kv("failed_plans", self.failed_plans.to_string()),
                kv("steps_without_targets", self.no_target_steps.to_string()),
                kv("plan_ms_p50", format!("{:.2}", pct(0.5))),
                kv("plan_ms_max", format!("{:.2}", pct(1.0))),
                kv("surprise_max_mps", format!("{:.3}", self.surprise_max_mps)),
                kv("gate_min", format!("{gate:.2}")),
            ]
            .into_iter()
            .chain(
                self.failures
                    .iter()
                    .map(|(k, n)| kv(&format!("failed_plans_{k}"), n.to_string())),
            )
            .collect(),
        }
    }

    /// [`Self::status`] with the node's input counters and failed DDS writes: ERROR when a
    /// write failed, WARN (if it would be OK) when inputs were refused.
    pub fn node_status(
        &self,
        period_ms: f64,
        task: &str,
        inputs: &InputCounters,
        publish_failures: u64,
    ) -> DiagnosticStatus {
        let mut status = self.status(period_ms, task);
        for (k, v) in [
            ("rejected_inputs", inputs.rejected.to_string()),
            ("clamped_inputs", inputs.clamped.to_string()),
            ("publish_failures", publish_failures.to_string()),
            (
                "last_rejection",
                inputs.last_rejection.clone().unwrap_or_default(),
            ),
        ] {
            status.values.push(KeyValue {
                key: k.into(),
                value: v,
            });
        }
        if publish_failures > 0 {
            status.level = DiagnosticStatus::ERROR;
            status.message = format!("{publish_failures} writes to DDS failed");
        } else if inputs.rejected > 0 && status.level == DiagnosticStatus::OK {
            status.level = DiagnosticStatus::WARN;
            status.message = format!("planning; {} inputs refused", inputs.rejected);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics window: levels by precedence (failures, slow plans, disturbance) and the
    /// values it reports.
    #[test]
    fn planning_window_levels_and_values() {
        let value = |s: &DiagnosticStatus, k: &str| {
            s.values.iter().find(|v| v.key == k).unwrap().value.clone()
        };
        let mut w = PlanningWindow::default();
        for i in 0..50 {
            w.record(Ok(5.0 + (i % 5) as f64), true, Some(0.05), 1.0);
        }
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::OK, "{s:?}");
        assert_eq!(value(&s, "plans"), "50");
        assert_eq!(value(&s, "plan_ms_p50"), "7.00");
        assert_eq!(value(&s, "plan_ms_max"), "9.00");
        assert_eq!(value(&s, "gate_min"), "1.00");
        assert_eq!(value(&s, "task"), "joystick");
        // A push: the gate closes → WARN with the surprise.
        w.record(Ok(6.0), true, Some(0.45), 0.0);
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::WARN);
        assert!(s.message.contains("0.45"), "{}", s.message);
        assert_eq!(value(&s, "gate_min"), "0.00");
        // A plan slower than the period outranks the disturbance.
        w.record(Ok(25.0), true, None, 0.5);
        assert!(w.status(20.0, "joystick").message.contains("25.0 ms"));
        // A failed plan and a step without targets → ERROR.
        w.record(Err("non_finite"), false, None, 1.0);
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::ERROR);
        assert_eq!(value(&s, "failed_plans"), "1");
        assert_eq!(value(&s, "failed_plans_non_finite"), "1");
        assert!(s.message.contains("(non_finite 1)"), "{}", s.message);
        assert_eq!(value(&s, "steps_without_targets"), "1");
        assert_eq!(value(&s, "steps"), "53");
    }

    /// Refused inputs turn an OK window into WARN; a failed DDS write makes it ERROR.
    #[test]
    fn input_counters_and_write_failures_raise_the_level() {
        let mut w = PlanningWindow::default();
        w.record(Ok(5.0), true, Some(0.0), 1.0);
        let none = InputCounters::default();
        assert_eq!(
            w.node_status(20.0, "free", &none, 0).level,
            DiagnosticStatus::OK
        );
        let mut refused = InputCounters::default();
        refused.rejected = 2;
        refused.clamped = 1;
        refused.last_rejection = Some("cmd_vel: a non-finite velocity".into());
        let s = w.node_status(20.0, "free", &refused, 0);
        assert_eq!(s.level, DiagnosticStatus::WARN);
        assert!(s.message.contains("2 inputs refused"), "{}", s.message);
        let last = s.values.iter().find(|v| v.key == "last_rejection").unwrap();
        assert!(last.value.contains("non-finite"));
        let s = w.node_status(20.0, "free", &refused, 3);
        assert_eq!(s.level, DiagnosticStatus::ERROR);
        assert!(s.message.contains("3 writes"), "{}", s.message);
    }
}
