//! Property tests of every decoder and parser that takes outside input: each gets valid
//! inputs corrupted at random (bit flips, truncation, inserted and duplicated bytes, length
//! fields overwritten with extreme values) and must answer with a value or an error — never a
//! panic, an abort or a hang. Seeded (the same cases every run) and bounded (a few seconds in
//! all). A case that fails is written to `cli/tests/fuzz_corpus/` and replayed by
//! `corpus_cases_stay_fixed` from then on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use g1_testkit::repo;

/// One random corruption of `b`.
fn mutate(rng: &mut ChaCha8Rng, b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    let rounds = rng.gen_range(1..4);
    for _ in 0..rounds {
        if v.is_empty() {
            v.push(rng.gen());
            continue;
        }
        let at = rng.gen_range(0..v.len());
        match rng.gen_range(0..6) {
            0 => v[at] ^= 1 << rng.gen_range(0..8),
            1 => v.truncate(at),
            2 => {
                let n = rng.gen_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                v.splice(at..at, bytes);
            }
            3 => {
                // A length or count field gone wild.
                let x: u32 = [u32::MAX, 0x7FFF_FFFF, 0x8000_0000, 0x0100_0000, rng.gen()]
                    [rng.gen_range(0..5)];
                for (k, byte) in x.to_le_bytes().iter().enumerate() {
                    if at + k < v.len() {
                        v[at + k] = *byte;
                    }
                }
            }
            4 => {
                let end = (at + rng.gen_range(1..64)).min(v.len());
                let dup = v[at..end].to_vec();
                v.splice(at..at, dup);
            }
            _ => v[at] = rng.gen(),
        }
    }
    v
}

