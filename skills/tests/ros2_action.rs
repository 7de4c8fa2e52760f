//! Skill goals from the bus reach a real rclpy action server / service: feedback, result, cancel.
#![cfg(feature = "ros2")]

#[path = "ros2/common.rs"]
mod common;

use clea_bus::action::{GoalOptions, SkillClient};
use clea_bus::msg::{SkillCall, SkillOutcome};
use clea_bus::{Bus, BusConfig};
use clea_skills::ros2::Ros2Adapter;
use common::*;
use serde_json::json;
use std::time::Duration;

fn call(skill: &str, args: serde_json::Value) -> SkillCall {
    let mut a: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_value(args).unwrap();
    a.insert("robot".into(), json!("robot_1"));
    SkillCall {
        skill: skill.into(),
        args: a,
    }
}

/// A `count` goal of `order` that has sent its first feedback: its canceler and its result.
async fn running(
    client: &SkillClient,
    order: i64,
    opts: GoalOptions,
) -> (
    clea_bus::action::GoalCanceler,
    tokio::task::JoinHandle<SkillOutcome>,
) {
    let h = client
        .send_goal(&call("count", json!({ "order": order })), opts)
        .await
        .unwrap();
    let canceler = h.canceler();
    let (fb_tx, mut fb_rx) = tokio::sync::mpsc::unbounded_channel();
    let res = tokio::spawn(h.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    fb_rx.recv().await.expect("feedback before cancel");
    (canceler, res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_feedback_result_cancel_and_service() {
    set_domain(72);
    let robot = PyNode::start("fake_robot.py", 72, &["--period", "0.1"]);
    assert!(
        robot.wait_event(Duration::from_secs(20), "ready").is_some(),
        "fake robot did not start"
    );
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
        result_timeout: Some(Duration::from_secs(30)),
    };

    // Goal -> feedback -> result (the adapter waits for the server's discovery itself).
    let h = client
        .send_goal(&call("count", json!({"order": 5})), opts)
        .await
        .expect("goal accepted");
    let g = robot
        .wait_event(Duration::from_secs(5), "goal")
        .expect("goal reached the ROS 2 server");
    assert_eq!(g["order"], 5);
    let mut feedback = Vec::new();
    let outcome = h.result(|f| feedback.push(f.text)).await;
    assert_eq!(outcome, SkillOutcome::Succeeded);
    assert_eq!(feedback.len(), 4, "one feedback per step: {feedback:?}");
    assert!(
        feedback.last().unwrap().contains("[0,1,1,2,3,5]"),
        "{feedback:?}"
    );

    // Aborted by the server -> Failed with the reason.
    let h = client
        .send_goal(&call("count", json!({"order": -1})), opts)
        .await
        .unwrap();
    match h.result(|_| {}).await {
        SkillOutcome::Failed { reason } => assert!(reason.contains("aborted"), "{reason}"),
        o => panic!("expected failure, got {o:?}"),
    }

    // Cancel from the bus -> ROS 2 cancel -> Canceled.
    let (canceler, res) = running(&client, 100, opts).await;
    assert!(canceler.cancel(Duration::from_secs(2)).await.unwrap());
    assert!(
        robot.wait_event(Duration::from_secs(3), "cancel").is_some(),
        "cancel reached the server"
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), res)
            .await
            .unwrap()
            .unwrap(),
        SkillOutcome::Canceled
    );

    // A server that finishes the work after a cancel was requested: its SUCCEEDED is what the
    // bus reports (the robot did the work), not `canceled`.
    let (canceler, res) = running(&client, 1_000_006, opts).await;
    let _ = canceler.cancel(Duration::from_secs(2)).await;
    assert!(
        robot
            .wait_event(Duration::from_secs(3), "succeeded")
            .is_some(),
        "the stubborn goal succeeded"
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), res)
            .await
            .unwrap()
            .unwrap(),
        SkillOutcome::Succeeded,
        "the server's result is authoritative after a cancel"
    );

    // Service: success_field and message_field map onto the outcome.
    let h = client
        .send_goal(&call("grip", json!({"close": true})), opts)
        .await
        .unwrap();
    assert_eq!(h.result(|_| {}).await, SkillOutcome::Succeeded);
    let h = client
        .send_goal(&call("grip", json!({"close": false})), opts)
        .await
        .unwrap();
    assert_eq!(
        h.result(|_| {}).await,
        SkillOutcome::Failed {
            reason: "refused".into()
        }
    );

    // A template argument missing from the call: rejected with the reason.
    let err = client
        .send_goal(&call("count", json!({})), opts)
        .await
        .err()
        .expect("rejected");
    assert!(err.to_string().contains("order"), "{err}");
    adapter.shutdown().await;
}
