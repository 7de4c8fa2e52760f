//! `clea run` of a robot launch file, as on a real robot: the `clea` binary (built with the
//! `ros2` feature) bridges a real rclpy node's action server and service to the bus; a bus
//! client in this process (over zenoh TCP) sends skill goals; Ctrl-C stops the adapter and
//! cancels the goal the robot is still executing.
//!
//! Runs with `make test-ros2` (ROS 2 from PyPI wheels, `.venv-ros2`); ROS_DOMAIN_ID 76.
#![cfg(feature = "ros2")]

use clea_bus::action::{GoalOptions, SkillClient};
use clea_bus::msg::{SkillCall, SkillOutcome};
use clea_bus::{Bus, BusConfig};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DOMAIN: &str = "76";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process whose lines (stdout or stderr) arrive on a channel; killed on drop.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(mut cmd: Command, stderr: bool) -> Self {
        cmd.env("ROS_DOMAIN_ID", DOMAIN)
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            .env("PYTHONUNBUFFERED", "1");
        if stderr {
            cmd.stderr(Stdio::piped()).stdout(Stdio::null());
        } else {
            cmd.stdout(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let out: Box<dyn Read + Send> = if stderr {
            Box::new(child.stderr.take().unwrap())
        } else {
            Box::new(child.stdout.take().unwrap())
        };
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("  | {l}");
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_line(&mut self, within: Duration, f: impl Fn(&str) -> bool) -> Option<String> {
        if let Some(l) = self.seen.iter().find(|l| f(l)) {
            return Some(l.clone());
        }
        let end = Instant::now() + within;
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            let l = self.lines.recv_timeout(left).ok()?;
            self.seen.push(l.clone());
            if f(&l) {
                return Some(l);
            }
        }
    }

    fn wait_event(&mut self, within: Duration, event: &str) -> Option<Value> {
        let l = self.wait_line(within, |l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| v["event"] == event)
        })?;
        serde_json::from_str(&l).ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    let mut robot = Proc::spawn(robot_cmd, false);
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
    let mut clea = Proc::spawn(clea_cmd, true);
    let started = clea.wait_line(Duration::from_secs(30), |l| {
        l.starts_with("clea: bridging") || l.starts_with("clea: ")
    });
    assert!(
        started
            .as_deref()
            .is_some_and(|l| l.contains("bridging robot robot_1") && l.contains("skills [count]")),
        "{started:?}"
    );

    let bus = Bus::open(&BusConfig {
        namespace: ns.clone(),
        connect: vec![format!("tcp/127.0.0.1:{port}")],
        ..BusConfig::default()
    })
    .await
    .unwrap();
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
