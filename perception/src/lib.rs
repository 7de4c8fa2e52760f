//! # clea-perception: camera frames to detections and 3D objects, for the CLEA observer
//!
//! A robot's camera publishes colour images (and, optionally, aligned depth and its calibration)
//! on the bus; this crate turns each frame into [`clea_bus::msg::Detections`] (label, score, box,
//! mask, 3D position) and, through the detector-based observer, into the
//! [`clea_bus::msg::RobotObservation`] the agent's observer already consumes.
//!
//! The parts, each usable alone:
//! - [`session`]: ONNX Runtime through `ort` (the library is loaded at run time from
//!   `ORT_DYLIB_PATH` or the config), execution providers by config (CPU; CUDA or TensorRT with
//!   fallback), thread counts.
//! - [`image`]: decoding (JPEG/PNG, ROS encodings `rgb8`, `bgr8`, `mono8`, depth `16UC1` mm and
//!   `32FC1` m) with OpenCV, letterboxing and NCHW `f32` normalisation ([`image::Preprocessor`]).
//! - [`container`]: checks of an encoded image file before it is decoded (declared size against
//!   [`ImageLimits`], a truncated JPEG, PNG chunks and CRCs).
//! - [`decode`]: pure decoders over output tensors: YOLO detect and seg in the Ultralytics export
//!   layout, CenterFace, class-aware NMS, masks cropped to the box; all mapped back through the
//!   letterbox to source pixels.
//! - [`detector`]: the [`Detector`] trait (image in, detections out) and its ONNX implementation
//!   [`OnnxDetector`], which ties the three above together.
//! - [`geometry`]: pinhole intrinsics, robust (median) depth over a mask or box, and the
//!   camera → robot/world transform (`nalgebra::Isometry3<f64>`).
//! - [`pipeline`]: detector + geometry: one frame to bus detections.
//! - [`draw`]: annotated debug images.
//! - [`actor`]: the perception actor on the bus; [`observer`]: the detector-based observer that
//!   maps labels and 3D positions to world-vocabulary names and receptacles; [`watch`]: the
//!   silence check that warns when a camera's frames stop or never arrive.
//!
//! Design choice: the decoders never see ort or OpenCV types; they take `&[f32]` tensors with
//! their shapes and a [`image::Letterbox`], so they are tested exactly with constant tensors,
//! and the ONNX session is one implementation of a small trait.
//!
//! Units: pixels for image coordinates (x right, y down, box edges on pixel edges), metres for
//! depth and positions, camera optical frame (x right, y down, z forward).
#![deny(missing_docs)]

pub mod actor;
pub mod container;
pub mod decode;
pub mod detector;
pub mod draw;
pub mod error;
pub mod geometry;
pub mod image;
pub mod mask;
pub mod observer;
pub mod pipeline;
pub mod session;
pub mod watch;

pub use container::ImageLimits;
pub use detector::{Detector, DetectorConfig, Family, ImageDetection, OnnxDetector};
pub use error::{Error, ErrorKind, Result};
pub use geometry::{FrameTransform, Intrinsics};
pub use image::{DepthImage, Image};
pub use mask::Mask;
pub use pipeline::Pipeline;
pub use session::{Provider, RuntimeConfig};
