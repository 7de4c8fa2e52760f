//! Sensor messages in episode logs: camera images, compressed images, camera calibration and
//! odometry published on a real (in-process) zenoh bus are recorded into `<episode>.ros2.mcap` as
//! ROS 2 CDR messages with `ros2msg` schemas, which the Python `rosbags` library (no ROS
//! install; it checks the `ros2` profile and builds its types from the stored schemas) reads
//! back field for field. The JSON episode log next to it keeps everything else, and
//! `read_log` merges both into the original bus payloads, so a replay republishes the frames.

use clea_bus::msg::{
    CameraImage, CameraInfo, CompressedImage, EStop, Header, Odometry, Point3, Pose, Quaternion,
    Time, Twist,
};
use clea_bus::record::{
    read_log, rename_log, replay, sensor_log_path, Recorder, RecorderOptions, ReplayOptions,
};
use clea_bus::{Bus, BusConfig};
use clea_tests::e2e::{read_mcap, read_ros2_log};
use clea_tests::{unique_namespace, within};
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

fn header(sec: i32, frame: &str) -> Header {
    Header {
        stamp: Time {
            sec,
            nanosec: 500_000_000,
        },
        frame_id: frame.into(),
    }
}

fn rgb(width: u32, height: u32, seed: u8) -> CameraImage {
    let data: Vec<u8> = (0..width * height * 3)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect();
    CameraImage {
        header: header(100 + i32::from(seed), "head_camera_color_optical_frame"),
        height,
        width,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: width * 3,
        data,
    }
}

fn depth(width: u32, height: u32) -> CameraImage {
    let data: Vec<u8> = (0..width * height)
        .flat_map(|i| (1000 + i as u16).to_le_bytes())
        .collect();
    CameraImage {
        header: header(100, "head_camera_color_optical_frame"),
        height,
        width,
        encoding: "16UC1".into(),
        is_bigendian: 0,
        step: width * 2,
        data,
    }
}

fn odometry() -> Odometry {
    Odometry {
        header: header(101, "odom"),
        child_frame_id: "base_link".into(),
        pose: Pose {
            position: Point3 {
                x: 1.5,
                y: -0.25,
                z: 0.0,
            },
            orientation: Quaternion {
                x: 0.0,
                y: 0.0,
                z: 0.6,
                w: 0.8,
            },
        },
        pose_covariance: Vec::new(),
        twist: Twist {
            linear: [0.3, 0.0, 0.0],
            angular: [0.0, 0.0, -0.1],
        },
        twist_covariance: Vec::new(),
    }
}

fn sum(b: &[u8]) -> u64 {
    b.iter().map(|&x| u64::from(x)).sum()
}

