//! `g1d courses generate`: seeded courses in the scenario format of `g1d eval --scenarios`,
//! every obstacle course checked feasible, with a contact sheet of them.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use g1_data::plot::Canvas;
use g1_eval::courses::{self, CourseKind, FIRST_REPORTED_SEED, ROBOT_CLEARANCE_M};
use g1_eval::{to_shape, TaskKind};

#[derive(Subcommand)]
pub enum CoursesCommand {
    /// Write N courses of one kind (obstacles, waypoint, joystick, tour) drawn from seeds S,
    /// S+1, …
    /// Seeds below 1000 are for tuning; report results on seeds from 1000 up.
    Generate {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, default_value_t = 50)]
        count: usize,
        #[arg(long, default_value_t = FIRST_REPORTED_SEED)]
        seed: u64,
        /// The scenario file to write (YAML); a contact sheet of the courses is written beside
        /// it as <out>.png.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Obstacles,
    Waypoint,
    Joystick,
    /// 12 waypoints in 60 s under punches (up to 600 N, 0.08 s, one per 5 s) and an arm
    /// random walk.
    Tour,
}

pub fn run(c: CoursesCommand) -> Result<()> {
    let CoursesCommand::Generate {
        kind,
        count,
        seed,
        out,
        force,
    } = c;
    let kind = match kind {
        Kind::Obstacles => CourseKind::Obstacles,
        Kind::Waypoint => CourseKind::Waypoint,
        Kind::Joystick => CourseKind::Joystick,
        Kind::Tour => CourseKind::Tour,
    };
    if out.exists() && !force {
        bail!("{} exists (--force replaces it)", out.display());
    }
    let last = seed.saturating_add(count.max(1) as u64 - 1);
    if seed < FIRST_REPORTED_SEED && last >= FIRST_REPORTED_SEED {
        eprintln!(
            "warning: seeds {seed}–{last} mix tuning seeds (< {FIRST_REPORTED_SEED}) with reported ones"
        );
    }
    let scenarios = courses::generate(kind, count, seed)?;
    let purpose = if last < FIRST_REPORTED_SEED {
        "tuning"
    } else if seed >= FIRST_REPORTED_SEED {
        "reporting"
    } else {
        "mixed tuning and reporting"
    };
    let header = format!(
        "{count} generated {} courses, seeds {seed}–{last} ({purpose}; seeds below \
         {FIRST_REPORTED_SEED} are for tuning).\nWritten by: g1d courses generate --kind {} \
         --count {count} --seed {seed}\nMetres, in the robot's starting heading frame (start at \
         the origin facing +x).{}",
        kind.name(),
        kind.name(),
        if kind == CourseKind::Obstacles {
            format!(
                " Every course has a path on which the root keeps {ROBOT_CLEARANCE_M} m from \
                 every obstacle."
            )
        } else {
            String::new()
        }
    );
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, g1_eval::scenario::to_yaml(&scenarios, &header)?)
        .with_context(|| format!("writing {}", out.display()))?;
    let png = out.with_extension("png");
    contact_sheet(&scenarios)?.save_png(&png)?;
    println!(
        "{} {} courses → {} (picture: {})",
        scenarios.len(),
        kind.name(),
        out.display(),
        png.display()
    );
    println!("next: g1d eval --scenarios {} --runs 1", out.display());
    Ok(())
}

/// Side of one course's tile (m): goals lie within 7 m of the start (tours may go further:
/// their tiles grow to hold the farthest waypoint).
const TILE_M: f64 = 14.0;

/// All courses on one picture, ten to a row, each centred on its start (black): obstacles grey,
/// the goal green with the feasible path found for it (obstacle courses) in purple, or the
/// joystick commands as the path they would trace if followed exactly, or a tour's waypoints
/// (green) joined in order, in blue.
fn contact_sheet(scenarios: &[g1_eval::Scenario]) -> Result<Canvas> {
    let reach = scenarios
        .iter()
        .flat_map(|s| s.waypoints.iter())
        .map(|w| w[0].abs().max(w[1].abs()))
        .fold(0.0, f64::max);
    let tile = TILE_M.max((2.0 * reach + 1.0).ceil());
    let cols = scenarios.len().min(10);
    let rows = scenarios.len().div_ceil(10);
    let (w, h) = (cols as f64 * tile, rows as f64 * tile);
    let px_per_m = 12.0;
    let mut c = Canvas::new(
        (w * px_per_m) as usize + 40,
        (h * px_per_m) as usize + 40,
        0.0,
        w,
        -h,
        0.0,
    );
    for (i, s) in scenarios.iter().enumerate() {
        let o = [
            (i % 10) as f64 * tile + tile / 2.0,
            -((i / 10) as f64 * tile + tile / 2.0),
        ];
        let (x0, y0) = (o[0] - tile / 2.0, o[1] - tile / 2.0);
        for (a, b) in [([x0, y0], [x0 + tile, y0]), ([x0, y0], [x0, y0 + tile])] {
            c.line(a[0], a[1], b[0], b[1], [120; 3]);
        }
        let shifted: Vec<g1_sim::Obstacle> = s.obstacles.iter().map(|ob| shift(ob, o)).collect();
        g1_eval::top_view::obstacles(&mut c, &shifted, [140; 3]);
        if let Some(g) = s.goal {
            if s.task == TaskKind::Obstacles {
                let shapes: Vec<_> = s.obstacles.iter().map(to_shape).collect();
                if let Some(p) = courses::feasible_path(&shapes, [0.0; 2], g, ROBOT_CLEARANCE_M) {
                    let p: Vec<[f64; 2]> = p.iter().map(|q| [q[0] + o[0], q[1] + o[1]]).collect();
                    c.path(&p, [150, 90, 200]);
                }
            }
            c.disc(g[0] + o[0], g[1] + o[1], g1_eval::REACH_M, [60, 170, 60]);
        }
        if s.task == TaskKind::Tour {
            let p: Vec<[f64; 2]> = std::iter::once(o)
                .chain(s.waypoints.iter().map(|w| [w[0] + o[0], w[1] + o[1]]))
                .collect();
            c.path(&p, [40, 90, 200]);
            for w in &s.waypoints {
                c.disc(w[0] + o[0], w[1] + o[1], g1_eval::REACH_M, [60, 170, 60]);
            }
        }
        if s.task == TaskKind::Joystick {
            let mut p = vec![o];
            let (mut x, mut y, mut yaw) = (o[0], o[1], 0.0f64);
            for cmd in &s.commands {
                let n = (cmd[3] / 0.02).round() as usize;
                for _ in 0..n {
                    let (sn, cs) = yaw.sin_cos();
                    x += 0.02 * (cs * cmd[0] - sn * cmd[1]);
                    y += 0.02 * (sn * cmd[0] + cs * cmd[1]);
                    yaw += 0.02 * cmd[2];
                }
                p.push([x, y]);
            }
            c.path(&p, [40, 90, 200]);
        }
        c.disc(o[0], o[1], 0.15, [0; 3]);
    }
    Ok(c)
}

/// `ob` moved by `o` (m).
fn shift(ob: &g1_sim::Obstacle, o: [f64; 2]) -> g1_sim::Obstacle {
    let mut ob = ob.clone();
    let c = match &mut ob {
        g1_sim::Obstacle::Sphere { center, .. }
        | g1_sim::Obstacle::Box { center, .. }
        | g1_sim::Obstacle::Cylinder { center, .. } => center,
    };
    c[0] += o[0];
    c[1] += o[1];
    ob
}
