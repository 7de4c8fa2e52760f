//! Camera frames published on the bus come out of the perception actor as detections and,
//! through the detector-based observer, as the robot observation the agent's observer consumes.
//! One real in-process zenoh session; every wait is bounded.

mod common;

use clea_bus::msg::{
    ActionRecord, CameraImage, CameraInfo, Detections, Header, RobotObservation, SkillCall,
    SkillOutcome, Time,
};
use clea_bus::{Bus, BusConfig, Subscription};
use clea_perception::actor::{CameraConfig, PerceptionActor, PerceptionConfig};
use clea_perception::geometry::TransformConfig;
use clea_perception::observer::ObserverConfig;
use clea_perception::{Family, Mask};
use common::detector;
use std::f64::consts::FRAC_PI_2;
use std::sync::atomic::Ordering;
use std::time::Duration;

const W: u32 = 640;
const H: u32 = 480;
const WAIT: Duration = Duration::from_secs(20);

fn header(t: f64) -> Header {
    Header {
        stamp: Time::from_secs_f64(t),
        frame_id: "head_optical".into(),
    }
}

fn image(t: f64) -> CameraImage {
    CameraImage {
        header: header(t),
        height: H,
        width: W,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: W * 3,
        data: vec![120; (W * H * 3) as usize],
    }
}

/// 16UC1 depth: 3 m background, 1.25 m under the apple/cup box, 2 m under the person box.
fn depth(t: f64) -> CameraImage {
    let mut data = Vec::with_capacity((W * H * 2) as usize);
    for y in 0..H {
        for x in 0..W {
            let mm: u16 = if (152..248).contains(&x) && (184..256).contains(&y) {
                1250
            } else if (272..368).contains(&x) && (288..352).contains(&y) {
                2000
            } else {
                3000
            };
            data.extend_from_slice(&mm.to_le_bytes());
        }
    }
    CameraImage {
        header: header(t),
        height: H,
        width: W,
        encoding: "16UC1".into(),
        is_bigendian: 0,
        step: W * 2,
        data,
    }
}

fn camera_info() -> CameraInfo {
    CameraInfo {
        header: header(0.0),
        height: H,
        width: W,
        distortion_model: "plumb_bob".into(),
        d: vec![0.0; 5],
        k: [525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0],
    }
}

fn config() -> PerceptionConfig {
    let observer: ObserverConfig = serde_yaml::from_str(
        r#"
labels: {apple: apple, cup: cup}
regions:
  - {receptacle: table, min: [1.0, 0.0, 1.0], max: [1.6, 0.6, 1.5]}
  - {receptacle: counter, min: [2.0, -0.5, 0.5], max: [2.5, 0.5, 1.2]}
  - {receptacle: oven, min: [1.0, 0.0, 1.0], max: [1.6, 0.6, 1.5], place: in_front_of_oven, open: false, contents_visible: false}
"#,
    )
    .unwrap();
    let mut cam = CameraConfig::new("robot_1", "head");
    cam.depth = true;
    cam.transform = TransformConfig {
        frame_id: "world".into(),
        translation: [0.1, 0.0, 1.2],
        rpy: Some([-FRAC_PI_2, 0.0, -FRAC_PI_2]),
        quaternion: None,
    };
    cam.observer = Some(observer);
    PerceptionConfig {
        detector: detector("yolo_seg.onnx", Family::YoloSeg),
        cameras: vec![cam],
    }
}

