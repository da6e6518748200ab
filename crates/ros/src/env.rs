//! The DDS-relevant environment: `ROS_DOMAIN_ID` and the discovery range.

use anyhow::{bail, Result};

/// How far discovery reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryRange {
    /// Only this host (`ROS_LOCALHOST_ONLY=1` or `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`).
    Localhost,
    #[default]
    Subnet,
    /// No automatic discovery (`ROS_AUTOMATIC_DISCOVERY_RANGE=OFF`).
    Off,
}

/// The middleware the nodes talk over (`RMW_IMPLEMENTATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rmw {
    /// DDS (`rmw_cyclonedds_cpp`, `rmw_fastrtps_cpp`, `rmw_connextdds`, or unset): the nodes
    /// speak RTPS and interoperate with every DDS-based rmw.
    #[default]
    Dds,
    /// `rmw_zenoh_cpp`: Zenoh through a router, as rmw_zenoh does.
    Zenoh,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DdsEnv {
    /// `RMW_IMPLEMENTATION`.
    pub rmw: Rmw,
    pub domain_id: u16,
    pub range: DiscoveryRange,
    /// `G1_DDS_INTERFACES`: the network interfaces (names such as `eth0`, or IPv4 addresses)
    /// DDS uses for discovery and advertises for data; empty = all.
    pub interfaces: Vec<String>,
}

/// Reads the process environment.
pub fn from_process() -> impl Fn(&str) -> Option<String> {
    |k| std::env::var(k).ok()
}

impl DdsEnv {
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let domain_id = match get("ROS_DOMAIN_ID").map(|s| s.trim().to_string()) {
            None => 0,
            Some(s) if s.is_empty() => 0,
            Some(s) => match s.parse::<u16>() {
                // The RTPS port formula leaves valid ports for domains 0–232 on Linux.
                Ok(d) if d <= 232 => d,
                _ => bail!("ROS_DOMAIN_ID=`{s}` must be an integer in 0..=232"),
            },
        };
        let mut range = match get("ROS_AUTOMATIC_DISCOVERY_RANGE").as_deref().map(str::trim) {
            None | Some("") | Some("SUBNET") | Some("SYSTEM_DEFAULT") => DiscoveryRange::Subnet,
            Some("LOCALHOST") => DiscoveryRange::Localhost,
            Some("OFF") => DiscoveryRange::Off,
            Some(o) => bail!(
                "ROS_AUTOMATIC_DISCOVERY_RANGE=`{o}` must be SUBNET, LOCALHOST, OFF or SYSTEM_DEFAULT"
            ),
        };
        match get("ROS_LOCALHOST_ONLY").as_deref().map(str::trim) {
            None | Some("") | Some("0") => {}
            Some("1") => range = DiscoveryRange::Localhost,
            Some(o) => bail!("ROS_LOCALHOST_ONLY=`{o}` must be 0 or 1"),
        }
        let interfaces: Vec<String> = get("G1_DDS_INTERFACES")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !interfaces.is_empty() && range == DiscoveryRange::Localhost {
            bail!(
                "G1_DDS_INTERFACES={} and ROS_LOCALHOST_ONLY / ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
                 contradict each other; set one",
                interfaces.join(",")
            );
        }
        let rmw = match get("RMW_IMPLEMENTATION").as_deref().map(str::trim) {
            None
            | Some("")
            | Some("rmw_cyclonedds_cpp")
            | Some("rmw_fastrtps_cpp")
            | Some("rmw_fastrtps_dynamic_cpp")
            | Some("rmw_connextdds") => Rmw::Dds,
            Some("rmw_zenoh_cpp") => Rmw::Zenoh,
            Some(o) => bail!(
                "RMW_IMPLEMENTATION=`{o}`: this suite speaks DDS (rmw_cyclonedds_cpp, \
                 rmw_fastrtps_cpp, rmw_connextdds) and Zenoh (rmw_zenoh_cpp)"
            ),
        };
        Ok(Self {
            rmw,
            domain_id,
            range,
            interfaces,
        })
    }
}
