//! The `clea` binary end to end: child processes with bounded waits, scenario fixtures, episode
//! logs read back with the official Python `mcap` reader, and the shape of the JSON report.
//!
//! Every wait is bounded and condition-based (a line on stderr, a process exit, a file
//! condition polled): a hang fails the test with what the process printed so far, and the
//! process is killed (SIGKILL) and reaped when its guard drops. On Linux a child also gets
//! `PR_SET_PDEATHSIG = SIGKILL`, so it dies with the test thread that spawned it even when the
//! test process itself is killed.

use crate::{clea_bin, free_port, python, workspace_root};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The kitchen suite, relative to the workspace root.
pub const KITCHEN: &str = "sim/scenarios/clea-kitchen";

/// Path of a kitchen scenario file, e.g. `kitchen("task-08-find-roast-apple")`.
pub fn kitchen(name: &str) -> PathBuf {
    workspace_root().join(KITCHEN).join(format!("{name}.yaml"))
}

/// Whether a scenario name is a perturbed variant (`task-NN-pK-...`).
pub fn is_perturbed(name: &str) -> bool {
    name.split('-')
        .any(|c| c.len() >= 2 && c.starts_with('p') && c[1..].chars().all(|d| d.is_ascii_digit()))
}

/// A child process whose stdout and stderr are collected by two threads; killed (SIGKILL) and
/// reaped when dropped.
pub struct Proc {
    name: String,
    child: Child,
    started: Instant,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    stderr_lines: mpsc::Receiver<String>,
    readers: Vec<JoinHandle<()>>,
}

/// How a [`Proc`] ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What it ran, for messages.
    pub name: String,
    /// Exit status; `None` when it was killed after the time limit.
    pub status: Option<ExitStatus>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// Time from spawn to exit (or to the kill).
    pub elapsed: Duration,
}

fn collect<R: Read + Send + 'static>(
    pipe: R,
    buf: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            {
                let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
                b.push_str(&line);
                b.push('\n');
            }
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    })
}

impl Proc {
    /// Spawn `cmd` with stdin closed and stdout/stderr piped; `name` appears in messages.
    ///
    /// # Panics
    /// When the process cannot be spawned.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot spawn {cmd:?}: {e}"));
        let started = Instant::now();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            collect(child.stdout.take().expect("piped"), stdout.clone(), None),
            collect(
                child.stderr.take().expect("piped"),
                stderr.clone(),
                Some(tx),
            ),
        ];
        Proc {
            name: name.to_string(),
            child,
            started,
            stdout,
            stderr,
            stderr_lines: rx,
            readers,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Time since it was spawned.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The next stderr line for which `pred` holds (earlier lines are consumed); `None` when
    /// stderr closed (the process exited) or `limit` passed first.
    pub fn wait_stderr_line(
        &mut self,
        mut pred: impl FnMut(&str) -> bool,
        limit: Duration,
    ) -> Option<String> {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Its exit status if it has exited, without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// What it printed on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Kill it now (SIGKILL) and reap it; returns its status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// Wait up to `limit` for it to exit; kill it if it did not. Returns everything it printed.
    pub fn finish(mut self, limit: Duration) -> Finished {
        let end = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.try_status() {
                break Some(s);
            }
            if Instant::now() >= end {
                self.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        // The pipes close with the process (clea spawns no children): the readers end.
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let take = |b: &Arc<Mutex<String>>| b.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Finished {
            name: self.name.clone(),
            status,
            stdout: take(&self.stdout),
            stderr: take(&self.stderr),
            elapsed,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            self.kill();
        }
    }
}

/// On Linux: the child gets SIGKILL when the thread that spawned it ends (the test's thread),
/// so it cannot outlive a test process that was killed.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe; it allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

impl Finished {
    /// A summary for assertion messages: command, status, time, stdout and stderr.
    pub fn describe(&self) -> String {
        format!(
            "{}: status {:?} after {:.2?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name, self.status, self.elapsed, self.stdout, self.stderr
        )
    }

    /// Whether it was killed because it ran past its time limit.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// Its exit code (`None` when killed by a signal or after the time limit).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// # Panics
    /// Unless it exited with code 0 within its time limit.
    pub fn assert_success(&self) -> &Self {
        assert!(
            !self.timed_out(),
            "ran past its time limit (a hang)\n{}",
            self.describe()
        );
        assert_eq!(self.code(), Some(0), "{}", self.describe());
        self
    }

    /// # Panics
    /// When stderr shows a Rust panic.
    pub fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked"),
            "the process panicked\n{}",
            self.describe()
        );
        self
    }

    /// Stdout as one JSON document.
    ///
    /// # Panics
    /// Unless it succeeded and stdout is one JSON document.
    pub fn json(&self) -> Value {
        self.assert_success();
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.describe()))
    }
}

/// A `clea` command with `args`, run in the workspace root.
pub fn clea<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(clea_bin());
    cmd.args(args).current_dir(workspace_root());
    cmd
}

