//! Bad input is a clear, one-line error naming the file/field and the reason; never a panic.

mod common;

use clea_bus::msg::{CameraImage, Header};
use clea_perception::geometry::DepthRange;
use clea_perception::pipeline::Geometry;
use clea_perception::{
    DepthImage, Error, ErrorKind, Family, FrameTransform, Image, Intrinsics, OnnxDetector, Pipeline,
};
use common::{detector, fixture};

fn err_of<T: std::fmt::Debug>(r: Result<T, Error>, kind: ErrorKind, needles: &[&str]) {
    let e = r.expect_err("an error");
    let msg = e.to_string();
    assert_eq!(e.kind(), kind, "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
    }
}

#[test]
fn missing_or_invalid_model_files() {
    let mut c = detector("yolo_detect.onnx", Family::Yolo);
    c.model = fixture("no-such-model.onnx");
    err_of(
        OnnxDetector::new(&c),
        ErrorKind::Model,
        &["no-such-model.onnx", "no such file"],
    );
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"this is not a protobuf").unwrap();
    c.model = junk;
    err_of(OnnxDetector::new(&c), ErrorKind::Model, &["junk.onnx"]);
}

#[test]
fn models_whose_shapes_do_not_fit() {
    // Input [1, 1, 64, 64]: one channel.
    err_of(
        OnnxDetector::new(&detector("yolo_bad_input.onnx", Family::Yolo)),
        ErrorKind::ModelShape,
        &[
            "yolo_bad_input.onnx",
            "input \"images\"",
            "[1, 3, H, W] f32",
            "[1, 1, 64, 64] f32",
        ],
    );
    // A detect model (one output) read as seg (needs prototypes).
    err_of(
        OnnxDetector::new(&detector("yolo_detect.onnx", Family::YoloSeg)),
        ErrorKind::ModelShape,
        &[
            "yolo_detect.onnx",
            "2 output(s) for family yolo-seg",
            "1 output(s)",
        ],
    );
    // A seg model read as detect: said to look like a seg model, not a label count.
    err_of(
        OnnxDetector::new(&detector("yolo_seg.onnx", Family::Yolo)),
        ErrorKind::ModelShape,
        &["yolo_seg.onnx", "look like a seg model's", "yolo-seg"],
    );
    // CenterFace read as YOLO: output 0 is [1, 1, 120, 160].
    err_of(
        OnnxDetector::new(&detector("centerface.onnx", Family::Yolo)),
        ErrorKind::ModelShape,
        &[
            "centerface.onnx",
            "[1, 4 + classes, anchors]",
            "[1, 1, 120, 160]",
        ],
    );
    // A configured input size that contradicts the model's static one.
    let mut c = detector("yolo_detect.onnx", Family::Yolo);
    c.input_size = Some([320, 320]);
    err_of(
        OnnxDetector::new(&c),
        ErrorKind::ModelShape,
        &["[1, 3, 320, 320]", "[1, 3, 640, 640]"],
    );
    // Wrong number of labels in the config.
    let mut c = detector("yolo_detect.onnx", Family::Yolo);
    c.labels = vec!["apple".into()];
    err_of(
        OnnxDetector::new(&c),
        ErrorKind::ModelShape,
        &["3 labels", "1 labels"],
    );
    // Thresholds outside [0, 1].
    let mut c = detector("yolo_detect.onnx", Family::Yolo);
    c.conf_threshold = Some(1.5);
    err_of(
        OnnxDetector::new(&c),
        ErrorKind::Config,
        &["detector.conf_threshold", "1.5"],
    );
}

/// A well-formed PNG of `w` × `h` 8-bit RGB whose pixel data is a few bytes of a deflate
/// stream: small on disk, huge if decoded.
fn huge_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut f, b"IHDR", &ihdr);
    chunk(
        &mut f,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut f, b"IEND", &[]);
    f
}

