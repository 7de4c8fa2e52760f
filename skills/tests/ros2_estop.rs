//! An e-stop on the bus cancels the active ROS 2 goal within a measured bound and publishes
//! std_msgs/Bool on the configured topic.
#![cfg(feature = "ros2")]

#[path = "ros2/common.rs"]
mod common;

use clea_bus::action::{GoalOptions, SkillClient};
use clea_bus::msg::{EStop, SkillCall, SkillOutcome};
use clea_bus::{Bus, BusConfig};
use clea_skills::ros2::Ros2Adapter;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_cancels_active_goals() {
    set_domain(73);
    let robot = PyNode::start("fake_robot.py", 73, &["--period", "0.05"]);
    assert!(robot.wait_event(Duration::from_secs(20), "ready").is_some());
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    let adapter = Ros2Adapter::start(&bus, robot_config(FAKE_ROBOT))
        .await
        .unwrap();
    let client = SkillClient::new(&bus);
    client
        .wait_for_server("robot_1", "count", Duration::from_secs(5))
        .await
        .unwrap();
    let opts = GoalOptions {
        accept_timeout: Duration::from_secs(15),
        result_timeout: Some(Duration::from_secs(60)),
    };
    let mut args = std::collections::BTreeMap::new();
    args.insert("robot".to_string(), json!("robot_1"));
    args.insert("order".to_string(), json!(1000));
    let call = SkillCall {
        skill: "count".into(),
        args,
    };
    let h = client.send_goal(&call, opts).await.unwrap();
    let (fb_tx, mut fb_rx) = tokio::sync::mpsc::unbounded_channel();
    let res = tokio::spawn(h.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    fb_rx.recv().await.expect("feedback before the e-stop");

    let t0 = Instant::now();
    let t0_epoch = now_epoch();
    bus.publish(
        &bus.keys.estop(),
        &EStop {
            engaged: true,
            reason: "test".into(),
        },
    )
    .await
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), res)
        .await
        .expect("result after e-stop")
        .unwrap();
    let to_result = t0.elapsed();
    assert_eq!(outcome, SkillOutcome::Canceled);
    let cancel = robot
        .wait_event(Duration::from_secs(3), "cancel")
        .expect("cancel reached the server");
    let to_server = cancel["t"].as_f64().unwrap() - t0_epoch;
    let estop = robot
        .wait_event(Duration::from_secs(3), "estop")
        .expect("std_msgs/Bool on /estop");
    assert_eq!(estop["data"], true);
    let stats = adapter.estop_stats().expect("e-stop stats");
    assert_eq!(stats.goals_canceled, 1);
    eprintln!(
        "e-stop latency: bus -> ROS 2 cancel request sent {:?}; bus -> server cancel callback {:.1} ms; bus -> skill result Canceled {:?}",
        stats.cancel_latency, to_server * 1e3, to_result
    );
    // Bounds (2 cores, debug build): requests sent within 50 ms, server sees them within 500 ms,
    // the bus result within 2 s.
    assert!(
        stats.cancel_latency < Duration::from_millis(50),
        "{stats:?}"
    );
    assert!(to_server < 0.5, "{to_server}");
    assert!(to_result < Duration::from_secs(2), "{to_result:?}");

    // While engaged, new goals are rejected.
    let err = client
        .send_goal(&call, opts)
        .await
        .err()
        .expect("rejected while engaged");
    assert!(err.to_string().contains("e-stop"), "{err}");
    adapter.shutdown().await;
}
