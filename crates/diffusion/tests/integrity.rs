//! Model integrity: a model directory whose ONNX file is not the one its manifest was
//! exported with (a swapped or damaged file) is refused at load, naming the file.

use g1_diffusion::Manifest;

#[test]
fn a_swapped_denoiser_is_refused_at_load() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = repo.join("assets/models/default");
    // The shipped model loads (its hash matches).
    Manifest::load(&src).unwrap();
    let dir = std::env::temp_dir().join(format!("g1d_integrity_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["manifest.json", "weights.safetensors"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    // Another valid ONNX file in its place: the velocity expert's policy.
    std::fs::copy(
        repo.join("assets/policies/velocity_mjlab/policy.onnx"),
        dir.join("denoiser.onnx"),
    )
    .unwrap();
    let e = format!("{:#}", Manifest::load(&dir).unwrap_err());
    assert!(e.contains("denoiser.onnx") && e.contains("SHA-256"), "{e}");
    // One flipped bit of the right file is refused as well.
    let mut bytes = std::fs::read(src.join("denoiser.onnx")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(dir.join("denoiser.onnx"), &bytes).unwrap();
    assert!(Manifest::load(&dir).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
