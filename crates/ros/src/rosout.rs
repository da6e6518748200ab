//! A node's logger: each line goes to stderr (`[/ns/node] …`, as the nodes always wrote) and,
//! as `rcl_interfaces/msg/Log`, to `/rosout` — with the node's logger name, the severity, the
//! caller's file and line — so `ros2 topic echo /rosout` and rqt_console show it. Lines below
//! the node's `--log-level` go nowhere; `--disable-rosout-logs` / `--disable-stdout-logs`
//! switch either side off.

use std::sync::Arc;

use ros2_client::{NodeLoggingHandle, RosoutRaw};

use crate::{LogLevel, NodeContext};

/// Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct NodeLogger {
    fqn: String,
    logger_name: String,
    level: LogLevel,
    stdout: bool,
    rosout: Option<Arc<NodeLoggingHandle>>,
    /// `/rosout` on Zenoh.
    zenoh: Option<Arc<crate::dds::Publisher<g1_msgs::rcl_interfaces::Log>>>,
}

impl std::fmt::Debug for NodeLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLogger")
            .field("fqn", &self.fqn)
            .field("level", &self.level)
            .field("rosout", &self.rosout.is_some())
            .finish()
    }
}

/// rcl's logger name of a node: its namespace and name joined with dots, no leading dot
/// (`/robot/g1_bridge` → `robot.g1_bridge`).
pub fn logger_name(fqn: &str) -> String {
    fqn.trim_start_matches('/').replace('/', ".")
}

fn ros_level(l: LogLevel) -> ros2_client::ros2::LogLevel {
    use ros2_client::ros2::LogLevel as R;
    match l {
        LogLevel::Debug => R::Debug,
        LogLevel::Info => R::Info,
        LogLevel::Warn => R::Warn,
        LogLevel::Error => R::Error,
        LogLevel::Fatal => R::Fatal,
    }
}

impl NodeLogger {
    pub(crate) fn new(
        ctx: &NodeContext,
        rosout: Option<NodeLoggingHandle>,
        zenoh: Option<Arc<crate::dds::Publisher<g1_msgs::rcl_interfaces::Log>>>,
    ) -> Self {
        let fqn = ctx.names.fqn();
        Self {
            logger_name: logger_name(&fqn),
            fqn,
            level: ctx.log_level,
            stdout: ctx.stdout_logs,
            rosout: rosout.map(Arc::new),
            zenoh,
        }
    }

    /// A logger that writes to stderr only (before a node exists, and in tests).
    pub fn stderr_only(ctx: &NodeContext) -> Self {
        Self::new(ctx, None, None)
    }

    /// Whether a line of `level` is written anywhere.
    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level && (self.stdout || self.rosout.is_some() || self.zenoh.is_some())
    }

    /// Writes `msg` at `level` (the caller's file and line go to `/rosout`).
    #[track_caller]
    pub fn log(&self, level: LogLevel, msg: &str) {
        if level < self.level {
            return;
        }
        if self.stdout {
            let tag = match level {
                LogLevel::Debug => "debug: ",
                LogLevel::Info => "",
                LogLevel::Warn => "warning: ",
                LogLevel::Error => "error: ",
                LogLevel::Fatal => "fatal: ",
            };
            eprintln!("[{}] {tag}{msg}", self.fqn);
        }
        let at = std::panic::Location::caller();
        if let Some(p) = &self.zenoh {
            let ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let level = match level {
                LogLevel::Debug => 10,
                LogLevel::Info => 20,
                LogLevel::Warn => 30,
                LogLevel::Error => 40,
                LogLevel::Fatal => 50,
            };
            p.publish(g1_msgs::rcl_interfaces::Log {
                stamp: g1_msgs::builtin_interfaces::Time::from_nanos(ns),
                level,
                name: self.logger_name.clone(),
                msg: msg.to_string(),
                file: at.file().to_string(),
                function: String::new(),
                line: at.line(),
            })
            .ok();
        }
        if let Some(h) = &self.rosout {
            h.rosout_raw(
                ros2_client::builtin_interfaces::Time::now(),
                ros_level(level),
                &self.logger_name,
                msg,
                at.file(),
                "",
                at.line(),
            );
        }
    }

    #[track_caller]
    pub fn debug(&self, msg: &str) {
        self.log(LogLevel::Debug, msg);
    }
    #[track_caller]
    pub fn info(&self, msg: &str) {
        self.log(LogLevel::Info, msg);
    }
    #[track_caller]
    pub fn warn(&self, msg: &str) {
        self.log(LogLevel::Warn, msg);
    }
    #[track_caller]
    pub fn error(&self, msg: &str) {
        self.log(LogLevel::Error, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_names_follow_rcl() {
        assert_eq!(logger_name("/g1_planner"), "g1_planner");
        assert_eq!(logger_name("/robot/g1_bridge"), "robot.g1_bridge");
    }
}
