//! # clea-tests: cross-crate and multi-process tests of the CLEA runtime
//!
//! This library holds what the test binaries and the test skill server share:
//!
//! - the behaviours of the test skill server (`clea-test-skill-server`, `src/bin/skill_server.rs`)
//!   and the exact strings it answers with, so tests compare against the same constants;
//! - [`ServerProcess`]: spawns that server on a free TCP port of the loopback interface, waits for
//!   its `READY` line, forwards its stdout lines, and kills it when dropped;
//! - [`within`]: every await of a test is bounded, so a protocol bug fails a test instead of
//!   hanging the suite;
//! - [`clea_bin`] and the [`e2e`] module: the `clea` binary driven end to end (`clea sim`,
//!   `clea run`, `clea sim --serve`) as child processes with bounded waits, scenario fixtures
//!   derived from the kitchen suite, and episode logs read back by the official Python `mcap`
//!   reader (`tests/scripts/read_mcap.py`, run with [`python`]).

pub mod e2e;
pub mod llm;

use clea_bus::msg::SkillCall;
use clea_bus::BusConfig;
use std::future::IntoFuture;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;

/// The robot the test skill server serves.
pub const ROBOT: &str = "robot_1";
/// The skills the test skill server declares.
pub const SKILLS: [&str; 2] = ["go_to", "pick_from"];

/// Behaviour: feedback, then `Succeeded`.
pub const FAST: &str = "fast";
/// Behaviour: feedback every [`SLOW_FEEDBACK_PERIOD`] for [`SLOW_DURATION`], honouring cancel
/// (finishes `Canceled`), else `Succeeded`.
pub const SLOW: &str = "slow";
/// Behaviour: the goal is rejected with [`REJECT_REASON`].
pub const REJECT_ME: &str = "reject_me";
/// Behaviour: accept, one feedback, print [`DYING_LINE`], then `std::process::exit(3)`.
pub const DIE: &str = "die";
/// Behaviour: feedback, then `Failed` with [`FAIL_REASON`].
pub const FAIL: &str = "fail";

/// Reason the server gives when it rejects a [`REJECT_ME`] goal.
pub const REJECT_REASON: &str = "reject_me is not a reachable navigation point";
/// Reason of the [`FAIL`] behaviour's `Failed` outcome.
pub const FAIL_REASON: &str = "blocked by a chair";
/// Exit code of the server process in the [`DIE`] behaviour.
pub const DIE_EXIT_CODE: i32 = 3;
/// How long a [`SLOW`] goal runs when nobody cancels it.
pub const SLOW_DURATION: Duration = Duration::from_secs(5);
/// Feedback period of a [`SLOW`] goal.
pub const SLOW_FEEDBACK_PERIOD: Duration = Duration::from_millis(50);

/// Line the server prints once its skill server is declared.
pub const READY_LINE: &str = "READY";
/// Line the server prints right before it exits in the [`DIE`] behaviour.
pub const DYING_LINE: &str = "DYING";

/// The line the server prints when a goal ends: `FINISHED <goal_id> <outcome>` (outcome as
/// `SkillOutcome`'s `Display`, e.g. `canceled`).
pub fn finished_line(goal_id: &str, outcome: &impl std::fmt::Display) -> String {
    format!("FINISHED {goal_id} {outcome}")
}

/// The behaviour a call asks for: its `navigation_point` argument (`go_to`), else its `object`
/// argument (`pick_from`).
pub fn behaviour(call: &SkillCall) -> Option<&str> {
    call.args
        .get("navigation_point")
        .or_else(|| call.args.get("object"))
        .and_then(|v| v.as_str())
}

/// `go_to(robot, navigation_point)`.
pub fn go_to(robot: &str, navigation_point: &str) -> SkillCall {
    SkillCall {
        skill: "go_to".into(),
        args: [
            ("robot".to_string(), serde_json::json!(robot)),
            (
                "navigation_point".to_string(),
                serde_json::json!(navigation_point),
            ),
        ]
        .into_iter()
        .collect(),
    }
}

/// `pick_from(robot, object, receptacle)`.
pub fn pick_from(robot: &str, object: &str, receptacle: &str) -> SkillCall {
    SkillCall {
        skill: "pick_from".into(),
        args: [
            ("robot".to_string(), serde_json::json!(robot)),
            ("object".to_string(), serde_json::json!(object)),
            ("receptacle".to_string(), serde_json::json!(receptacle)),
        ]
        .into_iter()
        .collect(),
    }
}

/// Await `fut` (a future or a zenoh builder) for at most `limit`; panics naming `what` when the
/// limit passes.
pub async fn within<F: IntoFuture>(what: &str, limit: Duration, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut.into_future()).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A namespace unique to this test and this run of the test binary.
pub fn unique_namespace(test: &str) -> String {
    format!("t_{test}_{}", std::process::id())
}

/// A running test skill server; killed (and reaped) when dropped.
pub struct ServerProcess {
    child: Child,
    /// Kept open: the server exits when its stdin closes (`--exit-with-stdin`), so it cannot
    /// outlive a test process that was killed before this guard could run.
    _stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// The port it listens on.
    pub port: u16,
    /// The namespace it serves.
    pub namespace: String,
}

