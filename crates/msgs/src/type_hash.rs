//! REP-2016 type hashes (`RIHS01_<sha256>`), computed from `.msg` definitions the way rosidl
//! computes them: the type's description (its fields' names and types, and those of every
//! type it refers to, sorted by name; comments, constants and default values left out) as
//! JSON, hashed with SHA-256. rmw_zenoh puts the hash in every key expression and
//! liveliness token; Jazzy bags record it per topic.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::message::{schema_text, Message};

/// One field of a type description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub type_id: u8,
    /// Array size (fixed arrays) or upper bound (bounded sequences); 0 otherwise.
    pub capacity: u64,
    /// Upper bound of a bounded string (`string<=N`); 0 otherwise.
    pub string_capacity: u64,
    /// `pkg/msg/Type` of a nested type; empty otherwise.
    pub nested_type_name: String,
}

/// `type_description_interfaces/FieldType` ids of the base types.
fn base_type_id(t: &str) -> Option<u8> {
    Some(match t {
        "int8" => 2,
        "uint8" | "char" => 3,
        "int16" => 4,
        "uint16" => 5,
        "int32" => 6,
        "uint32" => 7,
        "int64" => 8,
        "uint64" => 9,
        "float32" => 10,
        "float64" => 11,
        "bool" => 15,
        "byte" => 16,
        "string" => 17,
        "wstring" => 18,
        _ => return None,
    })
}

/// A `.msg` type reference as a full type name (`Header` → `std_msgs/msg/Header`, `Point` in
/// package `geometry_msgs` → `geometry_msgs/msg/Point`, `pkg/Type` → `pkg/msg/Type`).
fn full_name(t: &str, package: &str) -> String {
    match t.split('/').collect::<Vec<_>>()[..] {
        [pkg, "msg", name] => format!("{pkg}/msg/{name}"),
        [pkg, name] => format!("{pkg}/msg/{name}"),
        _ if t == "Header" => "std_msgs/msg/Header".into(),
        _ => format!("{package}/msg/{t}"),
    }
}

