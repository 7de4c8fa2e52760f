//! ONNX Runtime sessions through `ort` with `load-dynamic`.
//!
//! The runtime library (`libonnxruntime.so`, e.g. from `pip install onnxruntime`, or
//! `onnxruntime-gpu` for CUDA/TensorRT) is loaded once per process from
//! [`RuntimeConfig::dylib_path`] or, when that is unset, from the `ORT_DYLIB_PATH` environment
//! variable. A missing library is an [`Error::Runtime`] naming both, never a panic.
//!
//! Execution providers come from the config: CPU by default; CUDA or TensorRT on request, each
//! falling back along TensorRT → CUDA → CPU when it cannot be registered (ONNX Runtime built
//! without it, no driver). Exactly one `info` log line per model says which provider runs.

use crate::error::{Error, Result};
use ort::ep::ExecutionProvider;
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Environment variable naming the ONNX Runtime shared library.
pub const ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";

/// Which execution provider runs a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// NVIDIA CUDA (needs `onnxruntime-gpu` and a driver); falls back to CPU.
    Cuda,
    /// NVIDIA TensorRT (needs `onnxruntime-gpu` with TensorRT); falls back to CUDA, then CPU.
    Tensorrt,
}

/// ONNX Runtime settings (`runtime:` in a perception config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// The ONNX Runtime shared library; `None` reads `ORT_DYLIB_PATH`.
    #[serde(default)]
    pub dylib_path: Option<PathBuf>,
    /// Execution provider to ask for (default `cpu`).
    #[serde(default)]
    pub provider: Provider,
    /// GPU index for CUDA/TensorRT (default 0).
    #[serde(default)]
    pub device_id: i32,
    /// TensorRT: build FP16 engines (default false).
    #[serde(default)]
    pub tensorrt_fp16: bool,
    /// Threads inside one operator; 0 lets ONNX Runtime choose (one per core).
    #[serde(default)]
    pub intra_threads: usize,
    /// Threads across operators; 0 lets ONNX Runtime choose (sequential execution uses one).
    #[serde(default)]
    pub inter_threads: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            dylib_path: None,
            provider: Provider::Cpu,
            device_id: 0,
            tensorrt_fp16: false,
            intra_threads: 0,
            inter_threads: 0,
        }
    }
}

impl RuntimeConfig {
    /// The library path: the config's, else `ORT_DYLIB_PATH`.
    ///
    /// # Errors
    /// [`Error::Runtime`] when neither names a library.
    pub fn resolve_dylib(&self) -> Result<PathBuf> {
        if let Some(p) = &self.dylib_path {
            return Ok(p.clone());
        }
        match std::env::var_os(ORT_DYLIB_PATH) {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => Err(Error::Runtime {
                path: "<unset>".into(),
                reason: format!("{ORT_DYLIB_PATH} is not set and the config names no library"),
            }),
        }
    }
}

static ENVIRONMENT: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// The process's ONNX Runtime environment, loading the library on first use.
///
/// ONNX Runtime allows one environment per process: later calls return the first one, whatever
/// library they name (a different path is logged as a warning).
///
/// # Errors
/// [`Error::Runtime`] when the library is not configured, missing, or not an ONNX Runtime build
/// this crate can use (older than 1.31).
pub fn environment(config: &RuntimeConfig) -> Result<ort::environment::Environment> {
    let path = config.resolve_dylib()?;
    let mut guard = ENVIRONMENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((loaded, env)) = guard.as_ref() {
        if loaded != &path {
            tracing::warn!(
                loaded = %loaded.display(),
                requested = %path.display(),
                "ONNX Runtime is already loaded from another library; using it"
            );
        }
        return Ok(env.clone());
    }
    let runtime_err = |reason: String| Error::Runtime {
        path: path.display().to_string(),
        reason,
    };
    if !path.is_file() {
        return Err(runtime_err("no such file".into()));
    }
    let builder = ort::init_from(&path).map_err(|e| runtime_err(e.to_string()))?;
    // ONNX Runtime's own messages: warnings and errors only, through `tracing` (target
    // `onnxruntime`); its info/verbose chatter would drown the one provider line.
    let logger: ort::logging::LoggerFunction = std::sync::Arc::new(
        |level: ort::logging::LogLevel,
         category: &str,
         _id: &str,
         location: &str,
         message: &str| {
            use ort::logging::LogLevel;
            match level {
                LogLevel::Warning => {
                    tracing::warn!(target: "onnxruntime", category, location, "{message}")
                }
                LogLevel::Error | LogLevel::Fatal => {
                    tracing::error!(target: "onnxruntime", category, location, "{message}")
                }
                LogLevel::Info | LogLevel::Verbose => {}
            }
        },
    );
    let env = builder
        .with_name("clea-perception")
        .with_telemetry(false)
        .with_logger(logger)
        .build()
        .map_err(|e| runtime_err(e.to_string()))?;
    *guard = Some((path, env.clone()));
    Ok(env)
}

/// An input or output of a model: name, element type and shape (`-1` for a dynamic dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Name in the graph.
    pub name: String,
    /// Whether the element type is `f32`.
    pub is_f32: bool,
    /// Shape; `-1` marks a dynamic dimension.
    pub shape: Vec<i64>,
}

