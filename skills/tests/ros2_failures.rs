//! A missing or vanished ROS 2 server is a clean failure, not a hang; configuration errors are clear.
#![cfg(feature = "ros2")]

#[path = "ros2/common.rs"]
mod common;

use clea_bus::action::{ActionError, GoalOptions, SkillClient};
use clea_bus::msg::{SkillCall, SkillOutcome};
use clea_bus::{Bus, BusConfig};
use clea_skills::ros2::{AdapterError, ConfigError, Ros2Adapter};
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn call(order: i64) -> SkillCall {
    let mut args = std::collections::BTreeMap::new();
    args.insert("robot".to_string(), json!("robot_1"));
    args.insert("order".to_string(), json!(order));
    SkillCall {
        skill: "count".into(),
        args,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_vanished_servers_fail_cleanly() {
    set_domain(74);
    let bus = Bus::open(&BusConfig::default()).await.unwrap();
    // Unknown interface type: a configuration error naming it.
    let bad = FAKE_ROBOT.replace(
        "test_msgs/action/Fibonacci",
        "test_msgs/action/NoSuchAction",
    );
    match Ros2Adapter::start(&bus, robot_config(&bad)).await {
        Err(AdapterError::Config(ConfigError::UnknownMessageType { ty, .. })) => {
            assert_eq!(ty, "test_msgs/action/NoSuchAction")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("unknown type accepted"),
    }

    // No server: rejected after server_wait_s with the reason.
    let cfg = FAKE_ROBOT.replace("server_wait_s: 10", "server_wait_s: 1");
    let adapter = Ros2Adapter::start(&bus, robot_config(&cfg)).await.unwrap();
    let client = SkillClient::new(&bus);
    let opts = GoalOptions {
        accept_timeout: Duration::from_secs(5),
        result_timeout: Some(Duration::from_secs(30)),
    };
    let t = Instant::now();
    match client.send_goal(&call(3), opts).await {
        Err(ActionError::Rejected(why)) => assert!(why.contains("not available"), "{why}"),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("accepted without a server"),
    }
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    adapter.shutdown().await;

    // A server that vanishes mid-goal: the goal fails within a few seconds. A node that shuts
    // down leaves the DDS graph at once; a crashed one only when its DDS lease expires (Fast
    // DDS: 20 s by default), which a mapping's `timeout_s` bounds instead.
    let t = vanish_mid_goal(&bus, &client, opts, &[], PyNode::interrupt, 10).await;
    eprintln!("vanished server detected after {t:?}");

    // A server killed with SIGKILL leaves only when its DDS lease runs out: with a 3 s lease
    // (launch/files/fastdds-short-lease.xml, as the README suggests for robots) the goal fails
    // within a few seconds, not the default 20 s.
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../launch/files/fastdds-short-lease.xml"
    );
    let env = [("FASTDDS_DEFAULT_PROFILES_FILE", profile)];
    let after = vanish_mid_goal(&bus, &client, opts, &env, PyNode::kill, 15).await;
    eprintln!("killed server (3 s lease) detected after {after:?}");
    assert!(after < Duration::from_secs(10), "{after:?}");
}

/// Start the fake robot (with `env`), send a long goal through a fresh adapter, `stop` the robot
/// after the first feedback, and return how long the adapter took to fail the goal as vanished
/// (at most `limit_s`, else the test fails: a hang).
async fn vanish_mid_goal(
    bus: &Bus,
    client: &SkillClient,
    opts: GoalOptions,
    env: &[(&str, &str)],
    stop: fn(&mut PyNode),
    limit_s: u64,
) -> Duration {
    let mut robot = PyNode::start_with_env("fake_robot.py", 74, &["--period", "0.1"], env);
    assert!(robot.wait_event(Duration::from_secs(20), "ready").is_some());
    let adapter = Ros2Adapter::start(bus, robot_config(FAKE_ROBOT))
        .await
        .unwrap();
    let h = client
        .send_goal(
            &call(1000),
            GoalOptions {
                accept_timeout: Duration::from_secs(15),
                ..opts
            },
        )
        .await
        .unwrap();
    let (fb_tx, mut fb_rx) = tokio::sync::mpsc::unbounded_channel();
    let res = tokio::spawn(h.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    fb_rx.recv().await.expect("feedback");
    let t = Instant::now();
    stop(&mut robot);
    let outcome = tokio::time::timeout(Duration::from_secs(limit_s), res)
        .await
        .expect("no hang")
        .unwrap();
    match outcome {
        SkillOutcome::Failed { reason } => assert!(reason.contains("vanished"), "{reason}"),
        o => panic!("expected failure, got {o:?}"),
    }
    let after = t.elapsed();
    adapter.shutdown().await;
    after
}
