//! A node's parameters at run time: the six `rcl_interfaces` services (`list_parameters`,
//! `get_parameters`, `get_parameter_types`, `describe_parameters`, `set_parameters`,
//! `set_parameters_atomically`) on both rmw wire formats ([`crate::service`]), and
//! `/parameter_events`.
//!
//! The parameters are the node's typed configuration, flattened (`control.joystick_weight`),
//! with the parameters given at start that the configuration does not hold (`use_sim_time`).
//! A set goes through the same path as a parameter file: the configuration with the new
//! value is deserialised and [`NodeConfig::check`]ed, so a wrong type or an out-of-range value
//! is refused with the same reason a start would give. Only the parameters the node marks as
//! settable at run time ([`NodeConfig::settable_at_run_time`]) can change; the node takes the
//! accepted configuration between control steps ([`ParamServer::poll`]).

use std::collections::BTreeMap;

use anyhow::Result;
use ros2_client::parameters::raw::{
    Parameter as RawParameter, ParameterDescriptor, ParameterEvent, ParameterType,
    ParameterValue as RawValue, SetParametersResult,
};
use ros2_client::rcl_interfaces::{
    DescribeParametersRequest, DescribeParametersResponse, GetParameterTypesRequest,
    GetParameterTypesResponse, GetParametersRequest, GetParametersResponse, ListParametersRequest,
    ListParametersResponse, ListParametersResult, SetParametersAtomicallyResponse,
    SetParametersRequest, SetParametersResponse,
};
use serde::Serialize;

use crate::config::{load_config, NodeConfig};
use crate::dds::{Publisher, QosPreset, RosNode};
use crate::params::{ParamMap, ParamValue};
use crate::rosout::NodeLogger;
use crate::service::Service;

