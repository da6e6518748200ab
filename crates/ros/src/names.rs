//! Node names, namespaces and topic-name resolution with remapping, as rcl does them.

use anyhow::{bail, Result};

use crate::args::{Remap, RosArgs};

fn valid_token(t: &str) -> bool {
    !t.is_empty()
        && !t.starts_with(|c: char| c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The node's effective name and namespace and the topic remaps that apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNames {
    pub name: String,
    /// Absolute namespace, `/` or `/a/b` (no trailing slash).
    pub namespace: String,
    remaps: Vec<Remap>,
}

impl NodeNames {
    /// Applies `__node`/`__name` and `__ns` remaps (node-scoped ones only when they name
    /// `default_name`) to the defaults.
    pub fn resolve(default_name: &str, args: &RosArgs) -> Result<Self> {
        let applies = |r: &Remap| r.node.as_deref().is_none_or(|n| n == default_name);
        let mut name = default_name.to_string();
        let mut ns = "/".to_string();
        for r in args.remaps.iter().filter(|r| applies(r)) {
            match r.from.as_str() {
                "__node" | "__name" => name = r.to.clone(),
                "__ns" => ns = r.to.clone(),
                _ => {}
            }
        }
        if !valid_token(&name) {
            bail!("node name `{name}` is not a valid ROS name (letters, digits, `_`)");
        }
        if !ns.starts_with('/') {
            ns = format!("/{ns}");
        }
        let ns = if ns.len() > 1 {
            ns.trim_end_matches('/').to_string()
        } else {
            ns
        };
        if ns != "/" && !ns[1..].split('/').all(valid_token) {
            bail!("namespace `{ns}` is not a valid ROS namespace");
        }
        let remaps = args
            .remaps
            .iter()
            .filter(|r| !r.from.starts_with("__"))
            .filter(|r| {
                r.node
                    .as_deref()
                    .is_none_or(|n| n == name || n == default_name)
            })
            .cloned()
            .collect();
        Ok(Self {
            name,
            namespace: ns,
            remaps,
        })
    }

    /// Fully-qualified node name (`/ns/name`).
    pub fn fqn(&self) -> String {
        if self.namespace == "/" {
            format!("/{}", self.name)
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// Expands a topic name: absolute stays, `~/x` is under the node, relative goes under the
    /// namespace.
    pub fn expand(&self, topic: &str) -> String {
        if topic.starts_with('/') {
            topic.to_string()
        } else if let Some(rest) = topic.strip_prefix("~/") {
            format!("{}/{rest}", self.fqn())
        } else if topic == "~" {
            self.fqn()
        } else if self.namespace == "/" {
            format!("/{topic}")
        } else {
            format!("{}/{topic}", self.namespace)
        }
    }

    /// The name a topic or service is actually created under: expanded, then the first
    /// matching remap rule (its `from` expanded the same way) replaces it.
    pub fn resolve_topic(&self, topic: &str) -> String {
        let full = self.expand(topic);
        for r in &self.remaps {
            if self.expand(&r.from) == full {
                return self.expand(&r.to);
            }
        }
        full
    }

    /// The DDS topic name of a ROS topic (`rt/` prefix, ROS 2's mapping).
    pub fn dds_topic(&self, topic: &str) -> String {
        format!("rt{}", self.resolve_topic(topic))
    }
}