fn head(b: &[u8]) -> Value {
    b.iter().take(16).copied().collect::<Vec<u8>>().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_messages_are_logged_as_ros2_and_read_back_by_rosbags() {
    clea_tests::python();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episode.mcap");
    let config = BusConfig {
        namespace: unique_namespace("sensorlog").replace('_', "-"),
        ..BusConfig::default()
    };
    let bus = within("open bus", STEP, Bus::open(&config)).await.unwrap();
    let ns = bus.keys.namespace().to_string();
    let rec = within(
        "start recorder",
        STEP,
        Recorder::start(&bus, &path, RecorderOptions::default()),
    )
    .await
    .unwrap();
    let k = &bus.keys;
    let (image_key, depth_key) = (
        k.camera_image("robot_1", "head"),
        k.camera_depth("robot_1", "head"),
    );
    let compressed_key = k.camera_compressed("robot_1", "head");
    let info_key = k.camera_info("robot_1", "head");
    let odom_key = k.odometry("robot_1");
    let images = [rgb(64, 48, 1), rgb(64, 48, 2)];
    let jpeg = CompressedImage {
        header: header(102, "head_camera_color_optical_frame"),
        format: "jpeg".into(),
        data: vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9],
    };
    let info = CameraInfo {
        header: header(100, "head_camera_color_optical_frame"),
        height: 48,
        width: 64,
        distortion_model: "plumb_bob".into(),
        d: vec![0.0; 5],
        k: [50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0],
    };
    bus.publish(&info_key, &info).await.unwrap();
    for img in &images {
        bus.publish(&image_key, img).await.unwrap();
    }
    bus.publish(&depth_key, &depth(64, 48)).await.unwrap();
    bus.publish(&compressed_key, &jpeg).await.unwrap();
    bus.publish(&odom_key, &odometry()).await.unwrap();
    bus.publish(
        &k.estop(),
        &EStop {
            engaged: false,
            reason: String::new(),
        },
    )
    .await
    .unwrap();
    let stats = within("finish", STEP, rec.finish()).await.unwrap();
    assert_eq!(stats.messages, 7, "{stats:?}");
    let sensor_path = sensor_log_path(&path);
    assert_eq!(stats.sensor_log.as_deref(), Some(sensor_path.as_path()));

    // rosbags reads the frames back from the stored schemas.
    let r = read_ros2_log(&sensor_path);
    assert!(r["error"].is_null(), "{r}");
    let topic = |key: &str| format!("/{}", key.replace('-', "_"));
    let conns: Vec<(String, String)> = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["topic"].as_str().unwrap().into(),
                c["msgtype"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (key, ty) in [
        (&image_key, "sensor_msgs/msg/Image"),
        (&depth_key, "sensor_msgs/msg/Image"),
        (&compressed_key, "sensor_msgs/msg/CompressedImage"),
        (&info_key, "sensor_msgs/msg/CameraInfo"),
        (&odom_key, "nav_msgs/msg/Odometry"),
    ] {
        assert!(
            conns.contains(&(topic(key), ty.to_string())),
            "{key} {ty}: {r}"
        );
    }
    let msgs = r["messages"].as_array().unwrap();
    let on = |key: &str| -> Vec<&Value> {
        msgs.iter()
            .filter(|m| m["topic"] == topic(key).as_str())
            .collect()
    };
    let colour = on(&image_key);
    assert_eq!(colour.len(), 2, "{r}");
    for (m, img) in colour.iter().zip(&images) {
        assert_eq!(m["width"], 64);
        assert_eq!(m["height"], 48);
        assert_eq!(m["encoding"], "rgb8");
        assert_eq!(m["step"], 192);
        assert_eq!(m["frame_id"], "head_camera_color_optical_frame");
        assert_eq!(
            m["stamp"],
            serde_json::json!([img.header.stamp.sec, 500_000_000])
        );
        assert_eq!(m["data_len"], img.data.len());
        assert_eq!(m["data_sum"], sum(&img.data));
        assert_eq!(m["data_head"], head(&img.data));
    }
    let d = on(&depth_key);
    assert_eq!(d[0]["encoding"], "16UC1");
    assert_eq!(d[0]["data_len"], 64 * 48 * 2);
    assert_eq!(d[0]["data_head"], head(&depth(64, 48).data));
    let c = on(&compressed_key);
    assert_eq!(c[0]["format"], "jpeg");
    assert_eq!(c[0]["data_head"], head(&jpeg.data));
    let i = on(&info_key);
    assert_eq!(i[0]["k"], serde_json::json!(info.k));
    let o = on(&odom_key);
    assert_eq!(o[0]["child_frame_id"], "base_link");
    assert_eq!(o[0]["position"], serde_json::json!([1.5, -0.25, 0.0]));
    assert_eq!(o[0]["orientation"], serde_json::json!([0.0, 0.0, 0.6, 0.8]));
    assert_eq!(o[0]["angular"], serde_json::json!([0.0, 0.0, -0.1]));

    // The JSON episode log keeps the rest, and points at the sensor log.
    let main = read_mcap(&path, false);
    assert!(main["error"].is_null(), "{main}");
    let main_topics: Vec<&str> = main["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["topic"].as_str().unwrap())
        .collect();
    assert_eq!(main_topics, [k.estop().as_str()], "{main}");
    assert!(
        main["metadata"].to_string().contains("episode.ros2.mcap"),
        "{main}"
    );

    // Both files read back as one stream of the original payloads.
    let log = read_log(&path).unwrap();
    assert!(!log.truncated);
    assert_eq!(log.messages.len(), 7);
    let logged: Vec<CameraImage> = log
        .messages
        .iter()
        .filter(|m| m.topic == image_key)
        .map(|m| serde_json::from_slice(&m.data).unwrap())
        .collect();
    assert_eq!(logged, images);
    let odom: Odometry = serde_json::from_slice(
        &log.messages
            .iter()
            .find(|m| m.topic == odom_key)
            .unwrap()
            .data,
    )
    .unwrap();
    assert_eq!(odom, odometry());

    // A replay republishes the frames on the bus, bytes intact.
    let sub = bus.subscribe::<CameraImage>(&image_key).await.unwrap();
    let opts = ReplayOptions {
        rate: None,
        topics: Some(image_key.clone()),
        namespace: None,
    };
    let played = within("replay", STEP, replay(&bus, &log, &opts, |_| {}))
        .await
        .unwrap();
    assert_eq!(played.messages, 2);
    for img in &images {
        let (_, got) = within("replayed frame", STEP, sub.recv()).await.unwrap();
        assert_eq!(&got, img);
    }
    assert_eq!(ns, bus.keys.namespace());
}

/// A key that names a sensor but carries something else is kept, as JSON, in the episode log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_sensor_payload_stays_in_the_json_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.mcap");
    let config = BusConfig {
        namespace: unique_namespace("sensorbad").replace('_', "-"),
        ..BusConfig::default()
    };
    let bus = within("open bus", STEP, Bus::open(&config)).await.unwrap();
    let rec = Recorder::start(&bus, &path, RecorderOptions::default())
        .await
        .unwrap();
    let key = bus.keys.odometry("robot_1");
    bus.publish(&key, &serde_json::json!({"not": "odometry"}))
        .await
        .unwrap();
    let stats = within("finish", STEP, rec.finish()).await.unwrap();
    assert_eq!(stats.messages, 1);
    assert_eq!(stats.sensor_log, None);
    assert!(!sensor_log_path(&path).exists());
    let log = read_log(&path).unwrap();
    assert_eq!(log.messages[0].topic, key);
    assert_eq!(log.messages[0].data, br#"{"not":"odometry"}"#);
}

/// Renaming a log takes its sensor log along, and the renamed pair reads back as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_log_keeps_its_frames() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("episode-0.part.mcap");
    let config = BusConfig {
        namespace: unique_namespace("sensormv").replace('_', "-"),
        ..BusConfig::default()
    };
    let bus = within("open bus", STEP, Bus::open(&config)).await.unwrap();
    let rec = Recorder::start(&bus, &part, RecorderOptions::default())
        .await
        .unwrap();
    let key = bus.keys.camera_image("robot_1", "head");
    bus.publish(&key, &rgb(8, 6, 3)).await.unwrap();
    within("finish", STEP, rec.finish()).await.unwrap();
    let done = dir.path().join("task-08-seed0.mcap");
    rename_log(&part, &done).unwrap();
    assert!(!sensor_log_path(&part).exists());
    let log = read_log(&done).unwrap();
    assert_eq!(log.messages.len(), 1);
    assert_eq!(log.messages[0].topic, key);
    let img: CameraImage = serde_json::from_slice(&log.messages[0].data).unwrap();
    assert_eq!(img, rgb(8, 6, 3));
}

/// A sensor log that cannot be written does not cost the episode: sensor messages go to the
/// episode log as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_log_that_cannot_be_written_falls_back_to_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episode.mcap");
    // A folder where the sensor log would go.
    std::fs::create_dir(sensor_log_path(&path)).unwrap();
    let config = BusConfig {
        namespace: unique_namespace("sensorfail").replace('_', "-"),
        ..BusConfig::default()
    };
    let bus = within("open bus", STEP, Bus::open(&config)).await.unwrap();
    let rec = Recorder::start(&bus, &path, RecorderOptions::default())
        .await
        .unwrap();
    let key = bus.keys.camera_image("robot_1", "head");
    bus.publish(&key, &rgb(4, 2, 1)).await.unwrap();
    bus.publish(
        &bus.keys.estop(),
        &EStop {
            engaged: false,
            reason: String::new(),
        },
    )
    .await
    .unwrap();
    let stats = within("finish", STEP, rec.finish()).await.unwrap();
    assert_eq!((stats.messages, stats.sensor_log), (2, None));
    let log = read_log(&path).unwrap();
    let img: CameraImage =
        serde_json::from_slice(&log.messages.iter().find(|m| m.topic == key).unwrap().data)
            .unwrap();
    assert_eq!(img, rgb(4, 2, 1));
}