/// The fields of one `.msg` definition of package `package` (constants and comments skipped).
pub fn parse_fields(definition: &str, package: &str) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    for (n, raw) in definition.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let (ty, rest) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("line {}: `{line}` has no field name", n + 1))?;
        let rest = rest.trim();
        if rest.contains('=') {
            continue; // a constant
        }
        let name = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let (base, array) = match ty.find('[') {
            Some(i) => (&ty[..i], Some(&ty[i..])),
            None => (ty, None),
        };
        let (base, string_capacity) = match base.split_once("<=") {
            Some((b, cap)) => (
                b,
                cap.parse::<u64>()
                    .map_err(|_| format!("line {}: bad string bound in `{ty}`", n + 1))?,
            ),
            None => (base, 0),
        };
        let (mut type_id, nested_type_name) = match base_type_id(base) {
            Some(id) => {
                let id = match (id, string_capacity) {
                    (17, c) if c > 0 => 21,
                    (18, c) if c > 0 => 22,
                    (id, _) => id,
                };
                (id, String::new())
            }
            None => (1, full_name(base, package)),
        };
        let mut capacity = 0;
        if let Some(a) = array {
            let inner = a
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .ok_or_else(|| format!("line {}: bad array `{ty}`", n + 1))?;
            let parse = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| format!("line {}: bad array size in `{ty}`", n + 1))
            };
            if inner.is_empty() {
                type_id += 144;
            } else if let Some(bound) = inner.strip_prefix("<=") {
                type_id += 96;
                capacity = parse(bound)?;
            } else {
                type_id += 48;
                capacity = parse(inner)?;
            }
        }
        out.push(Field {
            name,
            type_id,
            capacity,
            string_capacity,
            nested_type_name,
        });
    }
    if out.is_empty() {
        // rosidl gives an empty structure one member.
        out.push(Field {
            name: "structure_needs_at_least_one_member".into(),
            type_id: 3,
            capacity: 0,
            string_capacity: 0,
            nested_type_name: String::new(),
        });
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

/// Every type of a `ros2msg` schema text (the type's definition, then `MSG: pkg/Type` blocks
/// of the types it uses, as rosbag2 writes them), by full name.
pub fn split_schema(type_name: &str, schema: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current = type_name.to_string();
    let mut text = String::new();
    for line in schema.lines() {
        if line.starts_with("====") && line.trim_start_matches('=').trim().is_empty() {
            continue;
        }
        if let Some(t) = line.strip_prefix("MSG: ") {
            out.insert(std::mem::take(&mut current), std::mem::take(&mut text));
            current = full_name(t.trim(), "");
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    out.insert(current, text);
    out
}

fn package_of(type_name: &str) -> &str {
    type_name.split('/').next().unwrap_or_default()
}

fn json_string(s: &str) -> String {
    // ASCII names only in practice; escape as Python's json.dumps(ensure_ascii=True) does.
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    o.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_individual(name: &str, fields: &[Field]) -> String {
    let fs: Vec<String> = fields
        .iter()
        .map(|f| {
            format!(
                "{{\"name\": {}, \"type\": {{\"type_id\": {}, \"capacity\": {}, \
                 \"string_capacity\": {}, \"nested_type_name\": {}}}}}",
                json_string(&f.name),
                f.type_id,
                f.capacity,
                f.string_capacity,
                json_string(&f.nested_type_name)
            )
        })
        .collect();
    format!(
        "{{\"type_name\": {}, \"fields\": [{}]}}",
        json_string(name),
        fs.join(", ")
    )
}

/// The `RIHS01_…` hash of `type_name` from its schema text (its definition and those of every
/// type it uses); an error names a type the schema lacks or a line it cannot read.
pub fn rihs01_from_schema(type_name: &str, schema: &str) -> Result<String, String> {
    let defs = split_schema(type_name, schema);
    let mut described: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    let mut todo = vec![type_name.to_string()];
    while let Some(t) = todo.pop() {
        if described.contains_key(&t) {
            continue;
        }
        let def = defs
            .get(&t)
            .ok_or_else(|| format!("{type_name}: the schema has no definition of {t}"))?;
        let fields = parse_fields(def, package_of(&t)).map_err(|e| format!("{t}: {e}"))?;
        todo.extend(
            fields
                .iter()
                .filter(|f| !f.nested_type_name.is_empty())
                .map(|f| f.nested_type_name.clone()),
        );
        described.insert(t, fields);
    }
    let main = json_individual(type_name, &described[type_name]);
    let refs: Vec<String> = described
        .iter()
        .filter(|(n, _)| n.as_str() != type_name)
        .map(|(n, f)| json_individual(n, f))
        .collect();
    let json = format!(
        "{{\"type_description\": {main}, \"referenced_type_descriptions\": [{}]}}",
        refs.join(", ")
    );
    let digest = Sha256::digest(json.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("RIHS01_{hex}"))
}

/// The `RIHS01_…` hash of a message type of this crate.
pub fn rihs01<M: Message>() -> String {
    // The definitions are this crate's own and tested (every type has a hash).
    rihs01_from_schema(M::TYPE_NAME, &schema_text::<M>()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_arrays_bounds_constants_and_nested_types() {
        let f = parse_fields(
            "# c\nuint8 A=1\nstring<=8 s \"x#y\"\nfloat64[9] cov\nPoint[] pts # p\n\
             int32[<=3] b\nHeader header\nbuiltin_interfaces/Time t\n",
            "geometry_msgs",
        )
        .unwrap();
        let ids: Vec<(u8, u64, u64, &str)> = f
            .iter()
            .map(|f| {
                (
                    f.type_id,
                    f.capacity,
                    f.string_capacity,
                    f.nested_type_name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                (21, 0, 8, ""),
                (59, 9, 0, ""),
                (145, 0, 0, "geometry_msgs/msg/Point"),
                (102, 3, 0, ""),
                (1, 0, 0, "std_msgs/msg/Header"),
                (1, 0, 0, "builtin_interfaces/msg/Time"),
            ]
        );
        assert_eq!(parse_fields("# only\n", "p").unwrap()[0].type_id, 3);
    }
}
