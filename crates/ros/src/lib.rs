//! What `rcl` does for a C++ node before it runs, for nodes that do not link `rcl`:
//!
//! * [`args`]: the `--ros-args … [--]` blocks `ros2 launch` appends (node name and namespace
//!   remaps, topic remaps, `-p` parameters typed as YAML, `--params-file`, `--log-level`,
//!   `--enclave`), several blocks, user arguments kept apart;
//! * [`params`]: parameter files (`/**`, `/ns/node`, `node`, `*` and `**` wildcards, nested
//!   keys flattened with `.`), merged in rcl's order (files in order, then `-p`);
//! * [`names`]: fully-qualified names and topic remapping (`~/x`, relative names, node-scoped
//!   rules `node:from:=to`);
//! * [`config`]: one typed configuration struct per node from its `ros__parameters`, unknown
//!   keys and out-of-range values rejected with the key named;
//! * [`env`]: `ROS_DOMAIN_ID`, `ROS_LOCALHOST_ONLY` / `ROS_AUTOMATIC_DISCOVERY_RANGE`;
//! * [`security`]: `ROS_SECURITY_*` and the enclave (SROS2), and the keystore generator;
//! * `param_server`: the parameter services and `/parameter_events`;
//! * `raw`: publishing serialized messages of any type as they are (bag playback);
//! * `rosout`: the node's logger, to stderr and `/rosout`;
//! * `service`: ROS 2 services answering rmw_cyclonedds and rmw_fastrtps clients alike;
//! * `zenoh_rmw`: the nodes on Zenoh as rmw_zenoh puts ROS 2 on it (`RMW_IMPLEMENTATION`);
//! * `dds_log`: the DDS stack's own log on stderr (`G1D_DDS_LOG`).

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod args;
pub mod config;
#[cfg(feature = "dds")]
pub mod dds;
#[cfg(feature = "dds")]
pub mod dds_log;
pub mod env;
pub mod names;
#[cfg(feature = "dds")]
pub mod param_server;
pub mod params;
#[cfg(feature = "dds")]
pub mod raw;
#[cfg(feature = "dds")]
pub mod rosout;
pub mod security;
#[cfg(feature = "dds")]
pub mod service;
#[cfg(feature = "zenoh")]
pub mod zenoh_rmw;

pub use args::{parse_args, LogLevel, ParsedArgs, RosArgs};
pub use config::{load_config, range_check, NodeConfig, ParamError};
pub use env::{DdsEnv, DiscoveryRange, Rmw};
pub use names::NodeNames;
pub use params::{ParamMap, ParamValue};
pub use security::SecurityEnv;

use anyhow::Result;

/// Everything a node needs from its command line and environment, resolved.
#[derive(Debug, Clone)]
pub struct NodeContext {
    pub names: NodeNames,
    pub params: ParamMap,
    pub dds: DdsEnv,
    /// `--enclave` (the SROS2 enclave a stand-alone node runs as; see
    /// [`SecurityEnv::from_vars`]).
    pub enclave: Option<String>,
    pub log_level: LogLevel,
    /// Whether log lines also go to `/rosout` (`--disable-rosout-logs` turns it off).
    pub rosout_logs: bool,
    /// Whether log lines go to stderr (`--disable-stdout-logs` turns it off; rcl's name).
    pub stdout_logs: bool,
    /// Arguments that are not ROS arguments (the node's own flags).
    pub user_args: Vec<String>,
    /// Warnings for start-up: flags accepted but not acted on (logging), security fallbacks.
    pub unsupported: Vec<String>,
    pub use_sim_time: bool,
}

impl NodeContext {
    /// Resolves `argv` (without the program name) for a node whose default name is
    /// `default_name` in namespace `/`.
    pub fn from_args(default_name: &str, argv: &[String]) -> Result<Self> {
        Self::from_args_env(default_name, argv, &env::from_process())
    }

    /// As [`Self::from_args`], with the environment given (tests).
    pub fn from_args_env(
        default_name: &str,
        argv: &[String],
        env_vars: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let parsed = parse_args(argv)?;
        let names = NodeNames::resolve(default_name, &parsed.ros)?;
        let params = params::collect(&parsed.ros, &names)?;
        let use_sim_time = match params.get("use_sim_time") {
            None => false,
            Some(ParamValue::Bool(b)) => *b,
            Some(v) => anyhow::bail!("parameter `use_sim_time` must be a bool, got {v}"),
        };
        let log_level = parsed.ros.log_level_for(&names.name);
        Ok(Self {
            enclave: parsed.ros.enclave.clone(),
            dds: DdsEnv::from_vars(env_vars)?,
            unsupported: parsed.ros.unsupported.clone(),
            user_args: parsed.user,
            names,
            params,
            log_level,
            rosout_logs: parsed.ros.rosout_logs.unwrap_or(true),
            stdout_logs: parsed.ros.stdout_logs.unwrap_or(true),
            use_sim_time,
        })
    }

    /// The node's typed configuration from its parameters.
    pub fn config<T: NodeConfig>(&self) -> Result<T, ParamError> {
        load_config(&self.params)
    }
}
