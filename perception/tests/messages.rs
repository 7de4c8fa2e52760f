//! The perception messages and config on the wire and on disk: camera images carry their bytes
//! as base64 in JSON (what Foxglove expects), every type has a JSON Schema, the new keys live
//! under the namespace, and a perception config file is checked with file/field/reason errors.

use clea_bus::msg::{CameraImage, CameraInfo, Detections, Header, Time};
use clea_bus::Keys;
use clea_perception::actor::PerceptionConfig;
use clea_perception::ErrorKind;

#[test]
fn camera_images_round_trip_as_base64() {
    for len in 0..8usize {
        let data: Vec<u8> = (0..len as u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(200))
            .collect();
        let img = CameraImage {
            header: Header {
                stamp: Time::from_secs_f64(12.25),
                frame_id: "cam".into(),
            },
            height: 1,
            width: len as u32,
            encoding: "mono8".into(),
            is_bigendian: 0,
            step: len as u32,
            data,
        };
        let json = serde_json::to_value(&img).unwrap();
        let text = json["data"].as_str().expect("data is a base64 string");
        assert_eq!(text.len(), len.div_ceil(3) * 4);
        let back: CameraImage = serde_json::from_value(json).unwrap();
        assert_eq!(back, img);
    }
    // A known vector (RFC 4648): "foobar".
    let json = r#"{"header":{"stamp":{"sec":1,"nanosec":5},"frame_id":"c"},"height":1,"width":6,
        "encoding":"mono8","step":6,"data":"Zm9vYmFy"}"#;
    let img: CameraImage = serde_json::from_str(json).unwrap();
    assert_eq!(img.data, b"foobar");
    assert_eq!(img.header.stamp.as_secs_f64(), 1.000000005);
    assert!(serde_json::from_str::<CameraImage>(&json.replace("Zm9vYmFy", "Zm9v*mFy")).is_err());
}

#[test]
fn schemas_and_keys() {
    for schema in [
        schemars::schema_for!(CameraImage),
        schemars::schema_for!(CameraInfo),
        schemars::schema_for!(Detections),
    ] {
        assert!(serde_json::to_string(&schema).unwrap().len() > 100);
    }
    let k = Keys::new("lab").unwrap();
    assert_eq!(
        k.camera_image("r1", "head"),
        "clea/lab/robot/r1/camera/head/image"
    );
    assert_eq!(
        k.camera_depth("r1", "head"),
        "clea/lab/robot/r1/camera/head/depth"
    );
    assert_eq!(
        k.camera_info("r1", "head"),
        "clea/lab/robot/r1/camera/head/camera_info"
    );
    assert_eq!(
        k.detections("r1"),
        "clea/lab/robot/r1/perception/detections"
    );
    assert_eq!(k.any_detections(), "clea/lab/robot/*/perception/detections");
}

#[test]
fn perception_config_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("perception.yaml");
    std::fs::write(
        &good,
        r#"
detector:
  model: models/yolo11n-seg.onnx
  family: yolo-seg
  conf_threshold: 0.4
  runtime: {provider: cuda, intra_threads: 2}
cameras:
  - robot: robot_1
    camera: head
    depth: true
    intrinsics: {fx: 615.0, fy: 615.0, cx: 320.0, cy: 240.0}
    transform: {frame_id: world, translation: [0.1, 0.0, 1.2], rpy: [-1.5708, 0.0, -1.5708]}
    observer:
      labels: {apple: apple, "roasted apple": {object: apple, roasted: true}}
      regions:
        - {receptacle: table, min: [1.0, -0.5, 0.6], max: [1.8, 0.5, 1.0]}
"#,
    )
    .unwrap();
    let c = PerceptionConfig::from_file(&good).unwrap();
    assert_eq!(c.detector.model, dir.path().join("models/yolo11n-seg.onnx"));
    assert_eq!(c.cameras[0].observer.as_ref().unwrap().regions.len(), 1);

    let cases = [
        (
            "cameras: []\ndetector: {model: m.onnx, family: yolo}\n",
            "cameras",
        ),
        (
            "detector: {model: m.onnx, family: ssd}\ncameras: []\n",
            "unknown variant `ssd`",
        ),
        (
            "detector: {model: m.onnx, family: yolo, colour: red}\ncameras: []\n",
            "unknown field `colour`",
        ),
        (
            "detector: {model: m.onnx, family: yolo}\ncameras: [{robot: 'a/b', camera: c}]\n",
            "cameras[0].robot",
        ),
        (
            "detector: {model: m.onnx, family: yolo}\ncameras: [{robot: r, camera: c, \
             transform: {rpy: [0, 0, 0], quaternion: [0, 0, 0, 1]}}]\n",
            "cameras[0].transform",
        ),
        (
            "detector: {model: m.onnx, family: yolo}\ncameras: [{robot: r, camera: c, \
             observer: {regions: [{receptacle: t, min: [1, 1, 1], max: [0, 0, 0]}]}}]\n",
            "cameras[0].observer",
        ),
    ];
    for (text, needle) in cases {
        let f = dir.path().join("bad.yaml");
        std::fs::write(&f, text).unwrap();
        let e = PerceptionConfig::from_file(&f).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.kind(), ErrorKind::Config, "{msg}");
        assert!(
            msg.contains("bad.yaml") && msg.contains(needle),
            "{msg:?} lacks {needle:?}"
        );
    }
}