impl TensorInfo {
    /// The shape as text, e.g. `[1, 3, 640, 640] f32` (`?` for dynamic dimensions).
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| if *d < 0 { "?".into() } else { d.to_string() })
            .collect();
        format!(
            "[{}] {}",
            dims.join(", "),
            if self.is_f32 { "f32" } else { "non-f32" }
        )
    }
}

fn tensor_info(name: &str, ty: &ValueType) -> TensorInfo {
    match ty {
        ValueType::Tensor { ty, shape, .. } => TensorInfo {
            name: name.to_string(),
            is_f32: *ty == TensorElementType::Float32,
            shape: shape.iter().copied().collect(),
        },
        _ => TensorInfo {
            name: name.to_string(),
            is_f32: false,
            shape: Vec::new(),
        },
    }
}

/// An ONNX model loaded in a session: its file, inputs, outputs and the provider that runs it.
pub struct Model {
    /// The ort session (`run` takes `&mut self`).
    pub session: Session,
    /// The model file.
    pub path: PathBuf,
    /// Inputs in graph order.
    pub inputs: Vec<TensorInfo>,
    /// Outputs in graph order.
    pub outputs: Vec<TensorInfo>,
    /// The execution provider registered for it, e.g. `CPUExecutionProvider`.
    pub provider: &'static str,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("provider", &self.provider)
            .finish()
    }
}

impl Model {
    /// Load the model at `path` with `config`'s runtime, provider and threads.
    ///
    /// # Errors
    /// [`Error::Runtime`] (library), [`Error::Model`] when the file is missing or ONNX Runtime
    /// rejects it.
    pub fn load(path: &Path, config: &RuntimeConfig) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Model {
                path: path.to_path_buf(),
                reason: "no such file".into(),
            });
        }
        let env = environment(config)?;
        let model_err = |reason: String| Error::Model {
            path: path.to_path_buf(),
            reason,
        };
        let ort_err =
            |e: ort::Error<ort::session::builder::SessionBuilder>| model_err(e.to_string());
        let mut builder = Session::builder(&env)
            .map_err(|e| model_err(e.to_string()))?
            .with_log_level(ort::logging::LogLevel::Warning)
            .map_err(ort_err)?;
        if config.intra_threads > 0 {
            builder = builder
                .with_intra_threads(config.intra_threads)
                .map_err(ort_err)?;
        }
        if config.inter_threads > 0 {
            builder = builder
                .with_inter_threads(config.inter_threads)
                .map_err(ort_err)?;
        }
        let (provider, fallback) = register_provider(&mut builder, config);
        let session = builder
            .commit_from_file(path)
            .map_err(|e| model_err(e.to_string()))?;
        match fallback {
            None => tracing::info!(
                model = %path.display(),
                provider,
                "perception model runs on {provider}"
            ),
            Some(why) => tracing::info!(
                model = %path.display(),
                provider,
                requested = ?config.provider,
                fallback = %why,
                "perception model runs on {provider} (requested {:?} unavailable)",
                config.provider
            ),
        }
        let inputs = session
            .inputs()
            .iter()
            .map(|o| tensor_info(o.name(), o.dtype()))
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| tensor_info(o.name(), o.dtype()))
            .collect();
        Ok(Self {
            session,
            path: path.to_path_buf(),
            inputs,
            outputs,
            provider,
        })
    }

    /// A custom metadata entry of the model (e.g. `names` in Ultralytics exports).
    pub fn metadata(&self, key: &str) -> Option<String> {
        let meta = self.session.metadata().ok()?;
        meta.custom(key)
    }
}

/// Register the requested provider, falling back TensorRT → CUDA → CPU. Returns the provider
/// that will run and, when it is not the requested one, why.
fn register_provider(
    builder: &mut ort::session::builder::SessionBuilder,
    config: &RuntimeConfig,
) -> (&'static str, Option<String>) {
    let mut why: Vec<String> = Vec::new();
    if config.provider == Provider::Tensorrt {
        let ep = ort::ep::TensorRT::default()
            .with_device_id(config.device_id)
            .with_fp16(config.tensorrt_fp16);
        match ep.register(builder) {
            Ok(()) => {
                // CUDA after TensorRT takes the nodes TensorRT does not support.
                let cuda = ort::ep::CUDA::default().with_device_id(config.device_id);
                if let Err(e) = cuda.register(builder) {
                    tracing::debug!(error = %e, "CUDA behind TensorRT not registered");
                }
                return (ort::ep::TensorRT::NAME, None);
            }
            Err(e) => why.push(format!("TensorRT: {e}")),
        }
    }
    if matches!(config.provider, Provider::Tensorrt | Provider::Cuda) {
        let ep = ort::ep::CUDA::default().with_device_id(config.device_id);
        match ep.register(builder) {
            Ok(()) => {
                let fallback = if why.is_empty() {
                    None
                } else {
                    Some(why.join("; "))
                };
                return (ort::ep::CUDA::NAME, fallback);
            }
            Err(e) => why.push(format!("CUDA: {e}")),
        }
    }
    let fallback = if why.is_empty() {
        None
    } else {
        Some(why.join("; "))
    };
    (ort::ep::CPU::NAME, fallback)
}
