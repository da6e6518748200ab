//! REP-2016 type hashes computed from the definitions, against the hashes rosidl generated
//! for the Jazzy interface packages (the `*_EXPECTED_HASH` / `get_type_hash` values of
//! rosidl_generator_c's `*__description.c`), and present for every type the suite sends.

use g1_msgs::type_hash::rihs01;
use g1_msgs::*;

#[test]
fn standard_types_hash_as_rosidl_hashes_them() {
    let expected = [
        (
            rihs01::<std_msgs::StringMsg>(),
            "df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
        ),
        (
            rihs01::<builtin_interfaces::Time>(),
            "b106235e25a4c5ed35098aa0a61a3ee9c9b18d197f398b0e4206cea9acf9c197",
        ),
        (
            rihs01::<std_msgs::Header>(),
            "f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01",
        ),
        (
            rihs01::<geometry_msgs::Point>(),
            "6963084842a9b04494d6b2941d11444708d892da2f4b09843b9c43f42a7f6881",
        ),
        (
            rihs01::<geometry_msgs::Quaternion>(),
            "8a765f66778c8ff7c8ab94afcc590a2ed5325a1d9a076ffff38fbce36f458684",
        ),
        (
            rihs01::<geometry_msgs::Vector3>(),
            "cc12fe83e4c02719f1ce8070bfd14aecd40f75a96696a67a2a1f37f7dbb0765d",
        ),
        (
            rihs01::<geometry_msgs::Pose>(),
            "d501954e9476cea2996984e812054b68026ae0bfae789d9a10b23daf35cc90fa",
        ),
        (
            rihs01::<geometry_msgs::Transform>(),
            "beb83fbe698636351461f6f35d1abb20010c43d55374d81bd041f1ba2581fddc",
        ),
        (
            rihs01::<geometry_msgs::PoseWithCovariance>(),
            "9a7c0fd234b7f45c6098745ecccd773ca1085670e64107135397aee31c02e1bb",
        ),
        (
            rihs01::<sensor_msgs::Imu>(),
            "7d9a00ff131080897a5ec7e26e315954b8eae3353c3f995c55faf71574000b5b",
        ),
        (
            rihs01::<sensor_msgs::JointState>(),
            "a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e",
        ),
    ];
    for (got, want) in expected {
        assert_eq!(got, format!("RIHS01_{want}"));
    }
}

#[test]
fn every_type_has_a_hash_and_different_types_differ() {
    let mut seen = std::collections::BTreeMap::new();
    for_each_type(|name, schema| {
        let h = g1_msgs::type_hash::rihs01_from_schema(name, &schema)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(h.starts_with("RIHS01_") && h.len() == 7 + 64, "{name}: {h}");
        if let Some(other) = seen.insert(h.clone(), name) {
            panic!("{name} and {other} hash alike: {h}");
        }
    });
    assert!(seen.len() >= 40);
}
