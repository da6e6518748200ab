//! DDS Security with a keystore made by `g1_ros::security`: the OpenSSL command line (an
//! independent implementation) accepts its certificates and signed documents; secured
//! participants of one keystore talk; a participant without credentials, or with another
//! keystore's, can neither read nor write their topics; an enclave's permissions restrict what
//! it may publish.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use g1_msgs::std_msgs::StringMsg;
use g1_ros::dds::{take_all, Dds, QosPreset, RosNode};
use g1_ros::security::{create_enclave, create_keystore, list_enclaves, Permissions};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext, SecurityEnv};

fn domain() -> u16 {
    g1_testkit::test_domain(40 + std::process::id() % 50)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("g1-sec-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn env_for(keystore: &Path, enclave: &str) -> SecurityEnv {
    SecurityEnv::enforce(keystore, enclave).unwrap()
}

fn node(security: Option<&SecurityEnv>, name: &str) -> RosNode {
    let dds = Dds::open(
        &DdsEnv {
            domain_id: domain(),
            range: DiscoveryRange::Subnet,
            interfaces: Vec::new(),
            ..Default::default()
        },
        security,
    )
    .unwrap();
    let ctx = NodeContext::from_args_env(name, &["--ros-args".to_string()], &|_| None).unwrap();
    RosNode::new(&dds, ctx).unwrap()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let o = Command::new("openssl").args(args).output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn keystore_documents_verify_with_openssl() {
    let ks = tmp("verify");
    create_keystore(&ks).unwrap();
    let dir = create_enclave(&ks, "/g1/bridge", &Permissions::default()).unwrap();
    assert_eq!(list_enclaves(&ks).unwrap(), vec!["/g1/bridge".to_string()]);
    let ca = ks.join("public/ca.cert.pem");
    let ca_s = ca.to_str().unwrap();
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        ca_s,
        dir.join("cert.pem").to_str().unwrap(),
    ]);
    assert!(ok, "certificate chain: {out}");
    let (_, subject) = openssl(&[
        "x509",
        "-noout",
        "-subject",
        "-in",
        dir.join("cert.pem").to_str().unwrap(),
    ]);
    assert!(subject.contains("CN = /g1/bridge"), "{subject}");
    for doc in ["governance.p7s", "permissions.p7s"] {
        let (ok, out) = openssl(&[
            "smime",
            "-verify",
            "-in",
            dir.join(doc).to_str().unwrap(),
            "-CAfile",
            ca_s,
            "-out",
            "/dev/null",
        ]);
        assert!(ok, "{doc}: {out}");
    }
    // A tampered document no longer verifies.
    let p = std::fs::read_to_string(dir.join("permissions.p7s")).unwrap();
    let bad = dir.join("tampered.p7s");
    std::fs::write(&bad, p.replacen("<default>DENY", "<default>ALLOW", 1)).unwrap();
    let (ok, _) = openssl(&[
        "smime",
        "-verify",
        "-in",
        bad.to_str().unwrap(),
        "-CAfile",
        ca_s,
        "-out",
        "/dev/null",
    ]);
    assert!(!ok, "a tampered permissions document must not verify");
    // The private keys are the owner's alone; nothing is overwritten.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "key.pem mode {mode:o}");
    assert!(create_keystore(&ks).is_err());
    assert!(create_enclave(&ks, "/g1/bridge", &Permissions::default()).is_err());
    assert!(create_enclave(&ks, "g1/relative", &Permissions::default()).is_err());
    std::fs::remove_dir_all(&ks).unwrap();
}