#[test]
fn corrupt_and_missing_images() {
    let png = std::fs::read(fixture("astronaut.png")).unwrap();
    err_of(
        Image::decode(&png[..png.len() / 3], "truncated.png"),
        ErrorKind::Image,
        &["truncated.png"],
    );
    err_of(
        Image::decode(b"GIF89a\0\0garbage", "x.gif"),
        ErrorKind::Image,
        &["x.gif", "decod"],
    );
    err_of(
        Image::decode(b"", "empty.png"),
        ErrorKind::Image,
        &["empty.png", "empty"],
    );
    err_of(
        Image::from_file(&fixture("no-such-image.png")),
        ErrorKind::Io,
        &["no-such-image.png"],
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("depth.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n broken").unwrap();
    err_of(
        DepthImage::from_file(&bad),
        ErrorKind::Image,
        &["depth.png"],
    );
    // A JPEG cut in the middle is truncated, not a picture with a grey lower half.
    let jpg = std::fs::read(fixture("astronaut.jpg")).unwrap();
    err_of(
        Image::decode(&jpg[..jpg.len() / 2], "cut.jpg"),
        ErrorKind::Image,
        &["cut.jpg", "truncated JPEG"],
    );
    assert!(Image::decode(&jpg, "whole.jpg").is_ok());
    // A PNG with one flipped byte in its pixel data: one line naming the file (libpng prints
    // nothing of its own: the chunk CRC is checked first).
    let mut flipped = png.clone();
    let n = flipped.len();
    flipped[n / 2] ^= 0x10;
    err_of(
        Image::decode(&flipped, "flipped.png"),
        ErrorKind::Image,
        &["flipped.png", "damaged PNG", "wrong CRC"],
    );
    // A small file that declares a huge image is refused from its header, before decoding.
    let huge = huge_png(32768, 32768);
    let t0 = std::time::Instant::now();
    err_of(
        Image::decode(&huge, "huge.png"),
        ErrorKind::Image,
        &["huge.png", "32768 × 32768", "limit"],
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    let tight = clea_perception::ImageLimits { max_pixels: 1000 };
    err_of(
        Image::decode_with(&png, "astronaut.png", &tight),
        ErrorKind::Image,
        &["512 × 512", "limit of 1000 pixels"],
    );
    // A depth file of another size than the colour image is refused from its header.
    let big_depth = dir.path().join("big-depth.png");
    std::fs::write(&big_depth, huge_png(20000, 20000)).unwrap();
    err_of(
        DepthImage::from_file_with(
            &big_depth,
            &clea_perception::ImageLimits {
                max_pixels: u64::MAX,
            },
            Some((640, 480)),
        ),
        ErrorKind::Image,
        &["big-depth.png", "20000 × 20000", "640 × 480"],
    );
    // An 8-bit colour PNG is not a depth image.
    err_of(
        DepthImage::from_file(&fixture("astronaut.png")),
        ErrorKind::Image,
        &["astronaut.png", "16-bit"],
    );
}

fn msg(encoding: &str, w: u32, h: u32, bpp: u32) -> CameraImage {
    CameraImage {
        header: Header::default(),
        height: h,
        width: w,
        encoding: encoding.into(),
        is_bigendian: 0,
        step: w * bpp,
        data: vec![0; (w * h * bpp) as usize],
    }
}

#[test]
fn unknown_encodings_and_inconsistent_messages() {
    err_of(
        Image::from_ros(&msg("yuv422", 4, 4, 2), "clea/k/robot/r/camera/c/image"),
        ErrorKind::Encoding,
        &["clea/k/robot/r/camera/c/image", "\"yuv422\"", "rgb8"],
    );
    err_of(
        DepthImage::from_ros(&msg("rgb8", 4, 4, 3), "depth"),
        ErrorKind::Encoding,
        &["\"rgb8\""],
    );
    err_of(
        Image::from_ros(&msg("16UC1", 4, 4, 2), "img"),
        ErrorKind::Encoding,
        &["16UC1"],
    );
    let mut short = msg("rgb8", 4, 4, 3);
    short.data.truncate(20);
    err_of(
        Image::from_ros(&short, "img"),
        ErrorKind::Image,
        &["20 bytes"],
    );
    let mut narrow = msg("rgb8", 4, 4, 3);
    narrow.step = 5;
    err_of(
        Image::from_ros(&narrow, "img"),
        ErrorKind::Image,
        &["step 5"],
    );
}

#[test]
fn depth_and_image_of_different_sizes() {
    let det = OnnxDetector::new(&detector("yolo_detect.onnx", Family::Yolo)).unwrap();
    let mut p = Pipeline::new(Box::new(det));
    let image = Image::from_rgb8(640, 480, &vec![0; 640 * 480 * 3]).unwrap();
    let depth = DepthImage::from_metres(320, 240, vec![1.0; 320 * 240]).unwrap();
    let k = Intrinsics::new(500.0, 500.0, 320.0, 240.0).unwrap();
    let t = FrameTransform::identity("camera");
    let g = Geometry {
        depth: &depth,
        intrinsics: &k,
        transform: &t,
        range: DepthRange::default(),
    };
    err_of(
        p.process(&image, Some(g)),
        ErrorKind::SizeMismatch,
        &["depth image", "320x240", "640x480"],
    );
}
