//! Recording camera frames into the ROS 2 sensor log: the cost per 640x480 `rgb8` frame of
//! turning the bus payload (JSON with base64 pixels) into a CDR `sensor_msgs/msg/Image`, and
//! back (what `read_log` does for a replay). A camera at 30 Hz needs under 33 ms per frame;
//! the figure says how many cameras one recorder keeps up with. For comparison, the JSON round
//! trip every frame makes on the bus (publish, then a subscriber's decode).
//!
//! Run: `cargo bench -p clea-bus --bench sensor_log`.

use clea_bus::msg::{CameraImage, Header, Time};
use clea_bus::ros2msg::SensorType;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn benches(c: &mut Criterion) {
    let (w, h) = (640u32, 480u32);
    let image = CameraImage {
        header: Header {
            stamp: Time { sec: 1, nanosec: 0 },
            frame_id: "head_camera_color_optical_frame".into(),
        },
        height: h,
        width: w,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: w * 3,
        data: (0..w * h * 3).map(|i| (i % 251) as u8).collect(),
    };
    let json = serde_json::to_vec(&image).unwrap();
    let cdr = SensorType::Image.json_to_cdr(&json).unwrap();
    let mut g = c.benchmark_group("sensor_log");
    g.throughput(Throughput::Elements(1));
    g.bench_function("image_640x480_json_to_cdr", |b| {
        b.iter(|| {
            SensorType::Image
                .json_to_cdr(std::hint::black_box(&json))
                .unwrap()
        })
    });
    g.bench_function("image_640x480_cdr_to_json", |b| {
        b.iter(|| {
            SensorType::Image
                .cdr_to_json(std::hint::black_box(&cdr))
                .unwrap()
        })
    });
    // What every camera frame costs on the bus today (JSON with base64 pixels), for comparison.
    g.bench_function("image_640x480_bus_json_round_trip", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(std::hint::black_box(&image)).unwrap();
            serde_json::from_slice::<CameraImage>(&bytes).unwrap()
        })
    });
    g.finish();
}

criterion_group!(sensor_log, benches);
criterion_main!(sensor_log);
