//! Parameter values, parameter files and rcl's merge order.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::args::RosArgs;
use crate::names::NodeNames;

/// A ROS 2 parameter value (the types `rcl_interfaces/ParameterValue` has).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    Double(f64),
    String(String),
    BoolArray(Vec<bool>),
    IntegerArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    StringArray(Vec<String>),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(v) => write!(f, "{v}"),
            Self::Integer(v) => write!(f, "{v}"),
            Self::Double(v) => write!(f, "{v:?}"),
            Self::String(v) => write!(f, "'{v}'"),
            Self::BoolArray(v) => write!(f, "{v:?}"),
            Self::IntegerArray(v) => write!(f, "{v:?}"),
            Self::DoubleArray(v) => write!(f, "{v:?}"),
            Self::StringArray(v) => write!(f, "{v:?}"),
        }
    }
}

impl ParamValue {
    /// A `-p name:=VALUE` value, typed as YAML the way rcl does (`true`/`True` bool, `3`
    /// integer, `3.0` double, `[1, 2]` integer array, anything else a string).
    pub fn parse_yaml(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Ok(Self::String(String::new()));
        }
        let v: serde_yaml::Value =
            serde_yaml::from_str(text).with_context(|| format!("`{text}` is not a YAML value"))?;
        Self::from_yaml(&v).with_context(|| format!("value `{text}`"))
    }

    /// From a YAML node of a parameter file or `-p` value.
    pub fn from_yaml(v: &serde_yaml::Value) -> Result<Self> {
        use serde_yaml::Value as Y;
        Ok(match v {
            Y::Bool(b) => Self::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Self::Integer(i),
                None => Self::Double(n.as_f64().context("number out of range")?),
            },
            Y::String(s) => Self::String(s.clone()),
            Y::Null => bail!("an empty value is not a parameter (write '' for an empty string)"),
            Y::Sequence(items) => {
                if items.is_empty() {
                    bail!("an empty list has no parameter type; leave the key out instead");
                }
                let scalars: Vec<Self> =
                    items.iter().map(Self::from_yaml).collect::<Result<_>>()?;
                let all = |f: fn(&Self) -> bool| scalars.iter().all(f);
                if all(|s| matches!(s, Self::Bool(_))) {
                    Self::BoolArray(
                        scalars
                            .iter()
                            .map(|s| matches!(s, Self::Bool(true)))
                            .collect(),
                    )
                } else if all(|s| matches!(s, Self::Integer(_))) {
                    Self::IntegerArray(
                        scalars
                            .iter()
                            .map(|s| if let Self::Integer(i) = s { *i } else { 0 })
                            .collect(),
                    )
                } else if all(|s| matches!(s, Self::Integer(_) | Self::Double(_))) {
                    // rcl rejects mixed arrays; a YAML list like [1, 0.5] is clearly a double array.
                    Self::DoubleArray(
                        scalars
                            .iter()
                            .map(|s| match s {
                                Self::Integer(i) => *i as f64,
                                Self::Double(d) => *d,
                                _ => 0.0,
                            })
                            .collect(),
                    )
                } else if all(|s| matches!(s, Self::String(_))) {
                    Self::StringArray(
                        scalars
                            .into_iter()
                            .map(|s| {
                                if let Self::String(t) = s {
                                    t
                                } else {
                                    String::new()
                                }
                            })
                            .collect(),
                    )
                } else {
                    bail!("a parameter array must hold one type (bools, numbers or strings)")
                }
            }
            Y::Mapping(_) => bail!("a mapping is not a parameter value"),
            Y::Tagged(t) => Self::from_yaml(&t.value)?,
        })
    }

    /// As JSON, for typed deserialisation.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::Bool(v) => json!(v),
            Self::Integer(v) => json!(v),
            Self::Double(v) => json!(v),
            Self::String(v) => json!(v),
            Self::BoolArray(v) => json!(v),
            Self::IntegerArray(v) => json!(v),
            Self::DoubleArray(v) => json!(v),
            Self::StringArray(v) => json!(v),
        }
    }
}

/// A node's parameters by (dotted) name, and where each value came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamMap {
    pub values: BTreeMap<String, ParamValue>,
    pub sources: BTreeMap<String, String>,
}

impl ParamMap {
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }

    pub fn set(&mut self, name: &str, value: ParamValue, source: &str) {
        self.values.insert(name.to_string(), value);
        self.sources.insert(name.to_string(), source.to_string());
    }
}

/// Does the parameter-file key `pattern` (`/**`, `/ns/node`, `node`, with `*` = one name
/// token and `**` = any number of tokens) select the node `fqn` (e.g. `/g1/sim`)? A key
/// without a leading `/` is in the root namespace, as rcl reads it.
pub fn key_matches(pattern: &str, fqn: &str) -> bool {
    let p = pattern.trim_start_matches('/');
    let pt: Vec<&str> = p.split('/').filter(|t| !t.is_empty()).collect();
    let nt: Vec<&str> = fqn.split('/').filter(|t| !t.is_empty()).collect();
    fn m(p: &[&str], n: &[&str]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(&"**"), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(&"*"), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(&pt, &nt)
}

fn flatten(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<(String, serde_yaml::Value)>) {
    if let serde_yaml::Value::Mapping(map) = v {
        for (k, child) in map {
            let key = match k {
                serde_yaml::Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            let name = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            flatten(&name, child, out);
        }
    } else {
        out.push((prefix.to_string(), v.clone()));
    }
}

/// The parameters a file gives the node `fqn`, in file order (later keys override earlier).
pub fn load_file(path: &Path, fqn: &str) -> Result<Vec<(String, ParamValue)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading parameter file {}", path.display()))?;
    parse_file(&text, fqn).with_context(|| format!("parameter file {}", path.display()))
}

pub fn parse_file(text: &str, fqn: &str) -> Result<Vec<(String, ParamValue)>> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).context("not YAML")?;
    let serde_yaml::Value::Mapping(top) = doc else {
        bail!("the top level must map node names to `ros__parameters`");
    };
    let mut out = Vec::new();
    for (k, v) in &top {
        let key = k.as_str().context("node keys must be strings")?;
        let serde_yaml::Value::Mapping(inner) = v else {
            bail!("`{key}` must map to `ros__parameters`");
        };
        let params = inner
            .get("ros__parameters")
            .with_context(|| format!("`{key}` has no `ros__parameters`"))?;
        if let Some(other) = inner.keys().find(|k| k.as_str() != Some("ros__parameters")) {
            bail!(
                "`{key}` has `{}` beside `ros__parameters`",
                other.as_str().unwrap_or("?")
            );
        }
        if !key_matches(key, fqn) {
            continue;
        }
        let mut flat = Vec::new();
        flatten("", params, &mut flat);
        for (name, y) in flat {
            let v = ParamValue::from_yaml(&y).with_context(|| format!("`{key}`: `{name}`"))?;
            out.push((name, v));
        }
    }
    Ok(out)
}

/// rcl's order: parameter files in the order given, then `-p` values (node-scoped ones only
/// for their node).
pub fn collect(args: &RosArgs, names: &NodeNames) -> Result<ParamMap> {
    let fqn = names.fqn();
    let mut map = ParamMap::default();
    for f in &args.params_files {
        for (name, v) in load_file(f, &fqn)? {
            map.set(&name, v, &f.display().to_string());
        }
    }
    for p in &args.params {
        if p.node.as_deref().is_none_or(|n| n == names.name) {
            map.set(&p.name, p.value.clone(), "-p");
        }
    }
    Ok(map)
}