async fn next<T: serde::de::DeserializeOwned>(s: &Subscription<T>) -> T {
    tokio::time::timeout(WAIT, s.recv())
        .await
        .expect("a message in time")
        .expect("session open")
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_frames_become_detections_and_observations() {
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let k = bus.keys.clone();
    let actor = PerceptionActor::spawn(&bus, &config()).await.unwrap();
    let dets: Subscription<Detections> = bus.subscribe(&k.detections("robot_1")).await.unwrap();
    let obs: Subscription<RobotObservation> = bus
        .subscribe(&k.robot_observation("robot_1"))
        .await
        .unwrap();

    bus.publish(&k.camera_info("robot_1", "head"), &camera_info())
        .await
        .unwrap();
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(10.0))
        .await
        .unwrap();
    bus.publish(&k.camera_image("robot_1", "head"), &image(10.0))
        .await
        .unwrap();

    let d = next(&dets).await;
    assert_eq!((d.robot.as_str(), d.camera.as_str()), ("robot_1", "head"));
    assert_eq!(d.header, header(10.0));
    assert_eq!((d.image_width, d.image_height), (W, H));
    assert_eq!(d.target_frame_id, "world");
    let labels: Vec<&str> = d.detections.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, vec!["apple", "cup", "person"]);
    let apple = &d.detections[0];
    assert_eq!(
        (
            apple.bbox.x_min,
            apple.bbox.y_min,
            apple.bbox.x_max,
            apple.bbox.y_max
        ),
        (152.0, 184.0, 248.0, 256.0)
    );
    let cup_mask = Mask::from_rle(d.detections[1].mask.as_ref().unwrap()).unwrap();
    assert_eq!(cup_mask.area(), 96 * 36, "cup mask: top half of its box");
    // Apple at pixel (200, 220), 1.25 m: world (0.1 + z, -x, 1.2 - y).
    let p = apple.position.unwrap();
    let (xc, yc) = (
        (200.0 - 319.5) * 1.25 / 525.0,
        (220.0 - 239.5) * 1.25 / 525.0,
    );
    assert!(
        (p.x - 1.35).abs() < 0.01 && (p.y + xc).abs() < 0.01 && (p.z - (1.2 - yc)).abs() < 0.01,
        "{p:?}"
    );

    let o = next(&obs).await;
    assert_eq!(
        (o.robot.as_str(), o.step, o.place.as_deref()),
        ("robot_1", 0, None)
    );
    assert!(o.holding.is_empty());
    let view: Vec<(&str, Vec<&str>)> = o
        .in_view
        .iter()
        .map(|v| {
            (
                v.receptacle.as_str(),
                v.objects.iter().map(|o| o.object.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![("counter", vec![]), ("table", vec!["apple", "cup"])]
    );
    // The observation is the agent's type, and round-trips through JSON as the memory reads it.
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<RobotObservation>(&json).unwrap(), o);

    // A bad frame is logged and counted; the actor keeps going.
    let mut bad = image(10.5);
    bad.encoding = "yuv422".into();
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(10.5))
        .await
        .unwrap();
    bus.publish(&k.camera_image("robot_1", "head"), &bad)
        .await
        .unwrap();

    // The robot drives to the oven: the next observation has the new step and place, and the
    // oven (closed: contents not visible) comes into view.
    let mut args = std::collections::BTreeMap::new();
    args.insert("robot".to_string(), serde_json::json!("robot_1"));
    args.insert(
        "navigation_point".to_string(),
        serde_json::json!("in_front_of_oven"),
    );
    bus.publish(
        &k.action(),
        &ActionRecord {
            step: 2,
            call: SkillCall {
                skill: "go_to".into(),
                args,
            },
            outcome: SkillOutcome::Succeeded,
            accepted: true,
        },
    )
    .await
    .unwrap();
    // Give the actor time to take the action in before the next frame.
    tokio::time::sleep(Duration::from_millis(200)).await;
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(11.0))
        .await
        .unwrap();
    bus.publish(&k.camera_image("robot_1", "head"), &image(11.0))
        .await
        .unwrap();
    let d = next(&dets).await;
    assert_eq!(d.header.stamp, Time::from_secs_f64(11.0));
    let o = next(&obs).await;
    assert_eq!((o.step, o.place.as_deref()), (2, Some("in_front_of_oven")));
    let oven = o
        .in_view
        .iter()
        .find(|v| v.receptacle == "oven")
        .expect("oven in view");
    assert_eq!(
        (oven.open, oven.contents_visible, oven.objects.len()),
        (Some(false), false, 0)
    );
    assert_eq!(actor.stats().errors.load(Ordering::Relaxed), 1);
    assert_eq!(actor.stats().frames.load(Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_wait_for_the_depth_of_their_stamp() {
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let k = bus.keys.clone();
    let mut c = config();
    c.cameras[0].observer = None;
    c.cameras[0].intrinsics =
        Some(clea_perception::Intrinsics::new(525.0, 525.0, 319.5, 239.5).unwrap());
    let _actor = PerceptionActor::spawn(&bus, &c).await.unwrap();
    let dets: Subscription<Detections> = bus.subscribe(&k.detections("robot_1")).await.unwrap();
    // Image first: nothing until its depth arrives; a depth of another stamp does not pair.
    bus.publish(&k.camera_image("robot_1", "head"), &image(20.0))
        .await
        .unwrap();
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(19.0))
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), dets.recv())
            .await
            .is_err()
    );
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(20.005))
        .await
        .unwrap();
    let d = next(&dets).await;
    assert_eq!(d.header.stamp, Time::from_secs_f64(20.0));
    // Without camera_info the configured intrinsics give the 3D positions.
    assert!(d.detections[0].position.is_some());
}

