//! Per-condition summaries of a robustness test: the JSON report, the Markdown table and one
//! bar chart per metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use g1_expert::PolicyKind;
use serde::{Deserialize, Serialize};

use super::conditions::{Criteria, RobustnessConfig};
use super::runner::EpisodeResult;
use crate::plot::Limit;

/// One criterion of the test plan, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionCheck {
    pub name: String,
    pub value: f64,
    pub limit: f64,
    pub pass: bool,
}

/// One condition's metrics over its episodes. Tracking metrics are `None` for velocity
/// policies, command metrics `None` for tracking policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionReport {
    pub name: String,
    pub episodes: usize,
    /// Episodes without a fall and without an early termination.
    pub success_rate: f64,
    pub fall_rate: f64,
    /// Episodes that broke the tracking termination rule (whether or not they fell later).
    pub early_termination_rate: f64,
    /// How many episodes broke each part of the termination rule.
    pub terminations: BTreeMap<String, usize>,
    /// Where in the clip each early termination happened (s into the reference, sorted): a
    /// passage that many episodes miss shows as a cluster.
    pub termination_clip_times_s: Vec<f64>,
    pub body_pos_err_mean_m: Option<f64>,
    pub body_pos_err_p95_m: Option<f64>,
    pub anchor_pos_err_mean_m: Option<f64>,
    pub anchor_pos_err_p95_m: Option<f64>,
    pub anchor_ori_err_mean_deg: Option<f64>,
    pub anchor_ori_err_p95_deg: Option<f64>,
    pub joint_rmse_rad: Option<f64>,
    /// Mean over episodes of the Pearson correlation with the reference (or command).
    pub lin_vel_corr: Option<f64>,
    pub ang_vel_corr: Option<f64>,
    pub contact_agreement: Option<f64>,
    /// The contact detector's agreement on the robot's own motion (the ceiling of
    /// `contact_agreement`).
    pub contact_detector_agreement: Option<f64>,
    /// Mean |time| from a reference touchdown to the robot's (ms).
    pub touchdown_offset_ms: Option<f64>,
    /// RMS planar velocity and yaw-rate error against the command, settled steps only.
    pub command_lin_err_mps: Option<f64>,
    pub command_ang_err_radps: Option<f64>,
    pub criteria: Vec<CriterionCheck>,
    pub pass: bool,
}

/// A condition the policy was not tested under, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// `g1d robustness --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustnessReport {
    pub policy: String,
    pub kind: String,
    pub episodes: usize,
    pub seed: u64,
    pub config: RobustnessConfig,
    pub conditions: Vec<ConditionReport>,
    pub skipped: Vec<Skipped>,
    /// Conditions that passed every criterion, of those run.
    pub passed: usize,
    pub simulated_s: f64,
    pub wall_s: f64,
}

