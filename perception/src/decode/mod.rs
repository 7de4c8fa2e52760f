//! Decoders: output tensors of a model → candidate detections in model-input pixels, then
//! non-maximum suppression, then (seg) masks in source pixels.
//!
//! Each family is a small module over plain `&[f32]` tensors with their shapes, so it is tested
//! exactly with constant tensors and never touches ort or OpenCV:
//! - [`yolo`]: Ultralytics detect export, output `[1, 4 + nc, N]` (`cx, cy, w, h`, then one
//!   score per class, for N anchors); seg exports append 32 mask coefficients per anchor
//!   (`[1, 4 + nc + 32, N]`).
//! - [`seg`]: YOLO seg masks from the coefficients and the prototypes `[1, 32, H/4, W/4]`,
//!   cropped to the box and thresholded, sampled straight at source resolution through the
//!   letterbox.
//! - [`centerface`]: CenterFace heatmap/scale/offset/landmark maps at stride 4.
//! - [`nms`]: greedy, optionally class-aware non-maximum suppression.

pub mod centerface;
pub mod nms;
pub mod seg;
pub mod yolo;

/// A detection in model-input pixels, before mapping back to the source image.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Class index.
    pub class_id: usize,
    /// Score in `[0, 1]`.
    pub score: f32,
    /// Box `[x1, y1, x2, y2]` in model-input pixels.
    pub bbox: [f32; 4],
    /// Index of the anchor (output column / grid cell) it came from.
    pub anchor: usize,
    /// Keypoints in model-input pixels (CenterFace landmarks; empty for YOLO).
    pub keypoints: Vec<[f32; 2]>,
}

/// Why an output tensor cannot be decoded (the model's output does not fit the family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Which output.
    pub field: String,
    /// What the decoder needs.
    pub expected: String,
    /// What it got.
    pub found: String,
}

impl ShapeError {
    pub(crate) fn new(field: &str, expected: impl Into<String>, shape: &[usize]) -> Self {
        Self {
            field: field.to_string(),
            expected: expected.into(),
            found: format!("{shape:?}"),
        }
    }
}
