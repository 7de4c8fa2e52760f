//! The ROS 2 launch file parses and validates; configuration errors are clear.
#![cfg(feature = "ros2")]

use clea_bus::msg::SkillCall;
use clea_skills::ros2::{template, ConfigError, Ros2LaunchFile};
use clea_skills::SkillName;
use serde_json::json;

fn file() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../launch/files/mobile-manipulator.yaml"
    ))
    .unwrap()
}

#[test]
fn mobile_manipulator_launch_file_validates() {
    let f = Ros2LaunchFile::from_yaml(&file()).unwrap();
    let skills: Vec<&str> = SkillName::ALL.iter().map(|s| s.as_str()).collect();
    f.robot
        .validate(&skills, &["in_front_of_oven", "in_front_of_table"])
        .unwrap();
    // go_to(robot_1, in_front_of_oven) -> a PoseStamped goal with that pose.
    let mut args = std::collections::BTreeMap::new();
    args.insert("robot".to_string(), json!("robot_1"));
    args.insert("navigation_point".to_string(), json!("in_front_of_oven"));
    let call = SkillCall {
        skill: "go_to".into(),
        args,
    };
    let goal = template::fill(
        &f.robot.skills["go_to"].goal,
        "robot_1",
        &call,
        &f.robot.poses,
    )
    .unwrap();
    assert_eq!(goal["pose"]["header"]["frame_id"], "map");
    assert_eq!(goal["pose"]["pose"]["position"]["x"], 2.1);
    assert!(
        (goal["pose"]["pose"]["orientation"]["z"].as_f64().unwrap()
            - std::f64::consts::FRAC_1_SQRT_2)
            .abs()
            < 1e-3
    );
}

#[test]
fn configuration_errors_are_clear() {
    let f = Ros2LaunchFile::from_yaml(&file()).unwrap();
    let e = f.robot.validate(&["go_to", "wave"], &[]).unwrap_err();
    assert!(
        matches!(&e, ConfigError::SkillWithoutMapping(s) if s == "wave"),
        "{e}"
    );
    let e = f.robot.validate(&[], &["in_front_of_sink"]).unwrap_err();
    assert!(
        matches!(&e, ConfigError::MissingPose(p) if p == "in_front_of_sink"),
        "{e}"
    );
    assert!(e.to_string().contains("in_front_of_sink"));
    let bad = file().replace(
        "nav2_msgs/action/NavigateToPose",
        "nav2_msgs/NavigateToPose",
    );
    let e = Ros2LaunchFile::from_yaml(&bad)
        .unwrap()
        .robot
        .validate(&[], &[])
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::UnknownMessageType { ty, .. } if ty == "nav2_msgs/NavigateToPose"),
        "{e}"
    );
    let bad = file().replace(
        "image_type: sensor_msgs/msg/Image",
        "image_type: sensor_msgs/msg/Imag",
    );
    let e = Ros2LaunchFile::from_yaml(&bad)
        .unwrap()
        .robot
        .validate(&[], &[])
        .unwrap_err();
    assert!(matches!(e, ConfigError::UnknownMessageType { .. }), "{e}");
    let e = Ros2LaunchFile::from_yaml(&file().replace("server_wait_s: 5", "server_wait: 5"))
        .unwrap_err();
    assert!(e.to_string().contains("server_wait"), "{e}");
}