/// The configuration `cfg` as parameters: nested keys joined with `.`; `None`s and empty
/// lists left out (a parameter file cannot give them either).
pub fn flatten<T: Serialize>(cfg: &T) -> Result<BTreeMap<String, ParamValue>> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, ParamValue>) {
        use serde_json::Value as J;
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match v {
            J::Object(m) => {
                for (k, v) in m {
                    walk(&key(k), v, out);
                }
            }
            J::Null => {}
            J::Bool(b) => {
                out.insert(prefix.into(), ParamValue::Bool(*b));
            }
            J::Number(n) => {
                let p = match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) if !n.is_f64() => ParamValue::Integer(i),
                    (_, Some(f)) => ParamValue::Double(f),
                    _ => return,
                };
                out.insert(prefix.into(), p);
            }
            J::String(s) => {
                out.insert(prefix.into(), ParamValue::String(s.clone()));
            }
            J::Array(items) => {
                let p = if items.is_empty() {
                    return;
                } else if items.iter().all(J::is_boolean) {
                    ParamValue::BoolArray(items.iter().filter_map(J::as_bool).collect())
                } else if items.iter().all(|i| i.is_i64() || i.is_u64()) {
                    ParamValue::IntegerArray(items.iter().filter_map(J::as_i64).collect())
                } else if items.iter().all(J::is_number) {
                    ParamValue::DoubleArray(items.iter().filter_map(J::as_f64).collect())
                } else if items.iter().all(J::is_string) {
                    ParamValue::StringArray(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect(),
                    )
                } else {
                    return;
                };
                out.insert(prefix.into(), p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", &serde_json::to_value(cfg)?, &mut out);
    Ok(out)
}

/// `rcl_interfaces/ParameterValue` of a value.
pub fn to_raw(v: &ParamValue) -> RawValue {
    let mut r = RawValue {
        ptype: ParameterType::NOT_SET,
        boolean_value: false,
        int_value: 0,
        double_value: 0.0,
        string_value: String::new(),
        byte_array: vec![],
        bool_array: vec![],
        int_array: vec![],
        double_array: vec![],
        string_array: vec![],
    };
    match v {
        ParamValue::Bool(b) => (r.ptype, r.boolean_value) = (ParameterType::BOOL, *b),
        ParamValue::Integer(i) => (r.ptype, r.int_value) = (ParameterType::INTEGER, *i),
        ParamValue::Double(d) => (r.ptype, r.double_value) = (ParameterType::DOUBLE, *d),
        ParamValue::String(s) => (r.ptype, r.string_value) = (ParameterType::STRING, s.clone()),
        ParamValue::BoolArray(a) => {
            (r.ptype, r.bool_array) = (ParameterType::BOOL_ARRAY, a.clone())
        }
        ParamValue::IntegerArray(a) => {
            (r.ptype, r.int_array) = (ParameterType::INTEGER_ARRAY, a.clone())
        }
        ParamValue::DoubleArray(a) => {
            (r.ptype, r.double_array) = (ParameterType::DOUBLE_ARRAY, a.clone())
        }
        ParamValue::StringArray(a) => {
            (r.ptype, r.string_array) = (ParameterType::STRING_ARRAY, a.clone())
        }
    }
    r
}

/// The value of an `rcl_interfaces/ParameterValue` (`None`: not set, or a byte array).
pub fn from_raw(r: &RawValue) -> Option<ParamValue> {
    Some(match r.ptype {
        ParameterType::BOOL => ParamValue::Bool(r.boolean_value),
        ParameterType::INTEGER => ParamValue::Integer(r.int_value),
        ParameterType::DOUBLE => ParamValue::Double(r.double_value),
        ParameterType::STRING => ParamValue::String(r.string_value.clone()),
        ParameterType::BOOL_ARRAY => ParamValue::BoolArray(r.bool_array.clone()),
        ParameterType::INTEGER_ARRAY => ParamValue::IntegerArray(r.int_array.clone()),
        ParameterType::DOUBLE_ARRAY => ParamValue::DoubleArray(r.double_array.clone()),
        ParameterType::STRING_ARRAY => ParamValue::StringArray(r.string_array.clone()),
        _ => return None,
    })
}

fn type_code(v: &ParamValue) -> u8 {
    to_raw(v).ptype
}

fn type_name(v: &ParamValue) -> &'static str {
    match v {
        ParamValue::Bool(_) => "bool",
        ParamValue::Integer(_) => "integer",
        ParamValue::Double(_) => "double",
        ParamValue::String(_) => "string",
        ParamValue::BoolArray(_) => "bool array",
        ParamValue::IntegerArray(_) => "integer array",
        ParamValue::DoubleArray(_) => "double array",
        ParamValue::StringArray(_) => "string array",
    }
}

/// The parameters of one node and the rules for changing them (no DDS: [`ParamServer`] puts
/// it on the wire).
#[derive(Debug, Clone)]
pub struct Params<T> {
    fqn: String,
    /// Every parameter: the configuration's, then the other ones given at start.
    values: BTreeMap<String, ParamValue>,
    /// Names the configuration holds.
    config_keys: Vec<String>,
    current: T,
}

/// What a set changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<T> {
    pub config: T,
    pub changed: Vec<(String, ParamValue)>,
}

impl<T: NodeConfig + Serialize + Clone> Params<T> {
    /// The parameters of the node `fqn` running with `cfg`; `given`: the parameters it was
    /// started with (those the configuration does not hold are listed, read-only).
    pub fn new(fqn: &str, cfg: T, given: &ParamMap) -> Result<Self> {
        let mut values = flatten(&cfg)?;
        let config_keys: Vec<String> = values.keys().cloned().collect();
        for (k, v) in &given.values {
            values.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(Self {
            fqn: fqn.into(),
            values,
            config_keys,
            current: cfg,
        })
    }

    pub fn config(&self) -> &T {
        &self.current
    }

    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }

