//! The ROS 2 launch file parses and validates against its world; configuration errors are
//! clear. (Configuration needs no ROS 2: these tests run in the default build.)

use clea_bus::msg::SkillCall;
use clea_bus::msg::WorldVocabulary;
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
    let e = f.robot.validate(&[], &["in_front_of_garage"]).unwrap_err();
    assert!(
        matches!(&e, ConfigError::MissingPose(p) if p == "in_front_of_garage"),
        "{e}"
    );
    assert!(e.to_string().contains("in_front_of_garage"));
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

fn kitchen() -> WorldVocabulary {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sim/worlds/clea-kitchen.yaml"
    ))
    .unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn launch_file_validates_against_its_world() {
    let f = Ros2LaunchFile::from_yaml(&file()).unwrap();
    assert_eq!(
        f.world.as_deref(),
        Some(std::path::Path::new("../../sim/worlds/clea-kitchen.yaml"))
    );
    assert_eq!(f.robot.odometry_topic.as_deref(), Some("/odom"));
    f.robot.validate_for_world(&kitchen()).unwrap();

    // A navigation point of the world without a pose.
    let mut r = f.robot.clone();
    r.poses.remove("in_front_of_sink");
    let e = r.validate_for_world(&kitchen()).unwrap_err();
    assert!(
        matches!(&e, ConfigError::MissingPose(p) if p == "in_front_of_sink"),
        "{e}"
    );
    // A skill robot_1 can do without a mapping.
    let mut r = f.robot.clone();
    r.skills.remove("release_to");
    let e = r.validate_for_world(&kitchen()).unwrap_err();
    assert!(
        matches!(&e, ConfigError::SkillWithoutMapping(s) if s == "release_to"),
        "{e}"
    );
    // A mapping for a skill the robot does not have.
    let mut r = f.robot.clone();
    let m = r.skills["open"].clone();
    r.skills.insert("wave".into(), m);
    let e = r.validate_for_world(&kitchen()).unwrap_err();
    assert!(
        matches!(&e, ConfigError::NotASkillOfTheRobot { skill, .. } if skill == "wave"),
        "{e}"
    );
    // robot_2 is fixed: go_to is not its skill, so no poses are needed.
    let mut r = f.robot.clone();
    r.name = "robot_2".into();
    r.poses.clear();
    r.skills.remove("go_to");
    r.validate_for_world(&kitchen()).unwrap();
    // A robot the world does not have.
    r.name = "robot_9".into();
    let e = r.validate_for_world(&kitchen()).unwrap_err();
    assert!(e.to_string().contains("robot_1, robot_2"), "{e}");
}

#[test]
fn compressed_cameras_and_ros_names_are_checked() {
    let f = file().replace(
        "image_type: sensor_msgs/msg/Image ",
        "image_type: sensor_msgs/msg/CompressedImage ",
    );
    let f = Ros2LaunchFile::from_yaml(&f).unwrap();
    assert!(f.robot.cameras["head"].compressed());
    f.robot.validate(&[], &[]).unwrap();
    for (from, to, field) in [
        (
            "/navigate_to_pose",
            "/navigate to pose",
            "skills.go_to.server",
        ),
        (
            "odometry_topic: /odom",
            "odometry_topic: /odom//x",
            "odometry_topic",
        ),
        ("/emergency_stop", "/9stop", "estop.topic"),
    ] {
        let bad = Ros2LaunchFile::from_yaml(&file().replace(from, to)).unwrap();
        let e = bad.robot.validate(&[], &[]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::InvalidTopic { what, .. } if what == field),
            "{e}"
        );
    }
}
