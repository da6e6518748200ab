//! Splitting argv into the node's own arguments and the ROS arguments, as rcl does.
//!
//! A ROS block starts at `--ros-args` and ends at `--` or at the end of argv; there may be
//! several. Inside a block rcl understands `-r/--remap RULE`, `-p/--param NAME:=VALUE`,
//! `--params-file FILE`, `-e/--enclave NAME`, `--log-level [LOGGER:=]LEVEL`,
//! `--log-config-file FILE` and the rosout/stdout/external-lib logging switches. Anything
//! else inside a block is an error naming the flag (rcl refuses it too).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use crate::params::ParamValue;

/// Severity threshold of the node's logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" | "warning" => Self::Warn,
            "error" => Self::Error,
            "fatal" => Self::Fatal,
            _ => bail!("unknown log level `{s}` (debug, info, warn, error, fatal)"),
        })
    }
}

/// A remapping rule `[node:]from:=to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    /// Only for the node of this name (`node:from:=to`).
    pub node: Option<String>,
    pub from: String,
    pub to: String,
}

/// A `-p [node:]name:=value` parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamArg {
    pub node: Option<String>,
    pub name: String,
    pub value: ParamValue,
}

/// The ROS arguments of all blocks, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosArgs {
    pub remaps: Vec<Remap>,
    pub params: Vec<ParamArg>,
    pub params_files: Vec<PathBuf>,
    /// `(logger, level)`; `None` = the default level for every logger.
    pub log_levels: Vec<(Option<String>, LogLevel)>,
    pub enclave: Option<String>,
    /// `--enable-rosout-logs` / `--disable-rosout-logs` (last one wins; `None` = on).
    pub rosout_logs: Option<bool>,
    /// `--enable-stdout-logs` / `--disable-stdout-logs` (last one wins; `None` = on).
    pub stdout_logs: Option<bool>,
    /// Flags accepted but not acted on, worded for a start-up warning.
    pub unsupported: Vec<String>,
}

impl RosArgs {
    /// The level for the logger `name` (a logger-specific setting wins over the default).
    pub fn log_level_for(&self, name: &str) -> LogLevel {
        let specific = self
            .log_levels
            .iter()
            .rev()
            .find(|(l, _)| l.as_deref() == Some(name));
        let default = self.log_levels.iter().rev().find(|(l, _)| l.is_none());
        specific.or(default).map_or(LogLevel::Info, |(_, l)| *l)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedArgs {
    /// The node's own arguments (everything outside the ROS blocks), in order.
    pub user: Vec<String>,
    pub ros: RosArgs,
}

/// Splits `[node:]lhs:=rhs`. The node prefix is a plain name before a single `:` that is not
/// part of `:=`.
fn split_rule(rule: &str, what: &str) -> Result<(Option<String>, String, String)> {
    let (lhs, rhs) = rule
        .split_once(":=")
        .ok_or_else(|| anyhow!("{what} `{rule}` has no `:=` (expected `name:=value`)"))?;
    let (node, name) = match lhs.split_once(':') {
        Some((n, rest)) if !n.is_empty() && !n.contains('/') => (Some(n.to_string()), rest),
        Some(_) => bail!("{what} `{rule}`: malformed node prefix"),
        None => (None, lhs),
    };
    if name.is_empty() {
        bail!("{what} `{rule}` has an empty name");
    }
    Ok((node, name.to_string(), rhs.to_string()))
}

fn take<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String> {
    it.next()
        .ok_or_else(|| anyhow!("`{flag}` at the end of the ROS arguments needs a value"))
}

/// Parses argv (without the program name).
pub fn parse_args(argv: &[String]) -> Result<ParsedArgs> {
    let mut out = ParsedArgs::default();
    let mut it = argv.iter();
    let mut in_ros = false;
    while let Some(a) = it.next() {
        if !in_ros {
            if a == "--ros-args" {
                in_ros = true;
            } else {
                out.user.push(a.clone());
            }
            continue;
        }
        let r = &mut out.ros;
        match a.as_str() {
            "--" => in_ros = false,
            "--ros-args" => {}
            "-r" | "--remap" => {
                let rule = take(&mut it, a)?;
                let (node, from, to) = split_rule(rule, "remap rule")?;
                if to.is_empty() {
                    bail!("remap rule `{rule}` has an empty replacement");
                }
                r.remaps.push(Remap { node, from, to });
            }
            "-p" | "--param" => {
                let rule = take(&mut it, a)?;
                let (node, name, value) = split_rule(rule, "parameter")?;
                let value = ParamValue::parse_yaml(&value)
                    .map_err(|e| anyhow!("parameter `{name}`: {e}"))?;
                r.params.push(ParamArg { node, name, value });
            }
            "--params-file" => {
                let f = take(&mut it, a)?;
                r.params_files.push(PathBuf::from(f));
            }
            "-e" | "--enclave" => {
                let e = take(&mut it, a)?;
                crate::security::check_enclave(e)?;
                r.enclave = Some(e.clone());
            }
            "--log-level" => {
                let v = take(&mut it, a)?;
                let (logger, level) = match v.split_once(":=") {
                    Some((l, lv)) => (Some(l.to_string()), lv),
                    None => (None, v.as_str()),
                };
                r.log_levels.push((logger, LogLevel::parse(level)?));
            }
            "--log-config-file" => {
                let f = take(&mut it, a)?;
                r.unsupported
                    .push(format!("--log-config-file {f}: not supported; ignored"));
            }
            "--enable-rosout-logs" => r.rosout_logs = Some(true),
            "--disable-rosout-logs" => r.rosout_logs = Some(false),
            "--enable-stdout-logs" => r.stdout_logs = Some(true),
            "--disable-stdout-logs" => r.stdout_logs = Some(false),
            "--enable-external-lib-logs" | "--disable-external-lib-logs" => {
                r.unsupported.push(format!("{a}: not supported; ignored"));
            }
            other => bail!(
                "unknown ROS argument `{other}` (expected -r/--remap, -p/--param, \
                 --params-file, -e/--enclave, --log-level, or `--` to end the block)"
            ),
        }
    }
    Ok(out)
}
