//! ROS 2 XML launch files, read the way `ros2 launch` reads them, for composing their nodes in
//! one process (`g1d up`) and for checking an install. Supported: `<arg name default>`,
//! `<node pkg exec name namespace>` with `<param from>`, `<param name value>` and
//! `<remap from to>` children, and the substitutions `$(var NAME)`, `$(find-pkg-share PKG)` and
//! `$(env NAME [DEFAULT])`. Anything else is an error naming the tag or substitution.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};

/// One `<node>` of a launch file, with the argv tail `ros2 launch` would give it.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchNode {
    pub pkg: String,
    pub exec: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// Parameter files (`<param from>`), in order.
    pub params_files: Vec<PathBuf>,
    /// `<param name value>` pairs, in order.
    pub params: Vec<(String, String)>,
    pub remaps: Vec<(String, String)>,
    /// `respawn="true"`: `g1d up` builds the node again when it fails.
    pub respawn: bool,
}

/// The attributes a `<node>` may have (launch_ros' XML frontend; others are an error, not
/// silently ignored).
const NODE_ATTRIBUTES: [&str; 9] = [
    "pkg",
    "exec",
    "name",
    "namespace",
    "output",
    "respawn",
    "respawn_delay",
    "if",
    "unless",
];

/// A launch boolean (`true`/`false`, `1`/`0`, as launch's conditions read them).
fn launch_bool(attr: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => bail!("`{attr}=\"{other}\"`: expected true or false"),
    }
}

impl LaunchNode {
    /// `--ros-args -r __node:=… -r __ns:=… --params-file … -p …:=… -r …:=…`, as launch_ros
    /// builds it (inline params after the files, so they win).
    pub fn ros_args(&self) -> Vec<String> {
        let mut a = vec!["--ros-args".to_string()];
        if let Some(n) = &self.name {
            a.extend(["-r".into(), format!("__node:={n}")]);
        }
        if let Some(ns) = &self.namespace {
            a.extend(["-r".into(), format!("__ns:={ns}")]);
        }
        for f in &self.params_files {
            a.extend(["--params-file".into(), f.display().to_string()]);
        }
        for (k, v) in &self.params {
            a.extend(["-p".into(), format!("{k}:={v}")]);
        }
        for (f, t) in &self.remaps {
            a.extend(["-r".into(), format!("{f}:={t}")]);
        }
        a
    }
}

/// Expands `$(…)` substitutions in `text`, innermost first (`$(equals $(var a) b)`).
fn substitute(text: &str, vars: &BTreeMap<String, String>, share: &Path) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        // The matching `)`, counting nested `$(`.
        let (mut depth, mut end) = (0usize, None);
        let bytes = after.as_bytes();
        let mut k = 0;
        while k < bytes.len() {
            if bytes[k] == b'$' && bytes.get(k + 1) == Some(&b'(') {
                depth += 1;
                k += 2;
                continue;
            }
            if bytes[k] == b')' {
                if depth == 0 {
                    end = Some(k);
                    break;
                }
                depth -= 1;
            }
            k += 1;
        }
        let end = end.ok_or_else(|| anyhow!("unclosed `$(` in `{text}`"))?;
        let inner = substitute(after[..end].trim(), vars, share)?;
        let mut parts = inner.split_whitespace();
        let kind = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let value = match (kind, args.as_slice()) {
            ("var", [name]) => vars
                .get(*name)
                .cloned()
                .ok_or_else(|| anyhow!("`$(var {name})`: no such launch argument"))?,
            ("find-pkg-share", ["g1_diffusion"]) => share.display().to_string(),
            ("find-pkg-share", [pkg]) => {
                bail!("`$(find-pkg-share {pkg})`: only g1_diffusion is known here")
            }
            ("env", [name]) => {
                std::env::var(name).map_err(|_| anyhow!("`$(env {name})`: not set"))?
            }
            ("env", [name, default]) => std::env::var(name).unwrap_or_else(|_| default.to_string()),
            // launch's (Iron and later) comparison substitutions, for `if`/`unless`.
            ("equals", [a, b]) => (a == b).to_string(),
            ("not-equals", [a, b]) => (a != b).to_string(),
            _ => bail!("unsupported substitution `$({inner})`"),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads a launch file. `share` is the package's share directory (the repository root in a
/// checkout); `overrides` are the command line's `name:=value` launch arguments.
pub fn read_launch(
    path: &Path,
    share: &Path,
    overrides: &[(String, String)],
) -> Result<Vec<LaunchNode>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_launch(&text, share, overrides).with_context(|| format!("launch file {}", path.display()))
}

