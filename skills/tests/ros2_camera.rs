//! Camera frames from a real rclpy node reach the bus with their size, encoding and frame.
#![cfg(feature = "ros2")]

#[path = "ros2/common.rs"]
mod common;

use clea_bus::msg::{CameraImage, CameraInfo};
use clea_bus::{Bus, BusConfig};
use clea_skills::ros2::Ros2Adapter;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_frames_reach_the_bus() {
    set_domain(71);
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let color = bus
        .subscribe::<CameraImage>(&bus.keys.camera_image("robot_1", "head"))
        .await
        .unwrap();
    let depth = bus
        .subscribe::<CameraImage>(&bus.keys.camera_depth("robot_1", "head"))
        .await
        .unwrap();
    let info = bus
        .subscribe::<CameraInfo>(&bus.keys.camera_info("robot_1", "head"))
        .await
        .unwrap();
    let adapter = Ros2Adapter::start(&bus, robot_config(FAKE_ROBOT))
        .await
        .unwrap();
    let cam = PyNode::start("camera.py", 71, &[]);
    assert!(
        cam.wait_line(Duration::from_secs(20), |l| l == "ready")
            .is_some(),
        "camera node did not start"
    );
    // Discovery takes 0-3 s: wait for the first frame, not a fixed time.
    let t = Duration::from_secs(20);
    let (_, img) = tokio::time::timeout(t, color.recv())
        .await
        .expect("no colour image on the bus")
        .unwrap();
    assert_eq!((img.width, img.height, img.step), (64, 48, 64 * 3));
    assert_eq!(img.encoding, "rgb8");
    assert_eq!(img.header.frame_id, "head_camera_color_optical_frame");
    assert_eq!(img.data.len(), 64 * 48 * 3);
    assert_eq!(&img.data[..6], &[0, 1, 2, 3, 4, 5]);
    assert!(img.header.stamp.sec > 0);
    let (_, d) = tokio::time::timeout(t, depth.recv())
        .await
        .expect("no depth image")
        .unwrap();
    assert_eq!(
        (d.width, d.height, d.step, d.encoding.as_str()),
        (64, 48, 128, "16UC1")
    );
    assert_eq!(u16::from_le_bytes([d.data[0], d.data[1]]), 1000);
    let (_, i) = tokio::time::timeout(t, info.recv())
        .await
        .expect("no camera info")
        .unwrap();
    assert_eq!((i.width, i.height), (64, 48));
    assert_eq!(i.k, [50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0]);
    assert_eq!(i.header.frame_id, "head_camera_color_optical_frame");
    assert_eq!(i.distortion_model, "plumb_bob");
    adapter.shutdown().await;
}
