//! Greedy non-maximum suppression.

use super::Candidate;

/// Intersection over union of two `[x1, y1, x2, y2]` boxes (0 for empty boxes).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Keep the best-scoring candidates, dropping any whose IoU with a kept one exceeds
/// `iou_threshold` (only within the same class when `class_aware`). Returns at most
/// `max_detections`, best score first (ties: lower anchor first, so the result is
/// deterministic).
pub fn nms(
    mut candidates: Vec<Candidate>,
    iou_threshold: f32,
    class_aware: bool,
    max_detections: usize,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.anchor.cmp(&b.anchor))
    });
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() >= max_detections {
            break;
        }
        let suppressed = kept.iter().any(|k| {
            (!class_aware || k.class_id == c.class_id) && iou(&k.bbox, &c.bbox) > iou_threshold
        });
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(class_id: usize, score: f32, bbox: [f32; 4], anchor: usize) -> Candidate {
        Candidate {
            class_id,
            score,
            bbox,
            anchor,
            keypoints: Vec::new(),
        }
    }

    #[test]
    fn overlapping_boxes_of_one_class_collapse_but_other_classes_stay() {
        let c = vec![
            cand(0, 0.8, [0.0, 0.0, 10.0, 10.0], 1),
            cand(0, 0.9, [1.0, 0.0, 11.0, 10.0], 0),
            cand(1, 0.7, [0.0, 0.0, 10.0, 10.0], 2),
            cand(0, 0.6, [50.0, 50.0, 60.0, 60.0], 3),
        ];
        let k = nms(c.clone(), 0.5, true, 100);
        assert_eq!(
            k.iter().map(|c| c.anchor).collect::<Vec<_>>(),
            vec![0, 2, 3]
        );
        let agnostic = nms(c, 0.5, false, 100);
        assert_eq!(
            agnostic.iter().map(|c| c.anchor).collect::<Vec<_>>(),
            vec![0, 3]
        );
    }

    #[test]
    fn iou_of_disjoint_and_identical_boxes() {
        let a = [0.0, 0.0, 2.0, 2.0];
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &[3.0, 3.0, 4.0, 4.0]), 0.0);
        assert!((iou(&a, &[1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
    }
}
