//! Collection → bags → dataset, checked against independent computations: Python `rosbags`
//! decodes every message; windows equal Body-Pos states recomputed by forward kinematics from
//! the raw joint states and root poses in the bags; the content is the same for any number of
//! workers.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use g1::bodypos::{build_state, CharacterFrame, STATE_DIM};
use g1::nalgebra::{Quaternion, UnitQuaternion, Vector3};
use g1::{forward_kinematics, RootState, NUM_JOINTS};
use g1_bag::{Bag, BagError};
use g1_data::collect::{collect, topics, CollectConfig};
use g1_data::dataset::{action_convention, build, BuildOptions, Dataset, HISTORY, WINDOW};
use g1_msgs::g1d::{BodyPosState, EpisodeEvent, JointTargets};
use g1_msgs::sensor_msgs::JointState;

use g1_testkit::repo;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("g1d_pipe_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn small_config(workers: usize) -> CollectConfig {
    CollectConfig {
        policies: vec![
            repo().join("assets/policies/velocity_mjlab"),
            repo().join("assets/policies/mimic_dance1_subject2_mjlab"),
        ],
        sim_hours: 4.0 * 5.0 / 3600.0, // four 5-second episodes
        episode_seconds: 5.0,
        seed: 7,
        workers,
        ..Default::default()
    }
}

fn run_collect(out: &Path, workers: usize) -> g1_data::collect::CollectSummary {
    let p = AtomicU64::new(0);
    collect(&small_config(workers), &repo().join("assets"), out, &p).unwrap()
}

/// One step as recorded: the raw robot state and what the dataset derives from it.
struct Raw {
    root: RootState,
    q: [f64; NUM_JOINTS],
    dq: [f64; NUM_JOINTS],
    q_target: [f64; NUM_JOINTS],
}

/// Episodes (in bag order) of raw steps, read directly from a bag.
fn raw_episodes(bag: &Path) -> Vec<(u64, Vec<Raw>)> {
    let bag = Bag::open(bag).unwrap();
    let mut eps: Vec<(u64, Vec<Raw>)> = Vec::new();
    let mut pending: Option<(RootState, f64)> = None;
    let mut joints: Option<JointState> = None;
    bag.read(|m| -> Result<(), BagError> {
        match m.topic {
            topics::EPISODE => {
                let e: EpisodeEvent = m.decode()?;
                if e.event == EpisodeEvent::START {
                    eps.push((e.episode, Vec::new()));
                }
            }
            topics::STATE => {
                let s: BodyPosState = m.decode()?;
                let o = s.root_pose.orientation;
                let p = s.root_pose.position;
                let (l, a) = (s.root_twist.linear, s.root_twist.angular);
                pending = Some((
                    RootState {
                        pos_w: Vector3::new(p.x, p.y, p.z),
                        quat_w: UnitQuaternion::from_quaternion(Quaternion::new(
                            o.w, o.x, o.y, o.z,
                        )),
                        lin_vel_w: Vector3::new(l.x, l.y, l.z),
                        ang_vel_w: Vector3::new(a.x, a.y, a.z),
                    },
                    0.0,
                ));
            }
            topics::JOINT_STATES => joints = Some(m.decode()?),
            topics::ACTION => {
                let a: JointTargets = m.decode()?;
                let (root, _) = pending.take().expect("state before action");
                let _ = &joints;
                eps.last_mut().unwrap().1.push(Raw {
                    root,
                    q: [0.0; NUM_JOINTS],
                    dq: [0.0; NUM_JOINTS],
                    q_target: a.q_target.try_into().unwrap(),
                });
            }
            _ => {}
        }
        if m.topic == topics::JOINT_STATES {
            let j = joints.as_ref().unwrap();
            let step = eps.last_mut().unwrap().1.last_mut().unwrap();
            step.q = j.position.clone().try_into().unwrap();
            step.dq = j.velocity.clone().try_into().unwrap();
        }
        Ok(())
    })
    .unwrap()
    .unwrap();
    eps
}

