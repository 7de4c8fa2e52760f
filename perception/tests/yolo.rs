//! YOLO detect and seg decoding against fixture models with constant outputs: after letterbox
//! inversion and class-aware NMS the boxes, classes, scores and masks are exactly the expected
//! ones, for square and non-square images and a non-square model input.

mod common;

use clea_perception::{Detector, Family, Image, ImageDetection, OnnxDetector};
use common::{detector, LABELS};

fn blank(w: u32, h: u32) -> Image {
    Image::from_rgb8(w, h, &vec![90u8; (w * h * 3) as usize]).unwrap()
}

fn assert_box(d: &ImageDetection, want: [f64; 4]) {
    for (got, want) in d.bbox.iter().zip(want) {
        assert!((got - want).abs() < 1e-6, "box {:?}, want {want:?}", d.bbox);
    }
}

/// The fixture detections with boxes `boxes` (source pixels), in score order.
fn assert_detections(dets: &[ImageDetection], boxes: [[f64; 4]; 3]) {
    assert_eq!(dets.len(), 3, "{dets:#?}");
    let classes: Vec<(&str, usize)> = dets
        .iter()
        .map(|d| (d.label.as_str(), d.class_id))
        .collect();
    assert_eq!(classes, vec![("apple", 0), ("cup", 1), ("person", 2)]);
    for (d, (want, (_, _, score))) in dets.iter().zip(boxes.iter().zip(common::EXPECTED)) {
        assert_eq!(d.score, score);
        assert_box(d, *want);
        assert!(d.keypoints.is_empty());
    }
}

#[test]
fn detect_on_square_and_non_square_images() {
    let mut det = OnnxDetector::new(&detector("yolo_detect.onnx", Family::Yolo)).unwrap();
    assert_eq!(
        det.labels(),
        LABELS,
        "labels come from the model's `names` metadata"
    );
    assert_eq!(det.input_size(), (640, 640));
    // Square, scaled up 2x: input = 2 * source.
    let d = det.detect(&blank(320, 320)).unwrap();
    assert_detections(
        &d,
        [
            [76.0, 132.0, 124.0, 168.0],
            [76.0, 132.0, 124.0, 168.0],
            [136.0, 184.0, 184.0, 216.0],
        ],
    );
    assert!(d.iter().all(|d| d.mask.is_none()));
    // Same size as the input: identity.
    let d = det.detect(&blank(640, 640)).unwrap();
    assert_detections(&d, common::EXPECTED.map(|(b, _, _)| b));
    // Wide: 800x400 -> scale 0.8, 160 px padding above and below.
    let d = det.detect(&blank(800, 400)).unwrap();
    assert_detections(
        &d,
        [
            [190.0, 130.0, 310.0, 220.0],
            [190.0, 130.0, 310.0, 220.0],
            [340.0, 260.0, 460.0, 340.0],
        ],
    );
    // Tall: 400x800 -> scale 0.8, 160 px padding left and right; the apple box is clipped at x=0.
    let d = det.detect(&blank(400, 800)).unwrap();
    assert_detections(
        &d,
        [
            [0.0, 330.0, 110.0, 420.0],
            [0.0, 330.0, 110.0, 420.0],
            [140.0, 460.0, 260.0, 540.0],
        ],
    );
}

#[test]
fn detect_with_a_non_square_model_input() {
    let mut det = OnnxDetector::new(&detector("yolo_detect_wide.onnx", Family::Yolo)).unwrap();
    assert_eq!(det.input_size(), (640, 384));
    // 1280x720 -> scale 0.5 (640x360), 12 px padding above and below; the person box leaves the
    // image at the bottom and is clipped to y = 720.
    let d = det.detect(&blank(1280, 720)).unwrap();
    assert_detections(
        &d,
        [
            [304.0, 504.0, 496.0, 648.0],
            [304.0, 504.0, 496.0, 648.0],
            [544.0, 712.0, 736.0, 720.0],
        ],
    );
}

/// A model exported with dynamic axes (`[batch, 3, height, width]`, as `yolo export
/// dynamic=True` writes it) runs at 640x640 unless an input size is configured.
#[test]
fn a_dynamic_export_runs_at_640_or_at_the_configured_size() {
    let mut det = OnnxDetector::new(&detector("yolo_detect_dynamic.onnx", Family::Yolo)).unwrap();
    assert_eq!(det.input_size(), (640, 640));
    let mut fixed = OnnxDetector::new(&detector("yolo_detect.onnx", Family::Yolo)).unwrap();
    let image = blank(640, 480);
    assert_eq!(det.detect(&image).unwrap(), fixed.detect(&image).unwrap());
    let mut c = detector("yolo_detect_dynamic.onnx", Family::Yolo);
    c.input_size = Some([320, 256]);
    let mut small = OnnxDetector::new(&c).unwrap();
    assert_eq!(small.input_size(), (320, 256));
    assert!(small.detect(&image).is_ok());
}

