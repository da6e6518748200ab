//! The process-wide ONNX Runtime environment (ort with `load-dynamic`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;

use crate::ExpertError;

static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Where the ONNX Runtime library is: `$ORT_DYLIB_PATH`, else the path `make setup` installs
/// (`.deps/ort/libonnxruntime.so.*` in the repository).
pub fn library_path() -> PathBuf {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    // An install (scripts/install.sh) carries its own copy: <prefix>/lib/g1_diffusion/<exe>
    // next to <prefix>/.deps/ort/.
    if let Some(installed) = std::env::current_exe().ok().and_then(|e| {
        let p = e
            .parent()?
            .parent()?
            .parent()?
            .join(".deps/ort/libonnxruntime.so.1.31.1");
        (p.exists() && e.parent()?.ends_with("lib/g1_diffusion")).then_some(p)
    }) {
        return installed;
    }
    if let Some(p) = option_env!("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.deps/ort/libonnxruntime.so.1.31.1"
    ))
}

/// The shared environment, created on first use.
pub fn environment() -> Result<&'static Environment, ExpertError> {
    let env = ENV.get_or_init(|| {
        let lib = library_path();
        if !lib.exists() {
            return Err(format!(
                "ONNX Runtime library not found at {} (run `make setup`, or set ORT_DYLIB_PATH)",
                lib.display()
            ));
        }
        ort::init_from(&lib)
            .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
            .with_name("g1d")
            .build()
            .map_err(|e| e.to_string())
    });
    env.as_ref().map_err(|e| ExpertError::Onnx(e.clone()))
}

/// A single-threaded CPU session for a small policy network.
pub fn session(path: &Path) -> Result<Session, ExpertError> {
    if !path.exists() {
        return Err(ExpertError::Io {
            path: path.to_path_buf(),
            why: "file not found".into(),
        });
    }
    let env = environment()?;
    let map = |e: ort::Error| ExpertError::Onnx(format!("{}: {e}", path.display()));
    Session::builder(env)
        .map_err(map)?
        .with_intra_threads(1)
        .map_err(|e| ExpertError::Onnx(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| ExpertError::Onnx(e.to_string()))?
        .commit_from_file(path)
        .map_err(map)
}
