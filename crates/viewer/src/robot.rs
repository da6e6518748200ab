//! The G1's visual meshes as the MJCF places them: which mesh hangs on which body, where, in
//! which colour, read from the model file the project ships (`assets/g1/mjcf/g1.xml`) and its
//! binary STL files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One visual mesh of the robot: the body it moves with and its pose in that body's frame.
#[derive(Debug, Clone)]
pub struct Part {
    /// Index into `g1::BODIES`.
    pub body: usize,
    pub mesh_file: PathBuf,
    pub pos: [f64; 3],
    /// `w, x, y, z`.
    pub quat: [f64; 4],
    pub rgba: [f32; 4],
}

/// A triangle mesh (metres, the mesh file's frame).
#[derive(Debug, Clone, Default)]
pub struct TriMesh {
    pub vertices: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

fn attr_f64s<const N: usize>(
    node: roxmltree::Node,
    name: &str,
    default: [f64; N],
) -> Result<[f64; N]> {
    let Some(text) = node.attribute(name) else {
        return Ok(default);
    };
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|s| s.parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("attribute {name}=\"{text}\""))?;
    v.try_into().map_err(|v: Vec<f64>| {
        anyhow::anyhow!("attribute {name}=\"{text}\": {} numbers, want {N}", v.len())
    })
}