    /// `list_parameters`: names under any of `prefixes` (all when empty), at most `depth`
    /// levels below the prefix (0 = any), and the groups they are in.
    pub fn list(&self, prefixes: &[String], depth: u64) -> ListParametersResult {
        let mut names = Vec::new();
        let mut groups = std::collections::BTreeSet::new();
        for n in self.values.keys() {
            let rest = if prefixes.is_empty() {
                Some(n.as_str())
            } else {
                prefixes.iter().find_map(|p| {
                    if n == p {
                        Some("")
                    } else {
                        n.strip_prefix(&format!("{p}."))
                    }
                })
            };
            let Some(rest) = rest else { continue };
            if depth > 0 && rest.matches('.').count() as u64 >= depth {
                continue;
            }
            names.push(n.clone());
            if let Some((g, _)) = n.rsplit_once('.') {
                groups.insert(g.to_string());
            }
        }
        ListParametersResult {
            names,
            prefixes: groups.into_iter().collect(),
        }
    }

    /// `describe_parameters`.
    pub fn describe(&self, name: &str) -> ParameterDescriptor {
        let (ty, read_only) = match self.values.get(name) {
            Some(v) => (type_code(v), !T::settable_at_run_time(name)),
            None => (ParameterType::NOT_SET, true),
        };
        let description = match (self.values.contains_key(name), read_only) {
            (false, _) => format!("not a parameter of {}", self.fqn),
            (true, true) => "read when the node starts (a parameter file or -p)".into(),
            (true, false) => "settable at run time; applied between control steps".into(),
        };
        ParameterDescriptor {
            name: name.into(),
            r#type: ty,
            description,
            additional_constraints: String::new(),
            read_only,
            dynamic_typing: false,
            floating_point_range: vec![],
            integer_range: vec![],
        }
    }

