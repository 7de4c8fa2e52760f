//! Errors of the perception crate: one [`Error`] enum whose variants name the file, field or
//! message at fault and the reason, plus a fieldless [`ErrorKind`] to match on.

use std::path::PathBuf;

/// What went wrong, without the details (for matching in callers and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The ONNX Runtime library could not be found or loaded.
    Runtime,
    /// A model file is missing or ONNX Runtime rejected it.
    Model,
    /// A model's inputs or outputs do not have the shape its family needs.
    ModelShape,
    /// Inference failed.
    Inference,
    /// An image could not be decoded, encoded or written.
    Image,
    /// An image message has an encoding this crate does not read.
    Encoding,
    /// Two images (colour and depth) or an image and its calibration disagree in size.
    SizeMismatch,
    /// A configuration value is invalid.
    Config,
    /// A file could not be read or written.
    Io,
    /// The bus failed.
    Bus,
}

/// Errors of the perception crate. Every variant says which file, field or message is at fault and
/// why; none of them is raised by a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ONNX Runtime shared library could not be loaded.
    #[error(
        "cannot load the ONNX Runtime library {path}: {reason} (set ORT_DYLIB_PATH, or \
         `runtime.dylib_path`, to libonnxruntime.so; `pip install onnxruntime` ships it in \
         site-packages/onnxruntime/capi/)"
    )]
    Runtime {
        /// The library path tried (`<unset>` when neither ORT_DYLIB_PATH nor the config names one).
        path: String,
        /// Why.
        reason: String,
    },
    /// A model file is missing or ONNX Runtime rejected it.
    #[error("model {path}: {reason}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A model input or output does not have the shape its family needs.
    #[error("model {path}: {field}: expected {expected}, found {found}")]
    ModelShape {
        /// The model file.
        path: PathBuf,
        /// Which input or output, e.g. `input images`.
        field: String,
        /// What the family needs, e.g. `[1, 3, H, W] f32`.
        expected: String,
        /// What the model declares.
        found: String,
    },
    /// ONNX Runtime failed while running a model.
    #[error("inference with {path}: {reason}")]
    Inference {
        /// The model file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An image could not be decoded or encoded.
    #[error("image {source_name}: {reason}")]
    Image {
        /// Where the image came from: a file path or a bus key.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// An image message has an encoding this crate does not read.
    #[error(
        "image {source_name}: unknown encoding {encoding:?} (expected one of rgb8, bgr8, mono8, \
         16UC1, 32FC1)"
    )]
    Encoding {
        /// Where the image came from.
        source_name: String,
        /// The encoding found.
        encoding: String,
    },
    /// Two images, or an image and its calibration, differ in size.
    #[error("{what}: size {found_w}x{found_h} does not match the colour image's {expected_w}x{expected_h}")]
    SizeMismatch {
        /// Which image, e.g. `depth image depth.png`.
        what: String,
        /// Expected width, px.
        expected_w: u32,
        /// Expected height, px.
        expected_h: u32,
        /// Width found, px.
        found_w: u32,
        /// Height found, px.
        found_h: u32,
    },
    /// A configuration value is invalid.
    #[error("{file}: {field}: {reason}")]
    Config {
        /// The configuration file (or `<config>` for values built in code, `<args>` for the CLI).
        file: String,
        /// The field, e.g. `cameras[0].intrinsics`.
        field: String,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] clea_bus::BusError),
}

impl Error {
    /// The kind of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Runtime { .. } => ErrorKind::Runtime,
            Error::Model { .. } => ErrorKind::Model,
            Error::ModelShape { .. } => ErrorKind::ModelShape,
            Error::Inference { .. } => ErrorKind::Inference,
            Error::Image { .. } => ErrorKind::Image,
            Error::Encoding { .. } => ErrorKind::Encoding,
            Error::SizeMismatch { .. } => ErrorKind::SizeMismatch,
            Error::Config { .. } => ErrorKind::Config,
            Error::Io { .. } => ErrorKind::Io,
            Error::Bus(_) => ErrorKind::Bus,
        }
    }

    /// A configuration error for a value built in code (`file` = `<config>`).
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            file: "<config>".into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An image error.
    pub(crate) fn image(source_name: impl Into<String>, reason: impl ToString) -> Self {
        Error::Image {
            source_name: source_name.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
