//! The documented topology, as separate processes: every process connects to one `clea router`
//! and nothing listens but the router. Camera frames published by one process reach perception
//! in another (`clea run` of a launch file with a `perception:` section), and its detections
//! reach a third; a simulator and an agent run an episode through the router. The topology the
//! issue found broken (two peers that only connect to a third peer that is not a router) drops
//! every frame, and perception now says so on stderr instead of staying silent.

#![cfg(feature = "perception")]

mod common;
#[path = "../../perception/tests/common/mod.rs"]
mod perception_fixtures;

use clea_bus::msg::{CameraImage, Detections, Header, Time};
use clea_bus::session::SessionMode;
use clea_bus::{Bus, BusConfig};
use common::{clea, free_port, Proc};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A perception-only launch file on `ns`, connecting to `endpoint`.
fn perception_file(
    dir: &std::path::Path,
    ns: &str,
    endpoint: &str,
    mode: &str,
) -> std::path::PathBuf {
    let model = perception_fixtures::fixture("yolo_detect.onnx");
    let path = dir.join(format!("perception-{ns}.yaml"));
    std::fs::write(
        &path,
        format!(
            r#"kind: launch
bus: {{ namespace: {ns}, connect: ["{endpoint}"], mode: {mode} }}
perception:
  detector: {{ model: {model} , family: yolo }}
  cameras:
    - {{ robot: robot_1, camera: head, no_frame_warn_s: 2 }}
"#,
            model = model.display()
        ),
    )
    .unwrap();
    path
}

fn frame(i: u32) -> CameraImage {
    let (w, h) = (64, 48);
    CameraImage {
        header: Header {
            stamp: Time::from_secs_f64(f64::from(i) * 0.1),
            frame_id: "head_optical".into(),
        },
        height: h,
        width: w,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: w * 3,
        data: vec![90; (w * h * 3) as usize],
    }
}

async fn camera_bus(ns: &str, endpoint: &str, mode: SessionMode) -> Bus {
    Bus::open(&BusConfig {
        namespace: ns.into(),
        connect: vec![endpoint.into()],
        mode,
        ..BusConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_reach_perception_through_a_router_and_a_peer_that_drops_them_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (_router, endpoint) = common::router(WAIT);
    let ns = format!("topo{}", std::process::id());
    let file = perception_file(dir.path(), &ns, &endpoint, "client");
    let mut perception = Proc::spawn(clea(&["run", file.to_str().unwrap()]), true);
    let line = perception.wait_line(WAIT, |l| l.starts_with("clea: "));
    assert!(
        line.as_deref()
            .is_some_and(|l| l.contains("running actors []") && l.contains("perception yolo")),
        "{line:?}"
    );
    // The camera and the consumer of detections: this process, which also only connects.
    let bus = camera_bus(&ns, &endpoint, SessionMode::Client).await;
    let detections = bus
        .subscribe::<Detections>(&bus.keys.detections("robot_1"))
        .await
        .unwrap();
    let key = bus.keys.camera_image("robot_1", "head");
    let got = tokio::time::timeout(WAIT, async {
        for i in 0.. {
            bus.publish(&key, &frame(i)).await.unwrap();
            let next = tokio::time::timeout(Duration::from_millis(200), detections.recv());
            if let Ok(Some((_, d))) = next.await {
                return d;
            }
        }
        unreachable!()
    })
    .await
    .expect("detections of the published frames came back through the router");
    assert!(!got.detections.is_empty(), "{got:?}");
    drop(perception);

    // The broken topology: a peer listens (a simulator, not a router); perception and the camera
    // both only connect to it. Frames are published all along, and none arrives: perception warns.
    let peer_endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut peer = Proc::spawn(
        clea(&[
            "sim",
            "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
            "--serve",
            "--namespace",
            &ns,
            "--listen",
            &peer_endpoint,
        ]),
        true,
    );
    assert!(peer
        .wait_line(WAIT, |l| l.contains("serving scenario"))
        .is_some());
    let file = perception_file(dir.path(), &format!("{ns}b"), &peer_endpoint, "peer");
    let mut perception = Proc::spawn(clea(&["run", file.to_str().unwrap()]), true);
    assert!(perception
        .wait_line(WAIT, |l| l.contains("perception yolo"))
        .is_some());
    let cam = camera_bus(&format!("{ns}b"), &peer_endpoint, SessionMode::Peer).await;
    let key = cam.keys.camera_image("robot_1", "head");
    let publishing = tokio::spawn(async move {
        for i in 0.. {
            cam.publish(&key, &frame(i)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let warning = perception.wait_line(WAIT, |l| l.contains("no frame on"));
    publishing.abort();
    let warning = warning.expect("perception warned that no frame arrives");
    assert!(
        warning.contains("camera robot_1/head") && warning.contains("clea router"),
        "{warning}"
    );
}

#[test]
fn an_episode_runs_with_robots_and_agent_joined_by_a_router() {
    let dir = tempfile::tempdir().unwrap();
    let (_router, endpoint) = common::router(WAIT);
    let ns = format!("toposim{}", std::process::id());
    let mut sim = Proc::spawn(
        clea(&[
            "sim",
            "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
            "--serve",
            "--namespace",
            &ns,
            "--connect",
            &endpoint,
            "--mode",
            "client",
        ]),
        true,
    );
    assert!(sim
        .wait_line(WAIT, |l| l.contains("serving scenario"))
        .is_some());
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        format!(
            "kind: launch\nbus: {{ namespace: {ns}, connect: [\"{endpoint}\"], mode: client }}\n\
             actors: [observer, memory, planner, critic, executor]\ncontroller: {{ episodes: 1 }}\n\
             agent: {{ wait_for_robots_s: 30 }}\n"
        ),
    )
    .unwrap();
    let report = common::json_of(
        &clea(&["run", agent.to_str().unwrap(), "--json"])
            .output()
            .unwrap(),
    );
    let ep = &report["episodes"][0];
    assert_eq!(ep["scenario"], "task-01-find-tea-hamburger", "{report}");
    assert_eq!(ep["success"], true, "{report}");
}
