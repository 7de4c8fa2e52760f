//! A missing ONNX Runtime library is a clear error naming ORT_DYLIB_PATH, not a panic. (Its own
//! test binary: once a process has loaded the runtime, it stays loaded.)

use clea_perception::{DetectorConfig, ErrorKind, Family, OnnxDetector, RuntimeConfig};

#[test]
fn missing_runtime_library_names_ort_dylib_path() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, b"x").unwrap();
    let mut c = DetectorConfig::new(&model, Family::Yolo);
    c.runtime = RuntimeConfig {
        dylib_path: Some(dir.path().join("libonnxruntime.so.1.32.0")),
        ..RuntimeConfig::default()
    };
    let e = OnnxDetector::new(&c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("ORT_DYLIB_PATH") && msg.contains("libonnxruntime.so.1.32.0"),
        "{msg}"
    );
    // A file that is not a shared library.
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not an ELF file").unwrap();
    c.runtime.dylib_path = Some(fake);
    let e = OnnxDetector::new(&c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");
    assert!(e.to_string().contains("ORT_DYLIB_PATH"), "{e}");
    // Nothing configured at all.
    let unset = RuntimeConfig::default();
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        let e = unset.resolve_dylib().unwrap_err();
        assert!(e.to_string().contains("ORT_DYLIB_PATH is not set"), "{e}");
    }
}