fn mean(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (s, n) = v
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn p95(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

/// Summarises the episodes of one condition.
pub fn summarise(name: &str, eps: &[&EpisodeResult], criteria: &Criteria) -> ConditionReport {
    let n = eps.len().max(1) as f64;
    let falls = eps.iter().filter(|e| e.fell).count();
    let term = eps.iter().filter(|e| e.terminated.is_some()).count();
    let mut clip_times: Vec<f64> = eps.iter().filter_map(|e| e.terminated_at_clip_s).collect();
    clip_times.sort_by(f64::total_cmp);
    let success = eps.iter().filter(|e| e.success()).count();
    let tr: Vec<_> = eps.iter().filter_map(|e| e.tracking.as_ref()).collect();
    let cm: Vec<_> = eps.iter().filter_map(|e| e.command.as_ref()).collect();
    let pooled = |f: &dyn Fn(&super::metrics::TrackingErrors) -> &Vec<f64>| -> Vec<f64> {
        tr.iter().flat_map(|t| f(t).iter().copied()).collect()
    };
    let body = pooled(&|t| &t.body_pos_m);
    let anchor = pooled(&|t| &t.anchor_pos_m);
    let ori = pooled(&|t| &t.anchor_ori_deg);
    let joints = pooled(&|t| &t.joint_sq);
    let (pairs, agree, own) = tr.iter().fold((0, 0, 0), |(p, a, o), t| {
        (
            p + t.contact_pairs,
            a + t.contact_agree,
            o + t.detector_agree,
        )
    });
    let offsets = pooled(&|t| &t.touchdown_offsets_s);
    let lin_sq: Vec<f64> = cm.iter().flat_map(|c| c.lin_sq.iter().copied()).collect();
    let ang_sq: Vec<f64> = cm.iter().flat_map(|c| c.ang_sq.iter().copied()).collect();
    let lin_corr = tr
        .iter()
        .filter_map(|t| t.lin_vel_corr)
        .chain(cm.iter().filter_map(|c| c.lin_vel_corr));
    let ang_corr = tr
        .iter()
        .filter_map(|t| t.ang_vel_corr)
        .chain(cm.iter().filter_map(|c| c.ang_vel_corr));
    let mut r = ConditionReport {
        name: name.to_string(),
        episodes: eps.len(),
        success_rate: success as f64 / n,
        fall_rate: falls as f64 / n,
        early_termination_rate: term as f64 / n,
        termination_clip_times_s: clip_times,
        terminations: eps.iter().filter_map(|e| e.terminated).fold(
            BTreeMap::new(),
            |mut m, why| {
                *m.entry(why.to_string()).or_insert(0) += 1;
                m
            },
        ),
        body_pos_err_mean_m: mean(body.iter().copied()),
        anchor_pos_err_mean_m: mean(anchor.iter().copied()),
        anchor_ori_err_mean_deg: mean(ori.iter().copied()),
        body_pos_err_p95_m: p95(body),
        anchor_pos_err_p95_m: p95(anchor),
        anchor_ori_err_p95_deg: p95(ori),
        joint_rmse_rad: mean(joints.iter().map(|s| s / g1::NUM_JOINTS as f64)).map(f64::sqrt),
        lin_vel_corr: mean(lin_corr),
        ang_vel_corr: mean(ang_corr),
        contact_agreement: (pairs > 0).then(|| agree as f64 / pairs as f64),
        contact_detector_agreement: (pairs > 0).then(|| own as f64 / pairs as f64),
        touchdown_offset_ms: mean(offsets.iter().map(|d| 1e3 * d.abs())),
        command_lin_err_mps: mean(lin_sq).map(f64::sqrt),
        command_ang_err_radps: mean(ang_sq).map(f64::sqrt),
        criteria: Vec::new(),
        pass: false,
    };
    let mut check = |name: &str, value: Option<f64>, limit: f64| {
        if let Some(value) = value {
            r.criteria.push(CriterionCheck {
                name: name.into(),
                value,
                limit,
                pass: value <= limit,
            });
        }
    };
    check(
        "early_terminations",
        Some(1.0 - success as f64 / n),
        criteria.max_early_termination_rate,
    );
    check(
        "body_pos_err_m",
        r.body_pos_err_mean_m,
        criteria.max_body_pos_err_m,
    );
    check(
        "anchor_ori_err_deg",
        r.anchor_ori_err_mean_deg,
        criteria.max_anchor_ori_err_deg,
    );
    r.pass = r.criteria.iter().all(|c| c.pass);
    r
}

impl RobustnessReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        policy: String,
        kind: PolicyKind,
        episodes: usize,
        seed: u64,
        config: &RobustnessConfig,
        results: &[EpisodeResult],
        wall_s: f64,
        dt_s: f64,
    ) -> Self {
        let mut conditions = Vec::new();
        let mut skipped = Vec::new();
        for (ci, c) in config.conditions.iter().enumerate() {
            if let Err(reason) = super::runner::applies(c, kind) {
                skipped.push(Skipped {
                    name: c.name.clone(),
                    reason,
                });
                continue;
            }
            let eps: Vec<&EpisodeResult> = results.iter().filter(|r| r.condition == ci).collect();
            conditions.push(summarise(&c.name, &eps, &config.criteria));
        }
        Self {
            policy,
            kind: match kind {
                PolicyKind::Velocity => "velocity".into(),
                PolicyKind::MotionTracking => "motion_tracking".into(),
            },
            episodes,
            seed,
            config: config.clone(),
            passed: conditions.iter().filter(|c| c.pass).count(),
            conditions,
            skipped,
            simulated_s: results.iter().map(|r| r.steps as f64 * dt_s).sum(),
            wall_s,
        }
    }

    /// The Markdown table: one row per condition, only the columns this policy has.
    pub fn table(&self) -> String {
        let cols: Vec<&Metric> = METRICS
            .iter()
            .filter(|m| self.conditions.iter().any(|c| (m.get)(c).is_some()))
            .collect();
        let mut s = String::from("| condition | episodes |");
        for m in &cols {
            let _ = write!(s, " {} |", m.header);
        }
        s.push_str(" criteria |\n|---|---:|");
        for _ in &cols {
            s.push_str("---:|");
        }
        s.push_str("---|\n");
        for c in &self.conditions {
            let _ = write!(s, "| {} | {} |", c.name, c.episodes);
            for m in &cols {
                match (m.get)(c) {
                    Some(v) => {
                        let _ = write!(s, " {} |", (m.format)(v));
                    }
                    None => s.push_str(" – |"),
                }
            }
            let failed: Vec<&str> = c
                .criteria
                .iter()
                .filter(|k| !k.pass)
                .map(|k| k.name.as_str())
                .collect();
            if failed.is_empty() {
                s.push_str(" pass |\n");
            } else {
                let _ = writeln!(s, " FAIL: {} |", failed.join(", "));
            }
        }
        let passages: Vec<String> = self
            .conditions
            .iter()
            .filter(|c| !c.termination_clip_times_s.is_empty())
            .map(|c| {
                let list: Vec<String> = passages(&c.termination_clip_times_s, 1.0)
                    .iter()
                    .map(|&(a, b, n)| {
                        if b - a < 0.05 {
                            format!("{a:.1} s ({n})")
                        } else {
                            format!("{a:.1}–{b:.1} s ({n})")
                        }
                    })
                    .collect();
                format!("- {}: {}", c.name, list.join(", "))
            })
            .collect();
        if !passages.is_empty() {
            s.push_str("\nWhere in the clip the termination rule was broken (episodes):\n\n");
            s.push_str(&passages.join("\n"));
            s.push('\n');
        }
        for k in &self.skipped {
            let _ = writeln!(s, "\n{} not run: {}.", k.name, k.reason);
        }
        s
    }

    /// `report.json`, `table.md` and one bar chart per metric into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut files = vec![dir.join("report.json"), dir.join("table.md")];
        std::fs::write(&files[0], serde_json::to_string_pretty(self)?)?;
        let title = format!(
            "# Robustness of {} ({} episodes per condition, seed {})\n\n",
            self.policy, self.episodes, self.seed
        );
        std::fs::write(&files[1], title + &self.table())?;
        let names: Vec<String> = self.conditions.iter().map(|c| c.name.clone()).collect();
        for m in METRICS {
            let values: Vec<Option<f64>> = self.conditions.iter().map(|c| (m.get)(c)).collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            let limit = (m.limit)(&self.config.criteria);
            let path = dir.join(format!("{}.png", m.key));
            let title = format!("{}: {}", self.policy, m.title);
            crate::plot::bar_chart(&path, &title, &names, &values, limit)?;
            files.push(path);
        }
        Ok(files)
    }
}