/// Publishes on `pubs` for up to `secs` and counts what each subscription got.
fn exchange(
    publishers: &[&g1_ros::dds::Publisher<StringMsg>],
    subs: &[&g1_ros::dds::Subscription<StringMsg>],
    secs: f64,
) -> Vec<usize> {
    let mut counts = vec![0; subs.len()];
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < secs {
        for p in publishers {
            let _ = p.publish(StringMsg {
                data: "walk".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
        for (c, s) in counts.iter_mut().zip(subs) {
            *c += take_all(s).0.len();
        }
    }
    counts
}

#[test]
fn only_credentialed_participants_read_and_write() {
    let ks = tmp("suite");
    create_keystore(&ks).unwrap();
    create_enclave(&ks, "/g1/robot", &Permissions::default()).unwrap();
    create_enclave(&ks, "/g1/planner", &Permissions::default()).unwrap();
    // An operator laptop that may only drive by velocity.
    create_enclave(
        &ks,
        "/g1/operator",
        &Permissions {
            publish: vec!["rt/cmd_vel".into()],
            subscribe: vec!["rt/*".into()],
        },
    )
    .unwrap();
    // An attacker with a keystore of their own, enclave names copied.
    let other = tmp("other");
    create_keystore(&other).unwrap();
    create_enclave(&other, "/g1/planner", &Permissions::default()).unwrap();

    let mut robot = node(Some(&env_for(&ks, "/g1/robot")), "robot");
    let mut planner = node(Some(&env_for(&ks, "/g1/planner")), "planner");
    let mut operator = node(Some(&env_for(&ks, "/g1/operator")), "operator");
    let mut plain = node(None, "plain");
    let mut forged = node(Some(&env_for(&other, "/g1/planner")), "forged");

    // The robot's state goes out; the planner (credentialed) must read it, the others not.
    let state = robot
        .publisher::<StringMsg>("/lowstate", QosPreset::Command)
        .unwrap();
    let planner_state = planner
        .subscription::<StringMsg>("/lowstate", QosPreset::Command)
        .unwrap();
    let plain_state = plain
        .subscription::<StringMsg>("/lowstate", QosPreset::Command)
        .unwrap();
    let forged_state = forged
        .subscription::<StringMsg>("/lowstate", QosPreset::Command)
        .unwrap();
    // Commands come in; the robot must take the planner's and the operator's cmd_vel only.
    let targets_in = robot
        .subscription::<StringMsg>("/joint_targets", QosPreset::Command)
        .unwrap();
    let cmd_in = robot
        .subscription::<StringMsg>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let plain_targets = plain
        .publisher::<StringMsg>("/joint_targets", QosPreset::Command)
        .unwrap();
    let plain_cmd = plain
        .publisher::<StringMsg>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let forged_targets = forged
        .publisher::<StringMsg>("/joint_targets", QosPreset::Command)
        .unwrap();
    let operator_cmd = operator
        .publisher::<StringMsg>("/cmd_vel", QosPreset::Command)
        .unwrap();
    // The operator's permissions do not include joint targets: refused where it is created.
    let e = operator
        .publisher::<StringMsg>("/joint_targets", QosPreset::Command)
        .err()
        .expect("the operator enclave must not publish joint targets");
    assert!(!format!("{e:#}").is_empty());

    // Phase 1: only attackers send commands; the robot must see nothing of them, while the
    // credentialed state stream reaches the planner (so discovery had its chance).
    let got = exchange(
        &[&state, &plain_targets, &plain_cmd, &forged_targets],
        &[
            &planner_state,
            &plain_state,
            &forged_state,
            &targets_in,
            &cmd_in,
        ],
        8.0,
    );
    assert!(
        got[0] > 50,
        "the credentialed planner read the state: {got:?}"
    );
    assert_eq!(got[1], 0, "an unauthenticated participant read the state");
    assert_eq!(got[2], 0, "another keystore's participant read the state");
    assert_eq!(got[3], 0, "joint targets from attackers reached the robot");
    assert_eq!(got[4], 0, "cmd_vel from an attacker reached the robot");
    // Phase 2: the operator's velocity command arrives.
    let got = exchange(&[&operator_cmd], &[&cmd_in], 6.0);
    assert!(got[0] > 20, "the operator's cmd_vel: {got:?}");
    std::fs::remove_dir_all(&ks).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}