/// Runs `f` on `cases` corruptions of each seed input; a panic is saved to the corpus and
/// fails the test.
/// `G1D_FUZZ_SCALE=N` runs N times the cases with other seeds (a longer search than CI's).
fn fuzz(name: &str, seeds: &[Vec<u8>], cases: usize, f: &dyn Fn(&[u8])) {
    let scale: usize = std::env::var("G1D_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let cases = cases * scale;
    let mut rng = ChaCha8Rng::seed_from_u64(0xF0_22 ^ name.len() as u64 ^ (scale as u64) << 32);
    for i in 0..cases {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
            let dir = corpus_dir();
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{i}.bin"));
            std::fs::write(&file, &input).unwrap();
            panic!("{name}: case {i} panicked; saved as {}", file.display());
        }
    }
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fuzz target: takes one input, must not panic.
type Target = Box<dyn Fn(&[u8])>;

/// Every target, by name: what the corpus replays.
fn target(name: &str) -> Target {
    use g1_msgs::{from_cdr, g1d, geometry_msgs, nav_msgs, sensor_msgs, unitree};
    match name {
        "cdr" => Box::new(|b| {
            let _ = from_cdr::<unitree::LowState>(b);
            let _ = from_cdr::<unitree::LowCmd>(b);
            let _ = from_cdr::<sensor_msgs::JointState>(b);
            let _ = from_cdr::<sensor_msgs::Imu>(b);
            let _ = from_cdr::<nav_msgs::Odometry>(b);
            let _ = from_cdr::<nav_msgs::Path>(b);
            let _ = from_cdr::<g1d::BodyPosState>(b);
            let _ = from_cdr::<g1d::JointTargets>(b);
            let _ = from_cdr::<g1d::TaskGoal>(b);
            let _ = from_cdr::<g1d::ObstacleArray>(b);
            let _ = from_cdr::<geometry_msgs::Twist>(b);
            let _ = from_cdr::<geometry_msgs::PoseStamped>(b);
            let _ = from_cdr::<g1_msgs::diagnostic_msgs::DiagnosticArray>(b);
            let _ = from_cdr::<g1_msgs::tf2_msgs::TFMessage>(b);
            let _ = from_cdr::<g1_msgs::visualization_msgs::MarkerArray>(b);
            let _ = from_cdr::<g1_msgs::std_msgs::StringMsg>(b);
        }),
        "hg" => Box::new(|b| {
            if let Ok(s) = from_cdr::<unitree::LowState>(b) {
                let _ = g1_hg::check_low_state(&s);
                let _ = g1_bridge::Measured::from_low_state(&s);
            }
            let mut r = [0u8; 40];
            for (i, x) in b.iter().take(40).enumerate() {
                r[i] = *x;
            }
            let _ = g1_hg::Remote::decode(&r);
            let _ = g1_hg::Buttons::parse_chord(&text(b));
        }),
        "bag" => Box::new(|b| {
            let dir = std::env::temp_dir().join(format!("g1d_fuzz_bag_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let f = dir.join("x.mcap");
            std::fs::write(&f, b).unwrap();
            if let Ok(bag) = g1_bag::Bag::open(&f) {
                let _ = bag.read(|m| -> Result<(), g1_msgs::CdrError> {
                    if m.topic == "/g1d/state" {
                        let _ = m.decode::<g1d::BodyPosState>();
                    }
                    Ok(())
                });
            }
            let _ = g1_bag::info(&f);
        }),
        "launch" => Box::new(|b| {
            let _ = g1_nodes::launch::parse_launch(&text(b), &repo(), &[]);
        }),
        "params" => Box::new(|b| {
            let t = text(b);
            let _ = g1_ros::params::parse_file(&t, "/g1_planner");
            let _ = g1_ros::params::ParamValue::parse_yaml(&t);
            let argv: Vec<String> = t.split_whitespace().map(String::from).collect();
            let _ = g1_ros::NodeContext::from_args_env("g1_planner", &argv, &|_| None);
        }),
        "yaml" => Box::new(|b| {
            let t = text(b);
            if let Ok(c) = serde_yaml::from_str::<g1_sim::SimConfig>(&t) {
                let _ = c.validate();
            }
            let _ = serde_yaml::from_str::<g1_expert::DeployYaml>(&t);
            if let Ok(m) = serde_json::from_str::<g1_diffusion::Manifest>(&t) {
                let _ = m.check();
            }
        }),
        "csv" => Box::new(|b| {
            let dir = std::env::temp_dir().join(format!("g1d_fuzz_csv_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let f = dir.join("m.csv");
            std::fs::write(&f, b).unwrap();
            let _ = g1_expert::MotionClip::from_csv(
                &f,
                30.0,
                g1_expert::MotionWindow {
                    start_s: 0.0,
                    end_s: None,
                },
                0.02,
            );
        }),
        other => panic!("no fuzz target {other}"),
    }
}

fn file(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn message_decoders_survive_corrupted_input() {
    use g1_msgs::to_cdr;
    let mut ls = g1_msgs::unitree::LowState::default();
    ls.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    g1_hg::sign_low_state(&mut ls);
    let seeds = vec![
        to_cdr(&ls),
        to_cdr(&g1_msgs::unitree::LowCmd::default()),
        to_cdr(&g1_msgs::g1d::BodyPosState {
            state: vec![0.5; g1::STATE_DIM],
            ..Default::default()
        }),
        to_cdr(&g1_msgs::g1d::JointTargets {
            q_target: vec![0.1; 29],
            kp: vec![40.0; 29],
            kd: vec![2.0; 29],
            ..Default::default()
        }),
        to_cdr(&g1_msgs::sensor_msgs::JointState {
            name: vec!["a".into(); 29],
            position: vec![0.0; 29],
            ..Default::default()
        }),
        to_cdr(&g1_msgs::g1d::ObstacleArray {
            obstacles: vec![Default::default(); 3],
            ..Default::default()
        }),
    ];
    fuzz("cdr", &seeds, 6000, &*target("cdr"));
    fuzz("hg", &seeds[..2], 3000, &*target("hg"));
}

#[test]
fn bag_reader_survives_corrupted_files() {
    let src = repo().join("nodes/tests/fixtures/replay_estimator/replay_estimator_0.mcap");
    fuzz("bag", &[file(&src)], 150, &*target("bag"));
}

#[test]
fn text_parsers_survive_corrupted_input() {
    let r = repo();
    let launches: Vec<Vec<u8>> = ["sim_diffusion", "robot", "sim", "record"]
        .iter()
        .map(|n| file(&r.join(format!("launch/{n}.launch.xml"))))
        .collect();
    fuzz("launch", &launches, 3000, &*target("launch"));
    let mut params = vec![file(&r.join("config/g1.params.yaml"))];
    params.push(b"--ros-args -r __node:=x -p a:=1 --params-file /nonexistent -r a:=b".to_vec());
    fuzz("params", &params, 2000, &*target("params"));
    let yamls = vec![
        file(&r.join("config/sim_randomized.yaml")),
        file(&r.join("assets/policies/velocity_mjlab/deploy.yaml")),
        file(&r.join("assets/models/default/manifest.json")),
    ];
    fuzz("yaml", &yamls, 600, &*target("yaml"));
    let csv =
        r.join("assets/policies/mimic_gangnam_style_isaaclab/G1_gangnam_style_V01.bvh_60hz.csv");
    let head: Vec<u8> = file(&csv)
        .split(|b| *b == b'\n')
        .take(40)
        .collect::<Vec<_>>()
        .join(&b'\n');
    fuzz("csv", &[head], 1000, &*target("csv"));
}

/// Inputs that once failed, replayed (empty until one is found).
#[test]
fn corpus_cases_stay_fixed() {
    let Ok(entries) = std::fs::read_dir(corpus_dir()) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some((t, _)) = name.split_once('-') else {
            continue;
        };
        let input = file(&p);
        let f = target(t);
        assert!(
            catch_unwind(AssertUnwindSafe(|| f(&input))).is_ok(),
            "{name} panics again"
        );
    }
}