/// The visual mesh geoms of the MJCF at `mjcf` (geoms of class `visual` with a mesh), each on
/// its body of `g1::BODIES`. Meshes on bodies the table does not know are an error, as is a
/// mesh file that is missing.
pub fn visual_parts(mjcf: &Path) -> Result<Vec<Part>> {
    let text =
        std::fs::read_to_string(mjcf).with_context(|| format!("reading {}", mjcf.display()))?;
    let doc =
        roxmltree::Document::parse(&text).with_context(|| format!("parsing {}", mjcf.display()))?;
    let root = doc.root_element();
    let dir = mjcf.parent().unwrap_or(Path::new("."));
    let meshdir = root
        .descendants()
        .find(|n| n.has_tag_name("compiler"))
        .and_then(|n| n.attribute("meshdir"))
        .unwrap_or("");
    let mut meshes: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut materials: BTreeMap<String, [f32; 4]> = BTreeMap::new();
    for n in root.descendants() {
        if n.has_tag_name("mesh") && n.parent().is_some_and(|p| p.has_tag_name("asset")) {
            let Some(file) = n.attribute("file") else {
                continue;
            };
            let name = n.attribute("name").map(str::to_string).unwrap_or_else(|| {
                Path::new(file)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            meshes.insert(name, dir.join(meshdir).join(file));
        }
        if n.has_tag_name("material") {
            if let Some(name) = n.attribute("name") {
                let c = attr_f64s(n, "rgba", [0.7, 0.7, 0.7, 1.0])?;
                materials.insert(name.to_string(), c.map(|v| v as f32));
            }
        }
    }
    let worldbody = root
        .children()
        .find(|n| n.has_tag_name("worldbody"))
        .context("the MJCF has no <worldbody>")?;
    let mut parts = vec![];
    for body in worldbody.descendants().filter(|n| n.has_tag_name("body")) {
        let name = body.attribute("name").unwrap_or("");
        for geom in body.children().filter(|n| n.has_tag_name("geom")) {
            let (Some("visual"), Some(mesh)) = (geom.attribute("class"), geom.attribute("mesh"))
            else {
                continue;
            };
            let Some(b) = g1::BODIES.iter().position(|r| r.name == name) else {
                bail!(
                    "{}: visual mesh {mesh} on body {name}, which the G1's body table lacks",
                    mjcf.display()
                );
            };
            let file = meshes.get(mesh).with_context(|| {
                format!("{}: mesh {mesh} is not declared in <asset>", mjcf.display())
            })?;
            if !file.exists() {
                bail!(
                    "{}: mesh file {} is missing",
                    mjcf.display(),
                    file.display()
                );
            }
            let rgba = match geom.attribute("material") {
                Some(m) => *materials
                    .get(m)
                    .with_context(|| format!("{}: material {m} is not declared", mjcf.display()))?,
                None => [0.7, 0.7, 0.7, 1.0],
            };
            parts.push(Part {
                body: b,
                mesh_file: file.clone(),
                pos: attr_f64s(geom, "pos", [0.0; 3])?,
                quat: attr_f64s(geom, "quat", [1.0, 0.0, 0.0, 0.0])?,
                rgba,
            });
        }
    }
    if parts.is_empty() {
        bail!("{}: no visual mesh geoms", mjcf.display());
    }
    Ok(parts)
}

/// Reads a binary STL file (the format of the G1's meshes). ASCII STL is refused with a
/// message that says so.
pub fn read_stl(path: &Path) -> Result<TriMesh> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_stl(&bytes).with_context(|| format!("{}", path.display()))
}

/// A binary STL's triangles (vertices not shared: every triangle has its own three).
pub fn parse_stl(bytes: &[u8]) -> Result<TriMesh> {
    if bytes.len() < 84 {
        bail!(
            "{} bytes: too short for a binary STL (84-byte header)",
            bytes.len()
        );
    }
    let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as usize;
    let want = 84 + 50 * n;
    if bytes.len() != want {
        if bytes.starts_with(b"solid") && bytes.len() < want {
            bail!("not a binary STL (ASCII STL is not supported)");
        }
        bail!(
            "{} bytes, but a binary STL of {n} triangles has {want}",
            bytes.len()
        );
    }
    let f = |o: usize| f32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let mut m = TriMesh {
        vertices: Vec::with_capacity(3 * n),
        triangles: Vec::with_capacity(n),
    };
    for t in 0..n {
        let base = 84 + 50 * t + 12;
        for v in 0..3 {
            let o = base + 12 * v;
            let p = [f(o), f(o + 4), f(o + 8)];
            if !p.iter().all(|c| c.is_finite()) {
                bail!("triangle {t}: a vertex is not finite");
            }
            m.vertices.push(p);
        }
        let i = 3 * t as u32;
        m.triangles.push([i, i + 1, i + 2]);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assets() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/g1/mjcf")
    }

    /// Every body of the table carries at least one visual mesh, and the torso's head and
    /// logo sit where the MJCF puts them.
    #[test]
    fn the_shipped_mjcf_dresses_every_body() {
        let parts = visual_parts(&assets().join("g1.xml")).unwrap();
        for (b, row) in g1::BODIES.iter().enumerate() {
            assert!(parts.iter().any(|p| p.body == b), "no mesh on {}", row.name);
        }
        let head = parts
            .iter()
            .find(|p| p.mesh_file.ends_with("head_link.STL"))
            .unwrap();
        assert_eq!(g1::BODIES[head.body].name, "torso_link");
        assert_eq!(head.pos, [0.0039635, 0.0, -0.044]);
        let black = parts
            .iter()
            .find(|p| p.mesh_file.ends_with("pelvis.STL"))
            .unwrap();
        assert_eq!(black.rgba, [0.2, 0.2, 0.2, 1.0]);
    }

    /// A mesh's size on disk matches its triangle count, its extent is a robot part's (cm to
    /// dm, not mm), and a damaged file is refused.
    #[test]
    fn stl_reads_and_refuses() {
        let m = read_stl(&assets().join("assets/left_knee_link.STL")).unwrap();
        assert_eq!(m.triangles.len(), 17096);
        let ext = (0..3)
            .map(|k| {
                let (lo, hi) = m.vertices.iter().fold((f32::MAX, f32::MIN), |(lo, hi), v| {
                    (lo.min(v[k]), hi.max(v[k]))
                });
                hi - lo
            })
            .fold(0.0f32, f32::max);
        assert!((0.1..0.6).contains(&ext), "knee link {ext} m long");
        let bytes = std::fs::read(assets().join("assets/left_knee_link.STL")).unwrap();
        assert!(parse_stl(&bytes[..1000]).is_err());
        assert!(parse_stl(b"solid x\nfacet normal 0 0 1\n").is_err());
    }
}