    /// Tries the values `sets` together: the configuration they give, or why not.
    pub fn try_set(&self, sets: &[(String, Option<ParamValue>)]) -> Result<Change<T>, String> {
        let mut cand: BTreeMap<String, ParamValue> = self
            .config_keys
            .iter()
            .filter_map(|k| self.values.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        for (name, value) in sets {
            let Some(old) = self.values.get(name) else {
                return Err(format!(
                    "parameter `{name}` is not declared by {} (ros2 param list {} shows them)",
                    self.fqn, self.fqn
                ));
            };
            let Some(value) = value else {
                return Err(format!("parameter `{name}` cannot be undeclared"));
            };
            let value = match (old, value) {
                (ParamValue::Double(_), ParamValue::Integer(i)) => ParamValue::Double(*i as f64),
                (ParamValue::DoubleArray(_), ParamValue::IntegerArray(a)) => {
                    ParamValue::DoubleArray(a.iter().map(|i| *i as f64).collect())
                }
                (o, v) if type_code(o) != type_code(v) => {
                    return Err(format!(
                        "parameter `{name}` is a {}, not a {}",
                        type_name(o),
                        type_name(v)
                    ))
                }
                (_, v) => v.clone(),
            };
            if !T::settable_at_run_time(name) || !self.config_keys.contains(name) {
                return Err(format!(
                    "parameter `{name}` is read-only at run time: it is read when {} starts \
                     (set it in the parameter file or with -p {name}:=…)",
                    self.fqn
                ));
            }
            cand.insert(name.clone(), value);
        }
        let map = ParamMap {
            values: cand,
            sources: BTreeMap::new(),
        };
        let config: T = load_config(&map).map_err(|e| e.to_string())?;
        self.current
            .check_change(&config)
            .map_err(|e| e.to_string())?;
        let new = flatten(&config).map_err(|e| e.to_string())?;
        let changed = new
            .iter()
            .filter(|(k, v)| self.values.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Change { config, changed })
    }

    /// Makes an accepted change current.
    pub fn apply(&mut self, change: &Change<T>) {
        for (k, v) in &change.changed {
            self.values.insert(k.clone(), v.clone());
        }
        self.current = change.config.clone();
    }
}

/// [`Params`] on the wire: the six services and `/parameter_events`.
pub struct ParamServer<T> {
    pub params: Params<T>,
    list: Service<ListParametersRequest, ListParametersResponse>,
    get: Service<GetParametersRequest, GetParametersResponse>,
    types: Service<GetParameterTypesRequest, GetParameterTypesResponse>,
    describe: Service<DescribeParametersRequest, DescribeParametersResponse>,
    set: Service<SetParametersRequest, SetParametersResponse>,
    set_atomically: Service<SetParametersRequest, SetParametersAtomicallyResponse>,
    /// `/parameter_events` (DDS only).
    events: Option<Publisher<ParameterEvent>>,
    log: NodeLogger,
    next_poll_s: f64,
    /// Requests refused as unreadable, sets refused, sets applied.
    pub unreadable: u64,
    pub refused: u64,
    pub applied: u64,
}

fn raw_param(name: &str, v: &ParamValue) -> RawParameter {
    RawParameter {
        name: name.into(),
        value: to_raw(v),
    }
}

impl<T: NodeConfig + Serialize + Clone> ParamServer<T> {
    /// The parameter services of `node`, whose configuration is `cfg`.
    pub fn new(node: &mut RosNode, cfg: T) -> Result<Self> {
        let fqn = node.ctx.names.fqn();
        let params = Params::new(&fqn, cfg, &node.ctx.params)?;
        let svc = |n: &str| format!("{fqn}/{n}").replace("//", "/");
        let me = Self {
            list: Service::new(
                node,
                &svc("list_parameters"),
                "rcl_interfaces/srv/ListParameters",
            )?,
            get: Service::new(
                node,
                &svc("get_parameters"),
                "rcl_interfaces/srv/GetParameters",
            )?,
            types: Service::new(
                node,
                &svc("get_parameter_types"),
                "rcl_interfaces/srv/GetParameterTypes",
            )?,
            describe: Service::new(
                node,
                &svc("describe_parameters"),
                "rcl_interfaces/srv/DescribeParameters",
            )?,
            set: Service::new(
                node,
                &svc("set_parameters"),
                "rcl_interfaces/srv/SetParameters",
            )?,
            set_atomically: Service::new(
                node,
                &svc("set_parameters_atomically"),
                "rcl_interfaces/srv/SetParametersAtomically",
            )?,
            events: match node.is_dds() {
                true => Some(node.raw_publisher(
                    "/parameter_events",
                    "rcl_interfaces/msg/ParameterEvent",
                    QosPreset::Command,
                )?),
                false => None,
            },
            log: node.logger(),
            params,
            next_poll_s: f64::NEG_INFINITY,
            unreadable: 0,
            refused: 0,
            applied: 0,
        };
        // The parameters the node starts with, as rclcpp announces them.
        let new_parameters = me
            .params
            .values
            .iter()
            .map(|(k, v)| raw_param(k, v))
            .collect();
        me.publish_event(new_parameters, vec![]);
        Ok(me)
    }

    fn publish_event(&self, new_parameters: Vec<RawParameter>, changed: Vec<RawParameter>) {
        let ev = ParameterEvent {
            stamp: ros2_client::builtin_interfaces::Time::now(),
            node: self.params.fqn.clone(),
            new_parameters,
            changed_parameters: changed,
            deleted_parameters: vec![],
        };
        if let Some(p) = &self.events {
            p.publish(ev).ok();
        }
    }

    fn unreadable(&mut self, e: &anyhow::Error) {
        self.unreadable += 1;
        self.log.warn(&format!("parameter service: {e:#}"));
    }