/// Sorted times grouped where consecutive ones lie within `gap` seconds: each group's first
/// and last time and its size.
pub fn passages(sorted: &[f64], gap: f64) -> Vec<(f64, f64, usize)> {
    let mut out: Vec<(f64, f64, usize)> = Vec::new();
    for &t in sorted {
        match out.last_mut() {
            Some(g) if t - g.1 <= gap => {
                g.1 = t;
                g.2 += 1;
            }
            _ => out.push((t, t, 1)),
        }
    }
    out
}

/// A metric as the table and the charts show it.
struct Metric {
    key: &'static str,
    header: &'static str,
    title: &'static str,
    get: fn(&ConditionReport) -> Option<f64>,
    format: fn(f64) -> String,
    limit: fn(&Criteria) -> Option<Limit>,
}

fn pct(v: f64) -> String {
    format!("{:.0} %", 100.0 * v)
}
fn cm(v: f64) -> String {
    format!("{:.1}", 100.0 * v)
}
fn f1(v: f64) -> String {
    format!("{v:.1}")
}
fn f2(v: f64) -> String {
    format!("{v:.2}")
}
fn f3(v: f64) -> String {
    format!("{v:.3}")
}
fn none(_: &Criteria) -> Option<Limit> {
    None
}

const METRICS: &[Metric] = &[
    Metric {
        key: "success_rate",
        header: "success",
        title: "success rate (no fall, no early termination)",
        get: |c| Some(c.success_rate),
        format: pct,
        limit: |k| Some(Limit::Min(1.0 - k.max_early_termination_rate)),
    },
    Metric {
        key: "fall_rate",
        header: "falls",
        title: "fall rate",
        get: |c| Some(c.fall_rate),
        format: pct,
        limit: none,
    },
    Metric {
        key: "early_termination_rate",
        header: "early term.",
        title: "early terminations (termination rule broken)",
        // Tracking policies only (velocity episodes end by falling alone).
        get: |c| c.body_pos_err_mean_m.map(|_| c.early_termination_rate),
        format: pct,
        limit: none,
    },
    Metric {
        key: "body_pos_err",
        header: "body pos. err. mean (cm)",
        title: "body position error, mean (m)",
        get: |c| c.body_pos_err_mean_m,
        format: cm,
        limit: |k| Some(Limit::Max(k.max_body_pos_err_m)),
    },
    Metric {
        key: "body_pos_err_p95",
        header: "p95 (cm)",
        title: "body position error, p95 (m)",
        get: |c| c.body_pos_err_p95_m,
        format: cm,
        limit: none,
    },
    Metric {
        key: "anchor_pos_err",
        header: "anchor drift mean (cm)",
        title: "anchor position error (drift), mean (m)",
        get: |c| c.anchor_pos_err_mean_m,
        format: cm,
        limit: none,
    },
    Metric {
        key: "anchor_ori_err",
        header: "anchor ori. err. mean (°)",
        title: "anchor orientation error, mean (deg)",
        get: |c| c.anchor_ori_err_mean_deg,
        format: f1,
        limit: |k| Some(Limit::Max(k.max_anchor_ori_err_deg)),
    },
    Metric {
        key: "anchor_ori_err_p95",
        header: "p95 (°)",
        title: "anchor orientation error, p95 (deg)",
        get: |c| c.anchor_ori_err_p95_deg,
        format: f1,
        limit: none,
    },
    Metric {
        key: "joint_rmse",
        header: "joint RMSE (rad)",
        title: "joint RMSE (rad)",
        get: |c| c.joint_rmse_rad,
        format: f3,
        limit: none,
    },
    Metric {
        key: "lin_vel_corr",
        header: "v corr.",
        title: "linear velocity correlation with the reference",
        get: |c| c.lin_vel_corr,
        format: f2,
        limit: none,
    },
    Metric {
        key: "ang_vel_corr",
        header: "ω corr.",
        title: "yaw rate correlation with the reference",
        get: |c| c.ang_vel_corr,
        format: f2,
        limit: none,
    },
    Metric {
        key: "contact_agreement",
        header: "contact agreement",
        title: "foot contact agreement with the reference",
        get: |c| c.contact_agreement,
        format: pct,
        limit: none,
    },
    Metric {
        key: "contact_detector_agreement",
        header: "detector ceiling",
        title: "contact detector on the robot's own motion (ceiling)",
        get: |c| c.contact_detector_agreement,
        format: pct,
        limit: none,
    },
    Metric {
        key: "touchdown_offset",
        header: "touchdown offset (ms)",
        title: "touchdown timing offset, mean |dt| (ms)",
        get: |c| c.touchdown_offset_ms,
        format: |v| format!("{v:.0}"),
        limit: none,
    },
    Metric {
        key: "command_lin_err",
        header: "cmd v err. (m/s)",
        title: "command tracking: planar velocity RMS error (m/s)",
        get: |c| c.command_lin_err_mps,
        format: f3,
        limit: none,
    },
    Metric {
        key: "command_ang_err",
        header: "cmd ω err. (rad/s)",
        title: "command tracking: yaw rate RMS error (rad/s)",
        get: |c| c.command_ang_err_radps,
        format: f3,
        limit: none,
    },
];

#[cfg(test)]
mod tests {
    use super::passages;

    #[test]
    fn termination_times_group_into_passages() {
        let t = [33.4, 34.4, 34.4, 34.5, 47.6, 47.6, 112.1, 112.2];
        assert_eq!(
            passages(&t, 1.0),
            vec![(33.4, 34.5, 4), (47.6, 47.6, 2), (112.1, 112.2, 2)]
        );
        assert!(passages(&[], 1.0).is_empty());
    }
}
