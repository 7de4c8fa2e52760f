//! Ultralytics YOLO detect/seg output `[1, 4 + nc + nm, N]`: per anchor `cx, cy, w, h` (input
//! pixels), `nc` class scores (already sigmoid), then `nm` mask coefficients (0 for detect, 32
//! for seg). One class per anchor (the best), kept when its score exceeds the threshold, then
//! NMS.

use super::nms::nms;
use super::{Candidate, ShapeError};

/// Thresholds of the YOLO decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YoloParams {
    /// An anchor is a candidate when its best class score is above this (Ultralytics: 0.25).
    pub conf_threshold: f32,
    /// NMS drops a box whose IoU with a better one of its class is above this (Ultralytics: 0.7).
    pub iou_threshold: f32,
    /// At most this many detections (Ultralytics: 300).
    pub max_detections: usize,
    /// Suppress across classes too (Ultralytics `agnostic_nms`; default false: class-aware).
    pub class_agnostic: bool,
}

impl Default for YoloParams {
    fn default() -> Self {
        Self {
            conf_threshold: 0.25,
            iou_threshold: 0.7,
            max_detections: 300,
            class_agnostic: false,
        }
    }
}

/// At most this many candidates enter NMS (the best-scoring; Ultralytics `max_nms`).
const MAX_NMS: usize = 30_000;

/// Number of classes in an output of shape `[1, 4 + nc + mask_coeffs, N]`.
///
/// # Errors
/// [`ShapeError`] when the shape is not rank 3 with batch 1 and at least one class.
pub fn num_classes(shape: &[usize], mask_coeffs: usize) -> Result<usize, ShapeError> {
    let expected = if mask_coeffs == 0 {
        "[1, 4 + classes, anchors]".to_string()
    } else {
        format!("[1, 4 + classes + {mask_coeffs}, anchors]")
    };
    match shape {
        [1, c, n] if *c > 4 + mask_coeffs && *n > 0 => Ok(c - 4 - mask_coeffs),
        _ => Err(ShapeError::new("output 0", expected, shape)),
    }
}

/// Decode `output` (shape `[1, 4 + nc + mask_coeffs, N]`, row-major) into NMS-filtered
/// candidates in input pixels, best first.
///
/// # Errors
/// [`ShapeError`] when the shape does not fit or the data length does not match it.
pub fn decode(
    output: &[f32],
    shape: &[usize],
    mask_coeffs: usize,
    params: &YoloParams,
) -> Result<Vec<Candidate>, ShapeError> {
    let nc = num_classes(shape, mask_coeffs)?;
    let n = shape[2];
    if output.len() != shape.iter().product::<usize>() {
        return Err(ShapeError::new(
            "output 0",
            format!("{} values", shape.iter().product::<usize>()),
            &[output.len()],
        ));
    }
    // Class-major sweep for the best score: each class row is contiguous, so this is a
    // streaming (vectorised) max; the class itself is looked up only for the few anchors above
    // the threshold.
    let mut best = output[4 * n..5 * n].to_vec();
    for c in 1..nc {
        let row = &output[(4 + c) * n..(5 + c) * n];
        for (b, &s) in best.iter_mut().zip(row) {
            *b = b.max(s);
        }
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, &score) in best.iter().enumerate() {
        if score > params.conf_threshold {
            let class_id = (0..nc)
                .find(|&c| output[(4 + c) * n + i] == score)
                .unwrap_or(0);
            let (cx, cy, w, h) = (
                output[i],
                output[n + i],
                output[2 * n + i],
                output[3 * n + i],
            );
            candidates.push(Candidate {
                class_id,
                score,
                bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
                anchor: i,
                keypoints: Vec::new(),
            });
        }
    }
    if candidates.len() > MAX_NMS {
        candidates.select_nth_unstable_by(MAX_NMS, |a, b| b.score.total_cmp(&a.score));
        candidates.truncate(MAX_NMS);
    }
    Ok(nms(
        candidates,
        params.iou_threshold,
        !params.class_agnostic,
        params.max_detections,
    ))
}

/// The `mask_coeffs` coefficients of `anchor` in an output `[1, 4 + nc + mask_coeffs, N]`.
pub fn mask_coefficients(
    output: &[f32],
    shape: &[usize],
    mask_coeffs: usize,
    anchor: usize,
) -> Vec<f32> {
    let (c, n) = (shape[1], shape[2]);
    let first = c - mask_coeffs;
    (0..mask_coeffs)
        .map(|k| output[(first + k) * n + anchor])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output `[1, 4 + 2, 3]`: anchors as columns.
    fn output(anchors: &[[f32; 6]]) -> (Vec<f32>, Vec<usize>) {
        let n = anchors.len();
        let mut out = vec![0.0; 6 * n];
        for (i, a) in anchors.iter().enumerate() {
            for (r, v) in a.iter().enumerate() {
                out[r * n + i] = *v;
            }
        }
        (out, vec![1, 6, n])
    }

    #[test]
    fn best_class_above_threshold_becomes_a_box() {
        let (out, shape) = output(&[
            [100.0, 50.0, 20.0, 10.0, 0.1, 0.9],
            [10.0, 10.0, 4.0, 4.0, 0.2, 0.1],
            [300.0, 50.0, 20.0, 10.0, 0.6, 0.3],
        ]);
        let d = decode(&out, &shape, 0, &YoloParams::default()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].class_id, 1);
        assert_eq!(d[0].bbox, [90.0, 45.0, 110.0, 55.0]);
        assert_eq!(d[1].class_id, 0);
        assert_eq!(d[1].anchor, 2);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(num_classes(&[1, 4, 10], 0).is_err());
        assert!(num_classes(&[2, 10, 10], 0).is_err());
        assert!(num_classes(&[1, 36, 10], 32).is_err());
        assert_eq!(num_classes(&[1, 116, 8400], 32).unwrap(), 80);
        assert!(decode(&[0.0; 5], &[1, 6, 3], 0, &YoloParams::default()).is_err());
    }
}