#[test]
fn windows_match_states_recomputed_from_raw_bag_data() {
    let out = tmp("windows");
    let s = run_collect(&out, 2);
    assert_eq!(s.episodes, 4);
    assert_eq!(s.bags.len(), 2);

    // Independent reader: Python rosbags and mcap decode every message of every type.
    for bag in &s.bags {
        let v = g1_testkit::python_bag_report(bag);
        let ours = g1_bag::info(bag).unwrap().report;
        for (topic, st) in &ours.topics {
            assert_eq!(
                v["rosbags"][topic],
                st.count,
                "{topic} in {}",
                bag.display()
            );
            assert_eq!(v["mcap"][topic], st.count, "{topic} in {}", bag.display());
        }
        assert!(v["custom_data"]["git_revision"].is_string());
        assert!(v["custom_data"]["config"]
            .as_str()
            .unwrap()
            .contains("sim_hours"));
    }

    let file = out.join("ds.safetensors");
    let summary = build(
        std::slice::from_ref(&out),
        &file,
        &BuildOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    let ds = Dataset::open(&file).unwrap();
    assert_eq!(ds.num_windows(), summary.windows);

    // Direct slicing of the recorded episodes, ordered by episode id like the dataset.
    let mut eps: Vec<(u64, Vec<Raw>)> = s.bags.iter().flat_map(|b| raw_episodes(b)).collect();
    eps.sort_by_key(|e| e.0);
    let expected_windows: usize = eps
        .iter()
        .map(|e| e.1.len().saturating_sub(WINDOW - 1))
        .sum();
    assert_eq!(ds.num_windows(), expected_windows);
    let (default, scale) = action_convention();
    let mut w = 0;
    let mut checked = 0;
    for (_, steps) in &eps {
        for t in HISTORY..steps.len().saturating_sub(16) {
            if w % 37 == 0 || t == HISTORY {
                let (states, actions) = ds.window(w).unwrap();
                let r = &steps[t].root;
                let frame = CharacterFrame::from_root(&r.pos_w, &r.quat_w);
                for (k, st) in states.iter().enumerate() {
                    let raw = &steps[t - HISTORY + k];
                    let kin = forward_kinematics(&raw.root, &raw.q, &raw.dq);
                    let want = build_state(&kin, &frame);
                    for i in 0..STATE_DIM {
                        assert!(
                            (st[i] as f64 - want[i]).abs() < 2e-4 * (1.0 + want[i].abs()),
                            "window {w} step {k} dim {i}: {} vs {}",
                            st[i],
                            want[i]
                        );
                    }
                    for j in 0..NUM_JOINTS {
                        let a = (raw.q_target[j] - default[j]) / scale[j];
                        assert!((actions[k][j] as f64 - a).abs() < 1e-5);
                    }
                }
                checked += 1;
            }
            w += 1;
        }
    }
    assert!(checked > 10);

    // The joint-space layout of the same bags: the Body-Pos global part, then the recorded
    // joint positions and velocities; refused where the Body-Pos width is expected.
    let fj = out.join("ds_joint.safetensors");
    let sj = build(
        std::slice::from_ref(&out),
        &fj,
        &BuildOptions {
            layout: g1::StateLayout::JointSpace,
            ..BuildOptions::default()
        },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(sj.windows, summary.windows);
    let dj = Dataset::open(&fj).unwrap();
    assert_eq!(dj.layout, g1::StateLayout::JointSpace);
    assert_eq!(dj.meta["state_dim"], 70);
    let mut w = 0;
    let mut checked = 0;
    for (_, steps) in &eps {
        for t in HISTORY..steps.len().saturating_sub(16) {
            if w % 53 == 0 {
                let (bp, _) = ds.window(w).unwrap();
                let (js, _) = dj.window(w).unwrap();
                for (k, st) in js.iter().enumerate() {
                    assert_eq!(st.len(), 70);
                    assert_eq!(st[..12], bp[k][..12], "window {w} step {k}: global part");
                    let raw = &steps[t - HISTORY + k];
                    for j in 0..NUM_JOINTS {
                        assert!((st[12 + j] as f64 - raw.q[j]).abs() < 1e-5);
                        assert!((st[41 + j] as f64 - raw.dq[j]).abs() < 1e-4);
                    }
                }
                checked += 1;
            }
            w += 1;
        }
    }
    assert!(checked > 5);
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn content_does_not_depend_on_workers_and_bad_bags_are_named() {
    let (a, b) = (tmp("w1"), tmp("w2"));
    run_collect(&a, 1);
    run_collect(&b, 2);
    let fa = a.join("ds.safetensors");
    let fb = b.join("ds.safetensors");
    build(
        std::slice::from_ref(&a),
        &fa,
        &BuildOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    build(
        std::slice::from_ref(&b),
        &fb,
        &BuildOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    let (da, db) = (Dataset::open(&fa).unwrap(), Dataset::open(&fb).unwrap());
    assert_eq!(da.all_states().unwrap(), db.all_states().unwrap());
    assert_eq!(
        da.f64s("state_mean").unwrap(),
        db.f64s("state_mean").unwrap()
    );

    // Mirror augmentation doubles the windows; mirrored twice is the identity.
    let fm = a.join("dsm.safetensors");
    let m = build(
        std::slice::from_ref(&a),
        &fm,
        &BuildOptions {
            mirror: true,
            ..BuildOptions::default()
        },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(m.windows, 2 * da.num_windows());

    // A corrupted bag: an error naming it; --skip-bad goes on without it. Episodes go to
    // whichever worker is free, so corrupt the bag with fewer episodes and expect exactly the
    // windows of the other one.
    let bags = ["shard000of001_w00", "shard000of001_w01"];
    let count = |name: &str| raw_episodes(&b.join(name)).len();
    let (bad, keep) = if count(bags[0]) < count(bags[1]) {
        (bags[0], bags[1])
    } else {
        (bags[1], bags[0])
    };
    let fk = a.join("keep.safetensors");
    let kept = build(&[b.join(keep)], &fk, &BuildOptions::default(), &|_, _| {}).unwrap();
    let bag = b.join(bad);
    let mcap = std::fs::read_dir(&bag)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mcap"))
        .unwrap();
    let mut bytes = std::fs::read(&mcap).unwrap();
    let mid = bytes.len() / 2;
    for x in &mut bytes[mid..mid + 64] {
        *x = !*x;
    }
    std::fs::write(&mcap, &bytes).unwrap();
    let out = b.join("bad.safetensors");
    let err = build(
        std::slice::from_ref(&b),
        &out,
        &BuildOptions::default(),
        &|_, _| {},
    )
    .expect_err("corruption must stop the build")
    .to_string();
    assert!(err.contains(bad), "{err}");
    let s = build(
        std::slice::from_ref(&b),
        &out,
        &BuildOptions {
            skip_bad: true,
            ..BuildOptions::default()
        },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(s.skipped_bags.len(), 1);
    assert!(s.windows > 0 && s.windows <= da.num_windows());
    assert_eq!(s.windows, kept.windows);
    std::fs::remove_dir_all(&a).ok();
    std::fs::remove_dir_all(&b).ok();
}

#[test]
fn collect_rejects_bad_settings() {
    let mut c = small_config(1);
    c.shard = (2, 2);
    assert!(c.validate().unwrap_err().to_string().contains("shard"));
    let mut c = small_config(1);
    c.noise.max_delay_steps = 100;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("max_delay_steps"));
    let mut c = small_config(1);
    c.sim_hours = -1.0;
    assert!(c.validate().unwrap_err().to_string().contains("sim-hours"));
}

#[test]
fn action_convention_shares_the_velocity_policy_offsets() {
    // The dataset's convention is the joint table's: its offsets are the velocity policy's
    // default pose. (Scales may differ per joint; data are converted from q targets, exactly.)
    let e = g1_expert::Expert::load(&repo().join("assets/policies/velocity_mjlab"), None).unwrap();
    let (off, _) = e.action_map_sdk();
    let (d, s) = action_convention();
    for j in 0..NUM_JOINTS {
        assert!((off[j] - d[j]).abs() < 1e-6, "offset {j}");
        assert!(s[j] > 0.05 && s[j] < 1.0, "scale {j} = {}", s[j]);
    }
}