    /// Answers every waiting request (at most every 20 ms of `now_s`); returns the new
    /// configuration when a set was accepted.
    pub fn poll(&mut self, now_s: f64) -> Option<T> {
        if now_s < self.next_poll_s {
            return None;
        }
        self.next_poll_s = now_s + 0.02;
        let mut out = None;
        let params = &self.params;
        let mut errors = self.list.serve(|q| ListParametersResponse {
            result: params.list(&q.prefixes, q.depth),
        });
        errors.extend(self.get.serve(|q| {
            GetParametersResponse {
                values: q
                    .names
                    .iter()
                    .map(|n| params.get(n).map_or_else(not_set, to_raw))
                    .collect(),
            }
        }));
        errors.extend(self.types.serve(|q| {
            GetParameterTypesResponse {
                values: q
                    .names
                    .iter()
                    .map(|n| params.get(n).map_or(ParameterType::NOT_SET, type_code))
                    .collect(),
            }
        }));
        errors.extend(self.describe.serve(|q| DescribeParametersResponse {
            values: q.names.iter().map(|n| params.describe(n)).collect(),
        }));
        for e in &errors {
            self.unreadable(e);
        }
        for r in self.set.take() {
            match r {
                Ok((id, q)) => {
                    // One at a time, as rclcpp's set_parameters does.
                    let results = q
                        .parameter
                        .iter()
                        .map(|p| {
                            let set = [(p.name.clone(), from_raw(&p.value))];
                            self.set_and_report(&set, &mut out)
                        })
                        .collect();
                    self.set.reply(&id, &SetParametersResponse { results }).ok();
                }
                Err(e) => self.unreadable(&e),
            }
        }
        for r in self.set_atomically.take() {
            match r {
                Ok((id, q)) => {
                    let sets: Vec<_> = q
                        .parameter
                        .iter()
                        .map(|p| (p.name.clone(), from_raw(&p.value)))
                        .collect();
                    let result = self.set_and_report(&sets, &mut out);
                    self.set_atomically
                        .reply(&id, &SetParametersAtomicallyResponse { result })
                        .ok();
                }
                Err(e) => self.unreadable(&e),
            }
        }
        out
    }