#[test]
fn thresholds_and_agnostic_nms_are_configurable() {
    let mut c = detector("yolo_detect.onnx", Family::Yolo);
    c.conf_threshold = Some(0.1);
    c.class_agnostic = true;
    c.labels = vec!["a".into(), "b".into(), "c".into()];
    let mut det = OnnxDetector::new(&c).unwrap();
    let d = det.detect(&blank(640, 640)).unwrap();
    // The cup shares the apple's box: gone with class-agnostic NMS; the 0.2 person now passes.
    let got: Vec<(&str, f32)> = d.iter().map(|d| (d.label.as_str(), d.score)).collect();
    assert_eq!(got, vec![("a", 0.9), ("c", 0.7), ("c", 0.2)]);
}

/// Check every pixel of a mask's rectangle against `on(x, y)`.
fn assert_mask(d: &ImageDetection, rect: (u32, u32, u32, u32), on: impl Fn(u32, u32) -> bool) {
    let m = d.mask.as_ref().expect("seg detections have masks");
    assert_eq!(
        (m.x, m.y, m.width, m.height),
        rect,
        "{} mask rectangle",
        d.label
    );
    let mut area = 0;
    for y in m.y..m.y + m.height {
        for x in m.x..m.x + m.width {
            assert_eq!(m.get(x, y), on(x, y), "{} pixel ({x}, {y})", d.label);
            area += usize::from(on(x, y));
        }
    }
    assert_eq!(m.area(), area);
}

#[test]
fn seg_masks_are_cropped_thresholded_and_mapped_back() {
    let mut det = OnnxDetector::new(&detector("yolo_seg.onnx", Family::YoloSeg)).unwrap();
    // Square 320x320 (input = 2 * source). Prototypes: apple all on; cup on above input
    // y = 300 (source y = 150); person on left of input x = 320 (source x = 160).
    let d = det.detect(&blank(320, 320)).unwrap();
    assert_detections(
        &d,
        [
            [76.0, 132.0, 124.0, 168.0],
            [76.0, 132.0, 124.0, 168.0],
            [136.0, 184.0, 184.0, 216.0],
        ],
    );
    assert_mask(&d[0], (76, 132, 48, 36), |_, _| true);
    assert_mask(&d[1], (76, 132, 48, 36), |_, y| y < 150);
    assert_mask(&d[2], (136, 184, 48, 32), |x, _| x < 160);
    assert_eq!(
        [&d[0], &d[1], &d[2]].map(|d| d.mask.as_ref().unwrap().area()),
        [1728, 864, 768]
    );
    // Wide 800x400 (input = 0.8 * source + (0, 160)): cup on above source y = 175, person left
    // of source x = 400.
    let d = det.detect(&blank(800, 400)).unwrap();
    assert_detections(
        &d,
        [
            [190.0, 130.0, 310.0, 220.0],
            [190.0, 130.0, 310.0, 220.0],
            [340.0, 260.0, 460.0, 340.0],
        ],
    );
    assert_mask(&d[0], (190, 130, 120, 90), |_, _| true);
    assert_mask(&d[1], (190, 130, 120, 90), |_, y| y < 175);
    assert_mask(&d[2], (340, 260, 120, 80), |x, _| x < 400);
    // Masks survive the bus encoding.
    let rle = d[1].mask.as_ref().unwrap().to_rle();
    assert_eq!(rle.counts.iter().sum::<u32>(), 120 * 90);
    assert_eq!(
        clea_perception::Mask::from_rle(&rle).unwrap(),
        *d[1].mask.as_ref().unwrap()
    );
}

#[test]
fn decoded_png_and_ros_images_give_the_same_detections() {
    use clea_bus::msg::{CameraImage, Header};
    let mut det = OnnxDetector::new(&detector("yolo_seg.onnx", Family::YoloSeg)).unwrap();
    let (w, h) = (800u32, 400u32);
    let rgb = vec![30u8; (w * h * 3) as usize];
    let from_rgb = det.detect(&Image::from_rgb8(w, h, &rgb).unwrap()).unwrap();
    // The same pixels as a bgr8 message with row padding, and as a PNG file.
    let step = w * 3 + 16;
    let mut data = vec![0u8; (step * h) as usize];
    for r in 0..h as usize {
        data[r * step as usize..r * step as usize + (w * 3) as usize].fill(30);
    }
    let msg = CameraImage {
        header: Header::default(),
        height: h,
        width: w,
        encoding: "bgr8".into(),
        is_bigendian: 0,
        step,
        data,
    };
    let from_ros = det.detect(&Image::from_ros(&msg, "test").unwrap()).unwrap();
    assert_eq!(from_rgb, from_ros);
    let png = tempfile::NamedTempFile::with_suffix(".png").unwrap();
    let bgr = Image::from_ros(&msg, "test").unwrap().to_bgr().unwrap();
    clea_perception::draw::write_image(png.path(), &bgr).unwrap();
    let from_png = det.detect(&Image::from_file(png.path()).unwrap()).unwrap();
    assert_eq!(from_rgb, from_png);
}
