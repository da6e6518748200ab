//! The summary of a composed run (`g1d up --summary`): the outcome and latencies from the
//! reports of the nodes that measured them (simulator, planner, bridge, estimator).

/// The run's summary from the nodes' reports (`g1d up --summary`).
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
