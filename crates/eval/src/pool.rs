//! The evaluation's worker pool: every (scenario, controller, run) is one job, so many
//! scenarios of a few runs keep every worker as busy as a few scenarios of many runs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use crate::RunResult;

/// Runs `runs` runs of each of the `names` scenarios under each of the `controllers` on
/// `workers` threads. A thread builds a runner with `make(scenario, controller)` and keeps it
/// while its next job has the same scenario and controller; `run(runner, scenario, run)` does
/// one run. As soon as a scenario's last run is in, `done(scenario, groups)` is called on the
/// calling thread with its runs by controller (in the order of `controllers`, runs in order),
/// so an interrupted evaluation keeps what it finished; `progress` after every run. The first
/// failed run stops the pool (runs in hand finish) and is returned, naming scenario, controller
/// and run.
pub fn run_jobs<'c, R, M, F, D, P>(
    names: &[String],
    controllers: &[&'c str],
    runs: usize,
    workers: usize,
    make: M,
    run: F,
    mut done: D,
    mut progress: P,
) -> Result<()>
where
    M: Fn(usize, &str) -> Result<R> + Sync,
    F: Fn(&mut R, usize, usize) -> Result<RunResult> + Sync,
    D: FnMut(usize, Vec<(&'c str, Vec<RunResult>)>) -> Result<()>,
    P: FnMut(),
{
    let jobs: Vec<(usize, &str, usize)> = (0..names.len())
        .flat_map(|si| {
            controllers
                .iter()
                .flat_map(move |k| (0..runs).map(move |i| (si, *k, i)))
        })
        .collect();
    let per_scenario = controllers.len() * runs;
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, &str, usize, Result<RunResult>)>();
    std::thread::scope(|sc| -> Result<()> {
        for _ in 0..workers.max(1).min(jobs.len()) {
            let tx = tx.clone();
            let (jobs, next, make, run) = (&jobs, &next, &make, &run);
            sc.spawn(move || {
                // The runner of the last (scenario, controller) this worker ran.
                let mut runner: Option<(usize, &str, Result<R>)> = None;
                loop {
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(si, kind, i)) = jobs.get(j) else {
                        break;
                    };
                    if !matches!(&runner, Some((s, k, _)) if *s == si && *k == kind) {
                        runner = Some((si, kind, make(si, kind)));
                    }
                    let r = match runner.as_mut().map(|r| &mut r.2) {
                        Some(Ok(r)) => run(r, si, i),
                        Some(Err(e)) => Err(anyhow::anyhow!("{e:#}")),
                        None => unreachable!("runner set above"),
                    };
                    if tx.send((si, kind, i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Vec<(usize, usize, RunResult)>> = BTreeMap::new();
        for (si, kind, i, r) in rx.iter() {
            progress();
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    // The workers finish their runs in hand and take no more.
                    next.store(jobs.len(), Ordering::SeqCst);
                    return Err(e.context(format!("{} / {kind} run {i}", names[si])));
                }
            };
            let k = controllers.iter().position(|c| *c == kind).unwrap_or(0);
            let finished = pending.entry(si).or_default();
            finished.push((k, i, r));
            if finished.len() < per_scenario {
                continue;
            }
            let mut finished = pending.remove(&si).unwrap_or_default();
            finished.sort_by_key(|(k, i, _)| (*k, *i));
            let groups = controllers
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let rs = finished
                        .iter()
                        .filter(|(kk, _, _)| *kk == k)
                        .map(|(_, _, r)| r.clone())
                        .collect();
                    (*c, rs)
                })
                .collect();
            done(si, groups)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64) -> RunResult {
        RunResult {
            seed,
            ..RunResult::default()
        }
    }

    /// Every job runs once; each scenario is handed over complete, grouped by controller in
    /// order, and runners are built once per (scenario, controller) a worker meets.
    #[test]
    fn every_run_once_grouped_in_order() {
        let names: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
        let built = AtomicUsize::new(0);
        let mut seen = vec![];
        let mut ticks = 0;
        run_jobs(
            &names,
            &["a", "b"],
            3,
            2,
            |si, c| {
                built.fetch_add(1, Ordering::SeqCst);
                Ok((si, c.to_string()))
            },
            |r, si, i| {
                assert_eq!(r.0, si);
                let k = if r.1 == "a" { 0 } else { 1 };
                Ok(result((si * 100 + k * 10 + i) as u64))
            },
            |si, groups| {
                let got: Vec<(&str, Vec<u64>)> = groups
                    .iter()
                    .map(|(c, rs)| (*c, rs.iter().map(|r| r.seed).collect()))
                    .collect();
                let s = si as u64 * 100;
                assert_eq!(
                    got,
                    vec![
                        ("a", vec![s, s + 1, s + 2]),
                        ("b", vec![s + 10, s + 11, s + 12])
                    ]
                );
                seen.push(si);
                Ok(())
            },
            || ticks += 1,
        )
        .unwrap();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert_eq!(ticks, 30);
        // At least one runner per (scenario, controller); at most one per job.
        let b = built.load(Ordering::SeqCst);
        assert!((10..=30).contains(&b), "{b}");
    }

    /// A failed run stops the pool and names where it failed.
    #[test]
    fn a_failed_run_is_returned_with_its_place() {
        let names = vec!["only".to_string()];
        let e = run_jobs(
            &names,
            &["a"],
            4,
            2,
            |_, _| Ok(()),
            |_, _, i| {
                if i == 2 {
                    anyhow::bail!("boom")
                }
                Ok(result(i as u64))
            },
            |_, _| Ok(()),
            || {},
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("only / a run 2: boom"), "{e:#}");
    }
}