impl ServerProcess {
    /// Spawn the server binary `exe` for `namespace` on a free port and wait for `READY`.
    ///
    /// Retries with another port a few times when the process exits before `READY` (the port
    /// was taken between [`free_port`] and the server's bind).
    ///
    /// # Panics
    /// When the server never becomes ready.
    pub async fn spawn(exe: &str, namespace: &str) -> ServerProcess {
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new(exe)
                .args([
                    "--listen",
                    &format!("tcp/127.0.0.1:{port}"),
                    "--namespace",
                    namespace,
                    "--exit-with-stdin",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {exe}: {e}"));
            let stdin = child.stdin.take();
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = mpsc::unbounded_channel();
            // Drain stdout for the whole life of the process, so its writes never block or fail.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut server = ServerProcess {
                child,
                _stdin: stdin,
                lines: rx,
                port,
                namespace: namespace.to_string(),
            };
            match server
                .wait_line(|l| l == READY_LINE, Duration::from_secs(30))
                .await
            {
                Some(_) => return server,
                None => {
                    last = format!(
                        "port {port}: exited with {:?} before {READY_LINE}",
                        server.child.try_wait()
                    );
                }
            }
        }
        panic!("test skill server never became ready ({last})");
    }

    /// The endpoint it listens on, e.g. `tcp/127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("tcp/127.0.0.1:{}", self.port)
    }

    /// A bus configuration that connects to this server, in its namespace.
    pub fn client_config(&self) -> BusConfig {
        BusConfig {
            namespace: self.namespace.clone(),
            connect: vec![self.endpoint()],
            ..BusConfig::default()
        }
    }

    /// The next stdout line for which `pred` holds (earlier lines are consumed); `None` when the
    /// process closed its stdout or `limit` passed first.
    pub async fn wait_line(
        &mut self,
        mut pred: impl FnMut(&str) -> bool,
        limit: Duration,
    ) -> Option<String> {
        let lines = &mut self.lines;
        tokio::time::timeout(limit, async {
            while let Some(line) = lines.recv().await {
                if pred(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    /// The exit status, waiting up to `limit` for the process to end.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = tokio::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if tokio::time::Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kill the process now (SIGKILL) and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The `clea` binary (package `clea-launch`) that the end-to-end tests drive.
///
/// `CARGO_BIN_EXE_clea` only exists for the tests of `clea-launch` itself, so this crate finds
/// the binary on its own, once per test process:
///
/// 1. `CLEA_BIN`, if set, is used as is (it must name an existing file);
/// 2. else `<target dir>/<profile>/clea`, derived from the running test executable's own path
///    (`std::env::current_exe()`: `.../target/debug/deps/<test>-<hash>` →
///    `.../target/debug/clea`);
/// 3. brought up to date first with
///    `$CARGO build -p clea-launch --bin clea --target-dir <target dir>` (`cargo` when `CARGO` is
///    unset; `--release` or `--profile <name>` to match the test executable's profile folder),
///    run in the workspace root: a no-op when it is fresh, a rebuild after the runtime's sources
///    changed or after `make build-ros2` left a ROS 2 build there (which needs the ROS 2
///    environment to even start). A [`OnceLock`] makes the parallel tests of one test binary
///    wait for that single build; cargo's own lock on the target directory serializes the builds
///    of several test processes. (`cargo test` releases that lock before it runs the tests, so
///    the nested build does not deadlock.)
///
/// # Panics
/// When `CLEA_BIN` names a missing file, when the test executable's path has no
/// `<profile>/deps/` layout, or when the build fails (with cargo's output).
pub fn clea_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(locate_or_build_clea) {
        Ok(p) => p,
        Err(e) => panic!("cannot find or build the `clea` binary: {e}"),
    }
}

fn locate_or_build_clea() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("CLEA_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("CLEA_BIN={} is not a file", bin.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let deps = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
        .ok_or_else(|| {
            format!(
                "{} is not in a `<profile>/deps/` folder; set CLEA_BIN",
                exe.display()
            )
        })?;
    let profile_dir = deps.parent().ok_or("no profile folder above deps/")?;
    let target_dir = profile_dir
        .parent()
        .ok_or("no target folder above the profile")?;
    let bin = profile_dir.join(format!("clea{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "-p",
        "clea-launch",
        "--bin",
        "clea",
        "--target-dir",
    ])
    .arg(target_dir)
    .current_dir(workspace_root());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => return Err(format!("odd profile folder {}", profile_dir.display())),
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{cmd:?} succeeded but {} does not exist; set CLEA_BIN",
            bin.display()
        ))
    }
}

/// The Python interpreter with the official `mcap` reader: `$CLEA_PYTHON` if set (the Makefile
/// exports it), else `<workspace>/.venv/bin/python` (made by `scripts/setup.sh`).
///
/// # Panics
/// When neither exists: the episode-log tests need it and never skip silently.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CLEA_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "CLEA_PYTHON={} does not exist; run scripts/setup.sh (it makes .venv with the mcap \
             reader) or point CLEA_PYTHON at a Python that has `mcap` installed",
            p.display()
        );
        return p;
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "no Python with the mcap reader: CLEA_PYTHON is unset and {} does not exist; run \
         scripts/setup.sh (or `make setup`), or set CLEA_PYTHON",
        venv.display()
    );
    venv
}
