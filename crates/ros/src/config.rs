//! One typed configuration struct per node, filled from its `ros__parameters`.
//!
//! Dotted parameter names become nested keys (`watchdog.hold_s` → `{watchdog: {hold_s}}`);
//! the struct is deserialised with unknown keys refused (`#[serde(deny_unknown_fields)]` on
//! the struct) and the failing key named by its full path; then [`NodeConfig::check`]
//! rejects out-of-range values, again by key.

use serde::de::DeserializeOwned;

use crate::params::ParamMap;

/// Parameters every node accepts and handles in the layer itself.
pub const COMMON_PARAMS: [&str; 1] = ["use_sim_time"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter `{key}`: {why}")]
    Invalid { key: String, why: String },
    #[error("parameter `{key}` ({value}) is out of range: {why}")]
    OutOfRange {
        key: String,
        value: String,
        why: String,
    },
}

/// A node's configuration.
pub trait NodeConfig: DeserializeOwned {
    /// Range and consistency checks; name the key in the error ([`range_check`]).
    fn check(&self) -> Result<(), ParamError> {
        Ok(())
    }

    /// Whether the parameter `name` (dotted) may change while the node runs (through its
    /// `set_parameters` service); the rest are read at start only.
    fn settable_at_run_time(_name: &str) -> bool {
        false
    }

    /// Whether the running node may go from `self` to `new` (checked after [`Self::check`]
    /// for a set at run time; the error names the key and why).
    fn check_change(&self, _new: &Self) -> Result<(), ParamError> {
        Ok(())
    }
}

/// `Ok` if `lo ≤ value ≤ hi`, else an error naming `key`.
pub fn range_check(key: &str, value: f64, lo: f64, hi: f64) -> Result<(), ParamError> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(ParamError::OutOfRange {
            key: key.into(),
            value: format!("{value}"),
            why: format!("must be in [{lo}, {hi}]"),
        })
    }
}

fn insert(
    root: &mut serde_json::Map<String, serde_json::Value>,
    path: &[&str],
    v: serde_json::Value,
) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty name")?;
    let mut cur = root;
    for p in parents {
        let e = cur
            .entry(p.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        cur = e
            .as_object_mut()
            .ok_or_else(|| format!("`{p}` is both a value and a group"))?;
    }
    if cur.get(*last).is_some_and(|x| x.is_object()) {
        return Err(format!("`{last}` is both a group and a value"));
    }
    cur.insert(last.to_string(), v);
    Ok(())
}

/// Builds `T` from the node's parameters (the common ones excluded).
pub fn load_config<T: NodeConfig>(params: &ParamMap) -> Result<T, ParamError> {
    let mut root = serde_json::Map::new();
    for (name, v) in &params.values {
        if COMMON_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let path: Vec<&str> = name.split('.').collect();
        insert(&mut root, &path, v.to_json()).map_err(|why| ParamError::Invalid {
            key: name.clone(),
            why,
        })?;
    }
    let value = serde_json::Value::Object(root);
    let cfg: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner().to_string();
        // The path ends at the unknown field itself; a top-level one may show as `.`.
        let key = match inner.split('`').nth(1) {
            Some(field) if key == "." || key.is_empty() => field.to_string(),
            _ => key,
        };
        ParamError::Invalid { key, why: inner }
    })?;
    cfg.check()?;
    Ok(cfg)
}
