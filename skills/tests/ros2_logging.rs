//! Compressed images and odometry from a real rclpy node reach the bus, and frames from ROS 2
//! recorded in an episode log are read back by `rosbags` from `<episode>.ros2.mcap`.
#![cfg(feature = "ros2")]

#[path = "ros2/common.rs"]
mod common;

use clea_bus::msg::CameraImage;
use clea_bus::{Bus, BusConfig};
use clea_skills::ros2::Ros2Adapter;
use common::*;
use std::time::Duration;

const COMPRESSED_ROBOT: &str = r#"
name: robot_1
cameras:
  head:
    image_topic: /camera/color/image_raw/compressed
    image_type: sensor_msgs/msg/CompressedImage
    info_topic: /camera/color/camera_info
  raw:
    image_topic: /camera/color/image_raw
    depth_topic: /camera/depth/image_raw
odometry_topic: /odom
"#;

/// The workspace's `.venv` Python (with `rosbags`), or `$CLEA_PYTHON`.
fn rosbags_python() -> std::path::PathBuf {
    std::env::var_os("CLEA_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
        })
}

/// CompressedImage and Odometry from a real rclpy node reach the bus; recorded in an episode
/// log, the frames from ROS 2 land in `<episode>.ros2.mcap` as `sensor_msgs/msg/Image` and
/// `sensor_msgs/msg/CompressedImage` CDR, which `rosbags` (Python) reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_images_and_odometry_reach_the_bus_and_the_ros2_log() {
    use clea_bus::msg::{CompressedImage, Odometry};
    use clea_bus::record::{sensor_log_path, Recorder, RecorderOptions};
    set_domain(75);
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episode.mcap");
    let rec = Recorder::start(&bus, &path, RecorderOptions::default())
        .await
        .unwrap();
    let compressed = bus
        .subscribe::<CompressedImage>(&bus.keys.camera_compressed("robot_1", "head"))
        .await
        .unwrap();
    let odom = bus
        .subscribe::<Odometry>(&bus.keys.odometry("robot_1"))
        .await
        .unwrap();
    let raw = bus
        .subscribe::<CameraImage>(&bus.keys.camera_image("robot_1", "raw"))
        .await
        .unwrap();
    let adapter = Ros2Adapter::start(&bus, robot_config(COMPRESSED_ROBOT))
        .await
        .unwrap();
    let cam = PyNode::start("camera.py", 75, &[]);
    assert!(
        cam.wait_line(Duration::from_secs(20), |l| l == "ready")
            .is_some(),
        "camera node did not start"
    );
    let t = Duration::from_secs(20);
    let (_, z) = tokio::time::timeout(t, compressed.recv())
        .await
        .expect("no compressed image on the bus")
        .unwrap();
    assert_eq!(z.format, "rgb8; png compressed rgb8");
    assert_eq!(&z.data[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(z.header.frame_id, "head_camera_color_optical_frame");
    let (_, o) = tokio::time::timeout(t, odom.recv())
        .await
        .expect("no odometry on the bus")
        .unwrap();
    assert_eq!(
        (o.header.frame_id.as_str(), o.child_frame_id.as_str()),
        ("odom", "base_link")
    );
    assert_eq!((o.pose.position.x, o.pose.position.y), (1.5, -0.25));
    assert!((o.pose.orientation.z - 0.316227766).abs() < 1e-9);
    assert_eq!(o.twist.linear, [0.3, 0.0, 0.0]);
    // A few raw frames too, then close the log.
    for _ in 0..3 {
        tokio::time::timeout(t, raw.recv())
            .await
            .expect("no raw image")
            .unwrap();
    }
    adapter.shutdown().await;
    drop(cam);
    let stats = rec.finish().await.unwrap();
    let sensor_log = sensor_log_path(&path);
    assert_eq!(stats.sensor_log.as_deref(), Some(sensor_log.as_path()));

    let out = std::process::Command::new(rosbags_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/scripts/read_ros2_log.py"
        ))
        .arg(&sensor_log)
        .output()
        .expect("run read_ros2_log.py with the .venv Python (scripts/setup.sh makes it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["error"].is_null(), "{r}");
    let msgs = r["messages"].as_array().unwrap();
    let of = |suffix: &str| -> Vec<&serde_json::Value> {
        msgs.iter()
            .filter(|m| m["topic"].as_str().unwrap().ends_with(suffix))
            .collect()
    };
    let images = of("/robot_1/camera/raw/image");
    assert!(images.len() >= 3, "{r}");
    for m in &images {
        assert_eq!(m["msgtype"], "sensor_msgs/msg/Image");
        assert_eq!(
            (m["width"].as_u64(), m["height"].as_u64()),
            (Some(64), Some(48))
        );
        assert_eq!(m["encoding"], "rgb8");
        assert_eq!(m["frame_id"], "head_camera_color_optical_frame");
        assert_eq!(m["data_len"], 64 * 48 * 3);
        assert_eq!(
            m["data_head"],
            serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        );
    }
    let depths = of("/robot_1/camera/raw/depth");
    assert!(!depths.is_empty(), "{r}");
    assert_eq!(depths[0]["encoding"], "16UC1");
    let z = of("/robot_1/camera/head/image_compressed");
    assert!(!z.is_empty(), "{r}");
    assert_eq!(z[0]["msgtype"], "sensor_msgs/msg/CompressedImage");
    assert_eq!(z[0]["format"], "rgb8; png compressed rgb8");
    let o = of("/robot_1/odom");
    assert!(!o.is_empty(), "{r}");
    assert_eq!(o[0]["msgtype"], "nav_msgs/msg/Odometry");
    assert_eq!(o[0]["linear"], serde_json::json!([0.3, 0.0, 0.0]));
}