    fn set_and_report(
        &mut self,
        sets: &[(String, Option<ParamValue>)],
        out: &mut Option<T>,
    ) -> SetParametersResult {
        match self.params.try_set(sets) {
            Ok(change) => {
                self.params.apply(&change);
                self.applied += 1;
                let changed: Vec<RawParameter> = change
                    .changed
                    .iter()
                    .map(|(k, v)| raw_param(k, v))
                    .collect();
                let what: Vec<String> = change
                    .changed
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                self.log
                    .info(&format!("parameters set: {}", what.join(", ")));
                self.publish_event(vec![], changed);
                *out = Some(change.config);
                SetParametersResult {
                    successful: true,
                    reason: String::new(),
                }
            }
            Err(reason) => {
                self.refused += 1;
                self.log.warn(&format!("parameter set refused: {reason}"));
                SetParametersResult {
                    successful: false,
                    reason,
                }
            }
        }
    }
}

/// The value of a parameter that is not set.
fn not_set() -> RawValue {
    let mut r = to_raw(&ParamValue::Bool(false));
    r.ptype = ParameterType::NOT_SET;
    r.boolean_value = false;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_check;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Cfg {
        model: String,
        threads: i64,
        control: Control,
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Control {
        weight: f64,
        gate: [f64; 2],
        on: bool,
        note: Option<String>,
    }
    impl Default for Cfg {
        fn default() -> Self {
            Self {
                model: "m".into(),
                threads: 1,
                control: Control::default(),
            }
        }
    }
    impl Default for Control {
        fn default() -> Self {
            Self {
                weight: 1.0,
                gate: [0.0, 0.5],
                on: true,
                note: None,
            }
        }
    }
    impl NodeConfig for Cfg {
        fn check(&self) -> Result<(), crate::ParamError> {
            range_check("control.weight", self.control.weight, 0.0, 10.0)
        }
        fn settable_at_run_time(name: &str) -> bool {
            name.starts_with("control.")
        }
    }

    fn params() -> Params<Cfg> {
        let mut given = ParamMap::default();
        given.set("use_sim_time", ParamValue::Bool(true), "-p");
        Params::new("/n", Cfg::default(), &given).unwrap()
    }

    #[test]
    fn the_configuration_is_the_parameter_list() {
        let p = params();
        let names: Vec<&String> = p.names().collect();
        assert_eq!(
            names,
            [
                "control.gate",
                "control.on",
                "control.weight",
                "model",
                "threads",
                "use_sim_time"
            ]
        );
        assert_eq!(p.get("control.weight"), Some(&ParamValue::Double(1.0)));
        assert_eq!(p.get("threads"), Some(&ParamValue::Integer(1)));
        assert_eq!(
            p.get("control.gate"),
            Some(&ParamValue::DoubleArray(vec![0.0, 0.5]))
        );
        // The flattened configuration loads back to itself.
        let map = ParamMap {
            values: flatten(&Cfg::default()).unwrap(),
            sources: Default::default(),
        };
        assert_eq!(load_config::<Cfg>(&map).unwrap(), Cfg::default());
        let l = p.list(&["control".into()], 0);
        assert_eq!(l.names.len(), 3);
        assert_eq!(l.prefixes, ["control"]);
        assert_eq!(p.list(&[], 1).names, ["model", "threads", "use_sim_time"]);
        assert!(p.describe("model").read_only);
        assert!(!p.describe("control.weight").read_only);
        assert_eq!(p.describe("nope").r#type, ParameterType::NOT_SET);
    }

    #[test]
    fn sets_go_through_the_typed_configuration_and_its_checks() {
        let mut p = params();
        let set = |n: &str, v: ParamValue| vec![(n.to_string(), Some(v))];
        // An integer for a double is taken as the double.
        let c = p
            .try_set(&set("control.weight", ParamValue::Integer(3)))
            .unwrap();
        assert_eq!(c.config.control.weight, 3.0);
        assert_eq!(
            c.changed,
            [("control.weight".into(), ParamValue::Double(3.0))]
        );
        p.apply(&c);
        assert_eq!(p.get("control.weight"), Some(&ParamValue::Double(3.0)));
        assert_eq!(p.config().control.weight, 3.0);
        let refused = |sets: Vec<(String, Option<ParamValue>)>| p.try_set(&sets).unwrap_err();
        let e = refused(set("control.weight", ParamValue::Double(11.0)));
        assert!(e.contains("out of range") && e.contains("[0, 10]"), "{e}");
        let e = refused(set("control.weight", ParamValue::String("x".into())));
        assert!(e.contains("is a double, not a string"), "{e}");
        let e = refused(set("threads", ParamValue::Integer(2)));
        assert!(e.contains("read-only at run time"), "{e}");
        let e = refused(set("use_sim_time", ParamValue::Bool(false)));
        assert!(e.contains("read-only"), "{e}");
        let e = refused(set("control.wieght", ParamValue::Double(1.0)));
        assert!(e.contains("not declared"), "{e}");
        let e = refused(vec![("control.on".into(), None)]);
        assert!(e.contains("undeclared"), "{e}");
        // Atomic: one bad value refuses the lot.
        let mut two = set("control.on", ParamValue::Bool(false));
        two.extend(set("control.weight", ParamValue::Double(-1.0)));
        assert!(p.try_set(&two).is_err());
        assert!(p.config().control.on);
    }

    #[test]
    fn values_convert_both_ways() {
        for v in [
            ParamValue::Bool(true),
            ParamValue::Integer(-3),
            ParamValue::Double(0.25),
            ParamValue::String("s".into()),
            ParamValue::BoolArray(vec![true, false]),
            ParamValue::IntegerArray(vec![1, 2]),
            ParamValue::DoubleArray(vec![0.5]),
            ParamValue::StringArray(vec!["a".into()]),
        ] {
            assert_eq!(from_raw(&to_raw(&v)), Some(v));
        }
    }
}