/// Run `clea args` to the end, killing it after `limit`.
pub fn run_clea<I, S>(args: I, limit: Duration) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cmd = clea(args);
    let name = format!("{cmd:?}");
    Proc::spawn(&name, cmd).finish(limit)
}

/// The first line `clea sim --serve` prints on stderr once its robots are on the bus.
pub const SERVING_LINE: &str = "clea: serving";

/// A `clea sim <scenario> --serve` process.
pub struct Served {
    /// The process.
    pub proc: Proc,
    /// The TCP port of 127.0.0.1 it listens on.
    pub port: u16,
    /// Its namespace.
    pub namespace: String,
}

impl Served {
    /// `clea sim <scenario> --serve --listen tcp/127.0.0.1:<free port> --namespace <namespace>`,
    /// once it printed [`SERVING_LINE`]. Retries with another port when the process exits
    /// before that (the port was taken between [`free_port`] and the bind).
    ///
    /// # Panics
    /// When it never gets ready within `limit` per attempt.
    pub fn start(scenario: &Path, namespace: &str, limit: Duration) -> Served {
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let listen = format!("tcp/127.0.0.1:{port}");
            let cmd = clea([
                OsStr::new("sim"),
                scenario.as_os_str(),
                OsStr::new("--serve"),
                OsStr::new("--listen"),
                OsStr::new(&listen),
                OsStr::new("--namespace"),
                OsStr::new(namespace),
            ]);
            let mut proc = Proc::spawn(&format!("{cmd:?}"), cmd);
            if proc
                .wait_stderr_line(|l| l.starts_with(SERVING_LINE), limit)
                .is_some()
            {
                return Served {
                    proc,
                    port,
                    namespace: namespace.to_string(),
                };
            }
            let f = proc.finish(Duration::from_secs(5));
            last = f.describe();
        }
        panic!("`clea sim --serve` never printed {SERVING_LINE:?}; last attempt:\n{last}");
    }

    /// The endpoint it listens on.
    pub fn endpoint(&self) -> String {
        format!("tcp/127.0.0.1:{}", self.port)
    }
}

/// Write `<dir>/<name>.yaml`: the kitchen scenario `base` (e.g. `task-08-find-roast-apple`)
/// renamed to `name`, with an absolute `world_file`, and each top-level field of `overrides`
/// (a YAML mapping, e.g. `"skill_duration_s: 2.0"`) set in it.
///
/// # Panics
/// On I/O or YAML errors.
pub fn derived_scenario(dir: &Path, base: &str, name: &str, overrides: &str) -> PathBuf {
    let base_file = kitchen(base);
    let text = std::fs::read_to_string(&base_file)
        .unwrap_or_else(|e| panic!("{}: {e}", base_file.display()));
    let mut doc: serde_yaml::Mapping =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", base_file.display()));
    let world = doc
        .get("world_file")
        .and_then(|w| w.as_str())
        .unwrap_or_else(|| panic!("{}: no world_file", base_file.display()));
    let world = base_file
        .parent()
        .expect("a scenario file has a folder")
        .join(world)
        .canonicalize()
        .unwrap_or_else(|e| panic!("world file of {}: {e}", base_file.display()));
    doc.insert("name".into(), name.into());
    doc.insert(
        "world_file".into(),
        world.to_str().expect("UTF-8 path").into(),
    );
    let overrides: serde_yaml::Mapping =
        serde_yaml::from_str(overrides).unwrap_or_else(|e| panic!("overrides {overrides:?}: {e}"));
    for (k, v) in overrides {
        doc.insert(k, v);
    }
    let path = dir.join(format!("{name}.yaml"));
    let text = serde_yaml::to_string(&doc).expect("YAML serializes");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// The reader script, `tests/scripts/read_mcap.py`.
pub fn read_mcap_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/read_mcap.py")
}

/// Read an episode log with the official Python `mcap` reader (`tests/scripts/read_mcap.py`,
/// run with [`python`]); `stream`: the streaming reader only, for a file that may be truncated.
/// Returns the script's JSON report (see the script's docstring).
///
/// # Panics
/// When there is no Python (see [`python`]), or the script fails or prints no JSON.
pub fn read_mcap(file: &Path, stream: bool) -> Value {
    let py = python();
    let mut cmd = Command::new(&py);
    cmd.arg(read_mcap_script());
    if stream {
        cmd.arg("--stream");
    }
    cmd.arg(file);
    let name = format!("{cmd:?}");
    let f = Proc::spawn(&name, cmd).finish(Duration::from_secs(60));
    let hint = format!(
        "is the `mcap` package installed in {} (scripts/setup.sh installs it into .venv)?",
        py.display()
    );
    assert!(
        f.code() == Some(0),
        "read_mcap.py failed; {hint}\n{}",
        f.describe()
    );
    serde_json::from_str(&f.stdout).unwrap_or_else(|e| {
        panic!(
            "read_mcap.py printed no JSON ({e}); {hint}\n{}",
            f.describe()
        )
    })
}

