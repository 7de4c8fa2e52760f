//! Shared by the tests that start `clea` and helper processes: child processes whose output
//! lines arrive on a channel (every wait bounded), free ports, the workspace root.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process whose lines (stdout or stderr) arrive on a channel; killed on drop.
pub struct Proc {
    /// The process.
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    /// Start `cmd`, reading its stdout (or, with `stderr`, its stderr) line by line.
    pub fn spawn(mut cmd: Command, stderr: bool) -> Self {
        cmd.env("PYTHONUNBUFFERED", "1");
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

    /// The first line (seen before or arriving within `within`) for which `f` holds.
    pub fn wait_line(&mut self, within: Duration, f: impl Fn(&str) -> bool) -> Option<String> {
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

    /// Every line not yet read until the process closes its output, and its exit status;
    /// `None` when it is still writing after `within`.
    pub fn finish(&mut self, within: Duration) -> Option<(std::process::ExitStatus, String)> {
        let end = Instant::now() + within;
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Output closed: the process has ended or is ending.
        let status = self.child.wait().ok()?;
        Some((status, self.seen.join("\n")))
    }

    /// The first JSON line whose `event` is `event`.
    pub fn wait_event(&mut self, within: Duration, event: &str) -> Option<Value> {
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

/// The `clea` binary of this package with `args`, run in the workspace root.
pub fn clea(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clea"));
    c.args(args).current_dir(root());
    c
}

/// `clea router` on a free port; returns it with its endpoint once it said it listens.
pub fn router(within: Duration) -> (Proc, String) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut p = Proc::spawn(clea(&["router", "--listen", &endpoint]), true);
    let line = p.wait_line(within, |l| l.starts_with("clea: "));
    assert!(
        line.as_deref().is_some_and(|l| l.contains("zenoh router")),
        "{line:?}"
    );
    (p, endpoint)
}

/// The JSON a successful command printed on stdout (its stderr in the panic otherwise).
pub fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The Python with the official `mcap` reader: `$CLEA_PYTHON`, else `<workspace>/.venv`'s.
pub fn python() -> PathBuf {
    std::env::var_os("CLEA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// An episode log read back by the official Python `mcap` reader (`tests/scripts/read_mcap.py`).
pub fn read_mcap(path: &std::path::Path) -> Value {
    let out = Command::new(python())
        .arg(root().join("tests/scripts/read_mcap.py"))
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", python().display()));
    assert!(
        out.status.success(),
        "read_mcap.py {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
