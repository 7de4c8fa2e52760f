//! Shared by the `ros2_*` tests: rclpy nodes as child processes, the adapter's configuration.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Python of `.venv-ros2` (or `$CLEA_ROS2_PYTHON`).
pub fn python() -> PathBuf {
    std::env::var_os("CLEA_ROS2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-ros2/bin/python")
        })
}

/// Use `domain` for this test process (r2r reads ROS_DOMAIN_ID when the adapter starts).
pub fn set_domain(domain: u32) {
    std::env::set_var("ROS_DOMAIN_ID", domain.to_string());
    std::env::set_var("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST");
}

/// An rclpy node; killed on drop. Its stdout lines arrive on `lines`.
pub struct PyNode {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: std::cell::RefCell<Vec<String>>,
}

impl PyNode {
    /// Start `skills/tests/ros2/<script>` in `domain`.
    pub fn start(script: &str, domain: u32, args: &[&str]) -> Self {
        Self::start_with_env(script, domain, args, &[])
    }

    /// [`PyNode::start`] with extra environment variables.
    pub fn start_with_env(script: &str, domain: u32, args: &[&str], env: &[(&str, &str)]) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/ros2")
            .join(script);
        let mut child = Command::new(python())
            .arg(&path)
            .args(args)
            .env("ROS_DOMAIN_ID", domain.to_string())
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            .env("PYTHONUNBUFFERED", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e} (run scripts/setup-ros2.sh)",
                    python().display(),
                    path.display()
                )
            });
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Default::default(),
        }
    }

    /// The first stdout line (so far, or within `timeout`) for which `f` holds; lines are kept,
    /// so the order in which a test waits for events does not matter.
    pub fn wait_line(&self, timeout: Duration, f: impl Fn(&str) -> bool) -> Option<String> {
        if let Some(l) = self.seen.borrow().iter().find(|l| f(l)) {
            return Some(l.clone());
        }
        let end = Instant::now() + timeout;
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.borrow_mut().push(l.clone());
                    if f(&l) {
                        return Some(l);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// The next JSON event named `event`, within `timeout`.
    pub fn wait_event(&self, timeout: Duration, event: &str) -> Option<Value> {
        let l = self.wait_line(timeout, |l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| v["event"] == event)
        })?;
        serde_json::from_str(&l).ok()
    }

    /// Stop the process as Ctrl-C does (rclpy shuts down and its endpoints leave the graph).
    pub fn interrupt(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }

    /// Kill the process now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Seconds since the epoch, as Python's time.time().
pub fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The adapter's configuration for the fake robot of `fake_robot.py`.
pub const FAKE_ROBOT: &str = r#"
name: robot_1
cameras:
  head:
    image_topic: /camera/color/image_raw
    depth_topic: /camera/depth/image_raw
    info_topic: /camera/color/camera_info
skills:
  count:
    kind: action
    type: test_msgs/action/Fibonacci
    server: /fibonacci
    goal: {order: "$arg:order"}
    server_wait_s: 10
    accept_timeout_s: 5
  grip:
    kind: service
    type: std_srvs/srv/SetBool
    server: /set_gripper
    goal: {data: "$arg:close"}
    server_wait_s: 10
    success_field: /success
    message_field: /message
poses:
  table: {position: [1.0, 2.0, 0.0], yaw: 1.5707963}
estop: {topic: /estop}
"#;

pub fn robot_config(yaml: &str) -> clea_skills::ros2::RobotConfig {
    serde_yaml::from_str(yaml).expect("robot config")
}