/// A PNG file of a `W` x `H` grey frame, as a camera's `compressed` transport sends it.
fn png() -> Vec<u8> {
    use opencv::core::{Mat, Scalar, Vector, CV_8UC3};
    use opencv::prelude::*;
    let mat =
        Mat::new_rows_cols_with_default(H as i32, W as i32, CV_8UC3, Scalar::all(120.0)).unwrap();
    let mut buf = Vector::<u8>::new();
    opencv::imgcodecs::imencode(".png", &mat, &mut buf, &Vector::new()).unwrap();
    assert!(!mat.empty());
    buf.to_vec()
}

/// Compressed frames (`sensor_msgs/CompressedImage` from ROS 2) are decoded and detected like
/// raw ones; one that does not decode is counted as an error and the actor goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_frames_become_detections() {
    use clea_bus::msg::CompressedImage;
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let k = bus.keys.clone();
    let actor = PerceptionActor::spawn(&bus, &config()).await.unwrap();
    let dets: Subscription<Detections> = bus.subscribe(&k.detections("robot_1")).await.unwrap();
    bus.publish(&k.camera_info("robot_1", "head"), &camera_info())
        .await
        .unwrap();
    let frame = |t: f64, data: Vec<u8>| CompressedImage {
        header: header(t),
        format: "rgb8; png compressed rgb8".into(),
        data,
    };
    // A corrupt file first: counted, not fatal.
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(30.0))
        .await
        .unwrap();
    bus.publish(
        &k.camera_compressed("robot_1", "head"),
        &frame(30.0, b"\x89PNG not really".to_vec()),
    )
    .await
    .unwrap();
    // Wait until it was tried (else the good frame could supersede it in the queue).
    let end = std::time::Instant::now() + WAIT;
    while actor.stats().errors.load(Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < end,
            "the corrupt frame was never tried"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bus.publish(&k.camera_depth("robot_1", "head"), &depth(31.0))
        .await
        .unwrap();
    bus.publish(&k.camera_compressed("robot_1", "head"), &frame(31.0, png()))
        .await
        .unwrap();
    let d = next(&dets).await;
    assert_eq!(d.header, header(31.0));
    assert_eq!((d.image_width, d.image_height), (W, H));
    let labels: Vec<&str> = d.detections.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, vec!["apple", "cup", "person"]);
    assert!(d.detections[0].position.is_some(), "depth paired by stamp");
    assert_eq!(actor.stats().errors.load(Ordering::Relaxed), 1);
    assert_eq!(actor.stats().frames.load(Ordering::Relaxed), 1);
}

/// Wait until `f` holds, polling every 10 ms; false after `within`.
async fn eventually(within: Duration, f: impl Fn() -> bool) -> bool {
    let end = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}

/// A camera whose frames never come is reported silent after its `no_frame_warn_s`, and no
/// longer once a frame arrives; one with frames is never silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_without_frames_is_reported_silent_until_one_arrives() {
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let mut c = config();
    c.cameras[0].depth = false;
    c.cameras[0].observer = None;
    c.cameras[0].no_frame_warn_s = 0.3;
    let dets: Subscription<Detections> = bus
        .subscribe(&bus.keys.detections("robot_1"))
        .await
        .unwrap();
    let actor = PerceptionActor::spawn(&bus, &c).await.unwrap();
    let silent = || actor.stats().silent_cameras.load(Ordering::Relaxed);
    assert!(
        eventually(WAIT, || silent() == 1).await,
        "no frame for 0.3 s: the camera is silent"
    );
    bus.publish(&bus.keys.camera_image("robot_1", "head"), &image(1.0))
        .await
        .unwrap();
    next(&dets).await;
    assert_eq!(silent(), 0, "a frame ends the silence");
    // Off: never reported.
    c.cameras[0].no_frame_warn_s = 0.0;
    c.cameras[0].robot = "robot_2".into();
    let quiet = PerceptionActor::spawn(&bus, &c).await.unwrap();
    assert!(
        !eventually(Duration::from_millis(600), || quiet
            .stats()
            .silent_cameras
            .load(Ordering::Relaxed)
            > 0)
        .await
    );
}