pub fn parse_launch(
    text: &str,
    share: &Path,
    overrides: &[(String, String)],
) -> Result<Vec<LaunchNode>> {
    let doc = roxmltree::Document::parse(text).context("not XML")?;
    let root = doc.root_element();
    if root.tag_name().name() != "launch" {
        bail!(
            "the root element is <{}>, not <launch>",
            root.tag_name().name()
        );
    }
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut declared = Vec::new();
    let mut nodes = Vec::new();
    let attr = |n: roxmltree::Node, a: &str| -> Result<String> {
        n.attribute(a)
            .map(String::from)
            .ok_or_else(|| anyhow!("<{}> needs `{a}`", n.tag_name().name()))
    };
    for el in root.children().filter(|n| n.is_element()) {
        match el.tag_name().name() {
            "arg" => {
                let name = attr(el, "name")?;
                declared.push(name.clone());
                let value = match overrides.iter().rev().find(|(k, _)| *k == name) {
                    Some((_, v)) => v.clone(),
                    None => match el.attribute("default") {
                        Some(d) => substitute(d, &vars, share)?,
                        None => bail!("launch argument `{name}` has no default: pass {name}:=…"),
                    },
                };
                vars.insert(name, value);
            }
            "node" => {
                let sub = |s: &str| substitute(s, &vars, share);
                if let Some(a) = el
                    .attributes()
                    .find(|a| !NODE_ATTRIBUTES.contains(&a.name()))
                {
                    bail!(
                        "<node> attribute `{}` is not supported (supported: {})",
                        a.name(),
                        NODE_ATTRIBUTES.join(", ")
                    );
                }
                // Conditions: `if` starts the node when true, `unless` when false.
                if let Some(c) = el.attribute("if") {
                    if !launch_bool("if", &sub(c)?)? {
                        continue;
                    }
                }
                if let Some(c) = el.attribute("unless") {
                    if launch_bool("unless", &sub(c)?)? {
                        continue;
                    }
                }
                let respawn = match el.attribute("respawn") {
                    Some(r) => launch_bool("respawn", &sub(r)?)?,
                    None => false,
                };
                let pkg = sub(&attr(el, "pkg")?)?;
                if pkg != "g1_diffusion" {
                    // Another package's node (robot_state_publisher, rviz2): recorded with its
                    // executable only; its parameters may use substitutions only `ros2 launch`
                    // has (`$(command …)`).
                    nodes.push(LaunchNode {
                        pkg,
                        exec: sub(&attr(el, "exec")?)?,
                        name: None,
                        namespace: None,
                        params_files: vec![],
                        params: vec![],
                        remaps: vec![],
                        respawn,
                    });
                    continue;
                }
                let mut n = LaunchNode {
                    pkg,
                    exec: sub(&attr(el, "exec")?)?,
                    name: el.attribute("name").map(sub).transpose()?,
                    namespace: el.attribute("namespace").map(sub).transpose()?,
                    params_files: vec![],
                    params: vec![],
                    remaps: vec![],
                    respawn,
                };
                for c in el.children().filter(|c| c.is_element()) {
                    match c.tag_name().name() {
                        "param" => match (c.attribute("from"), c.attribute("name")) {
                            (Some(f), None) => n.params_files.push(PathBuf::from(sub(f)?)),
                            (None, Some(k)) => n.params.push((sub(k)?, sub(&attr(c, "value")?)?)),
                            _ => bail!("<param> takes either `from` or `name` + `value`"),
                        },
                        "remap" => n
                            .remaps
                            .push((sub(&attr(c, "from")?)?, sub(&attr(c, "to")?)?)),
                        other => bail!("unsupported <{other}> inside <node>"),
                    }
                }
                nodes.push(n);
            }
            other => bail!("unsupported launch element <{other}>"),
        }
    }
    if let Some((k, _)) = overrides.iter().find(|(k, _)| !declared.contains(k)) {
        bail!(
            "`{k}:=…` is not an argument of this launch file (it has: {})",
            declared.join(", ")
        );
    }
    Ok(nodes)
}