/// Read a ROS 2 sensor log (`<episode>.ros2.mcap`) with `rosbags` (`tests/scripts/
/// read_ros2_log.py`, run with [`python`]). Returns the script's JSON report (see its docstring).
///
/// # Panics
/// When there is no Python (see [`python`]), or the script fails or prints no JSON.
pub fn read_ros2_log(file: &Path) -> Value {
    let py = python();
    let mut cmd = Command::new(&py);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/read_ros2_log.py"));
    cmd.arg(file);
    let name = format!("{cmd:?}");
    let f = Proc::spawn(&name, cmd).finish(Duration::from_secs(60));
    let hint = format!(
        "is `rosbags` installed in {} (scripts/setup.sh installs it into .venv)?",
        py.display()
    );
    assert!(
        f.code() == Some(0),
        "read_ros2_log.py failed; {hint}\n{}",
        f.describe()
    );
    serde_json::from_str(&f.stdout).unwrap_or_else(|e| {
        panic!(
            "read_ros2_log.py printed no JSON ({e}); {hint}\n{}",
            f.describe()
        )
    })
}

/// Poll `cond` every `period` until it holds (returns `true`) or `limit` passes (`false`).
pub fn poll(limit: Duration, period: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(period);
    }
}

fn uint(e: &Value, field: &str) -> u64 {
    e[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a non-negative integer in {e}"))
}

/// Check the shape of a `clea sim --json` / `clea run --json` report and that its summary
/// aggregates its episodes; returns the episodes.
///
/// `{"episodes":[{scenario, seed, success, score, steps, skill_failures, invalid_calls,
/// critic_rejections, replans, perturbations, goals_unmet, reason, wall_time_s}],
/// "summary":{episodes, success_rate, score, mean_steps, skill_failures, invalid_calls,
/// critic_rejections, replans, wall_time_s}}`
///
/// # Panics
/// When a field is missing, has the wrong type, or disagrees with the others.
pub fn check_report(report: &Value) -> Vec<Value> {
    let episodes = report["episodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no `episodes` array in {report}"))
        .clone();
    let summary = &report["summary"];
    assert!(summary.is_object(), "no `summary` object in {report}");
    assert!(!episodes.is_empty(), "no episodes in {report}");
    for e in &episodes {
        assert!(e["scenario"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
        let success = e["success"]
            .as_bool()
            .unwrap_or_else(|| panic!("success is not a bool in {e}"));
        let score = e["score"]
            .as_f64()
            .unwrap_or_else(|| panic!("score is not a number in {e}"));
        assert!((0.0..=1.0).contains(&score), "score out of [0, 1] in {e}");
        for f in [
            "seed",
            "steps",
            "skill_failures",
            "invalid_calls",
            "critic_rejections",
            "replans",
            "perturbations",
        ] {
            uint(e, f);
        }
        let unmet = e["goals_unmet"]
            .as_array()
            .unwrap_or_else(|| panic!("goals_unmet is not an array in {e}"));
        let reason = e["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("reason is not a string in {e}"));
        assert!(
            e["wall_time_s"].as_f64().is_some_and(|t| t >= 0.0),
            "wall_time_s in {e}"
        );
        assert_eq!(success, unmet.is_empty(), "success iff no goal unmet: {e}");
        if success {
            assert_eq!(score, 1.0, "{e}");
        } else {
            assert!(score < 1.0, "{e}");
            assert!(
                !reason.trim().is_empty(),
                "a lost episode has no reason: {e}"
            );
        }
        assert!(
            uint(e, "skill_failures") <= uint(e, "steps"),
            "more failures than steps: {e}"
        );
    }
    let n = episodes.len() as f64;
    assert_eq!(
        uint(summary, "episodes"),
        episodes.len() as u64,
        "{summary}"
    );
    let close = |field: &str, want: f64| {
        let got = summary[field]
            .as_f64()
            .unwrap_or_else(|| panic!("summary.{field} is not a number in {summary}"));
        assert!(
            (got - want).abs() < 1e-9,
            "summary.{field} = {got}, episodes say {want}"
        );
    };
    let ok = episodes.iter().filter(|e| e["success"] == true).count() as f64;
    close("success_rate", ok / n);
    close(
        "score",
        episodes
            .iter()
            .map(|e| e["score"].as_f64().unwrap())
            .sum::<f64>()
            / n,
    );
    close(
        "mean_steps",
        episodes
            .iter()
            .map(|e| uint(e, "steps") as f64)
            .sum::<f64>()
            / n,
    );
    for f in [
        "skill_failures",
        "invalid_calls",
        "critic_rejections",
        "replans",
    ] {
        let sum: u64 = episodes.iter().map(|e| uint(e, f)).sum();
        assert_eq!(uint(summary, f), sum, "summary.{f}");
    }
    assert!(
        summary["wall_time_s"].as_f64().is_some_and(|t| t >= 0.0),
        "{summary}"
    );
    episodes
}

/// The one episode of a single-scenario report (shape checked).
///
/// # Panics
/// When the report does not hold exactly one episode.
pub fn single_episode(report: &Value) -> Value {
    let mut episodes = check_report(report);
    assert_eq!(episodes.len(), 1, "{report}");
    episodes.remove(0)
}
