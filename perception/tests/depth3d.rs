//! 3D positions from a synthetic aligned depth image and pinhole intrinsics: within 1 cm of the
//! analytic answer, in the camera frame and in the world frame, with invalid and outlier depth
//! pixels under the objects.

mod common;

use clea_bus::msg::{CameraImage, Detection, Header};
use clea_perception::geometry::{DepthRange, TransformConfig};
use clea_perception::pipeline::Geometry;
use clea_perception::{
    DepthImage, Family, FrameTransform, Image, Intrinsics, OnnxDetector, Pipeline,
};
use common::detector;
use std::f64::consts::FRAC_PI_2;

const W: u32 = 640;
const H: u32 = 480;

/// Background 3 m; the apple/cup box (source [152, 184, 248, 256]) at 1.25 m; the person box
/// ([272, 288, 368, 352]) at 2 m with 3 m background in its outer ring; some pixels invalid
/// (0, NaN) or stray (0.3 m) inside both.
fn depth() -> DepthImage {
    let mut d = vec![3.0f32; (W * H) as usize];
    for y in 0..H {
        for x in 0..W {
            let i = (y * W + x) as usize;
            if (152..248).contains(&x) && (184..256).contains(&y) {
                d[i] = match (x + 7 * y) % 13 {
                    0 => 0.0,
                    1 => f32::NAN,
                    2 => 0.3,
                    _ => 1.25,
                };
            }
            if (284..356).contains(&x) && (296..344).contains(&y) {
                d[i] = if (x * y) % 11 == 0 { 0.0 } else { 2.0 };
            }
        }
    }
    DepthImage::from_metres(W, H, d).unwrap()
}

fn k() -> Intrinsics {
    Intrinsics::new(525.0, 525.0, 319.5, 239.5).unwrap()
}

/// Camera 1.2 m above the world origin, 0.1 m forward, looking along world +x (the ROS optical
/// frame: rpy = (-pi/2, 0, -pi/2)): world = (0.1 + z, -x, 1.2 - y).
fn transform() -> FrameTransform {
    FrameTransform::from_config(&TransformConfig {
        frame_id: "world".into(),
        translation: [0.1, 0.0, 1.2],
        rpy: Some([-FRAC_PI_2, 0.0, -FRAC_PI_2]),
        quaternion: None,
    })
    .unwrap()
}

fn assert_near(d: &Detection, pixel: (f64, f64), z: f64) {
    let want_cam = [
        (pixel.0 - 319.5) * z / 525.0,
        (pixel.1 - 239.5) * z / 525.0,
        z,
    ];
    let want_world = [0.1 + want_cam[2], -want_cam[0], 1.2 - want_cam[1]];
    let c = d.position_camera.expect("camera position");
    let p = d.position.expect("world position");
    for (got, want) in [[c.x, c.y, c.z], [p.x, p.y, p.z]]
        .iter()
        .zip([want_cam, want_world])
    {
        let err =
            ((got[0] - want[0]).powi(2) + (got[1] - want[1]).powi(2) + (got[2] - want[2]).powi(2))
                .sqrt();
        assert!(
            err < 0.01,
            "{}: {got:?}, want {want:?} (error {err} m)",
            d.label
        );
    }
}

fn blank() -> Image {
    Image::from_rgb8(W, H, &vec![100u8; (W * H * 3) as usize]).unwrap()
}

#[test]
fn seg_masks_give_positions_within_a_centimetre() {
    let det = OnnxDetector::new(&detector("yolo_seg.onnx", Family::YoloSeg)).unwrap();
    let mut p = Pipeline::new(Box::new(det));
    let (depth, k, t) = (depth(), k(), transform());
    let geometry = Geometry {
        depth: &depth,
        intrinsics: &k,
        transform: &t,
        range: DepthRange::default(),
    };
    let d = p.process(&blank(), Some(geometry)).unwrap();
    assert_eq!(d.len(), 3);
    // Pixels are the mask centroids: apple the whole box, cup its top half (rows 184..220),
    // person its left half (columns 272..320).
    assert_near(&d[0], (200.0, 220.0), 1.25);
    assert_near(&d[1], (200.0, 202.0), 1.25);
    assert_near(&d[2], (296.0, 320.0), 2.0);
}

#[test]
fn boxes_without_masks_use_the_central_half_and_16uc1_depth() {
    let det = OnnxDetector::new(&detector("yolo_detect.onnx", Family::Yolo)).unwrap();
    let mut p = Pipeline::new(Box::new(det));
    // Through the ROS path: 16UC1 millimetres with a padded step, and the PNG path.
    let depth = depth();
    let step = W * 2 + 8;
    let mut data = vec![0u8; (step * H) as usize];
    for y in 0..H {
        for x in 0..W {
            let mm = depth.get(x, y).map_or(0, |m| (m * 1000.0).round() as u16);
            let o = (y * step + x * 2) as usize;
            data[o..o + 2].copy_from_slice(&mm.to_le_bytes());
        }
    }
    let msg = CameraImage {
        header: Header::default(),
        height: H,
        width: W,
        encoding: "16UC1".into(),
        is_bigendian: 0,
        step,
        data,
    };
    let from_ros = DepthImage::from_ros(&msg, "depth").unwrap();
    let png = tempfile::NamedTempFile::with_suffix(".png").unwrap();
    std::fs::write(png.path(), depth.to_png_mm().unwrap()).unwrap();
    let from_png = DepthImage::from_file(png.path()).unwrap();
    assert_eq!(from_ros.data.len(), from_png.data.len());
    let (k, t) = (k(), transform());
    for depth in [&from_ros, &from_png] {
        let geometry = Geometry {
            depth,
            intrinsics: &k,
            transform: &t,
            range: DepthRange::default(),
        };
        let d = p.process(&blank(), Some(geometry)).unwrap();
        assert_eq!(d.len(), 3);
        assert!(d.iter().all(|d| d.mask.is_none()));
        assert_near(&d[0], (200.0, 220.0), 1.25);
        // The person's box has 3 m background in its outer ring: the central half is all 2 m.
        assert_near(&d[2], (320.0, 320.0), 2.0);
    }
}

#[test]
fn no_valid_depth_means_no_position() {
    let det = OnnxDetector::new(&detector("yolo_detect.onnx", Family::Yolo)).unwrap();
    let mut p = Pipeline::new(Box::new(det));
    let empty = DepthImage::from_metres(W, H, vec![0.0; (W * H) as usize]).unwrap();
    let (k, t) = (k(), transform());
    let geometry = Geometry {
        depth: &empty,
        intrinsics: &k,
        transform: &t,
        range: DepthRange::default(),
    };
    let d = p.process(&blank(), Some(geometry)).unwrap();
    assert_eq!(d.len(), 3);
    assert!(d
        .iter()
        .all(|d| d.position.is_none() && d.position_camera.is_none()));
    let d = p.process(&blank(), None).unwrap();
    assert!(d.iter().all(|d| d.position.is_none()));
}
