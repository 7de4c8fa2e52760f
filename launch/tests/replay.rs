//! `clea replay`, `clea rerun` and `clea diff` on logs produced by `clea sim`.

use clea_bus::{Bus, BusConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn clea(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clea"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("clea runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kitchen(name: &str) -> String {
    root()
        .join("sim/scenarios/clea-kitchen")
        .join(name)
        .display()
        .to_string()
}

/// Record `scenario` (extra args allowed) into `dir`; returns the log's path.
fn record(scenario: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "sim",
        scenario,
        "--log-dir",
        dir.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = clea(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs[0].clone()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn rerun_is_identical_on_every_kitchen_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut tasks: Vec<PathBuf> = std::fs::read_dir(root().join("sim/scenarios/clea-kitchen"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // Perturbed variants are named `task-NN-pK-...`.
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            !name.split('-').any(|c| {
                c.len() == 2 && c.starts_with('p') && c[1..].chars().all(|d| d.is_ascii_digit())
            })
        })
        .collect();
    tasks.sort();
    assert_eq!(tasks.len(), 12);
    for (i, t) in tasks.iter().enumerate() {
        let d = dir.path().join(i.to_string());
        let log = record(t.to_str().unwrap(), &d, &[]);
        let out = clea(&[
            "rerun",
            log.to_str().unwrap(),
            "--log-dir",
            d.join("rerun").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}: {}", t.display(), text(&out));
        assert!(text(&out).starts_with("identical: "), "{}", text(&out));
    }
}

/// Without --log-dir, an identical re-run leaves no temporary log behind.
#[test]
fn an_identical_rerun_cleans_up_its_temporary_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = record(&kitchen("task-01-find-tea-hamburger.yaml"), dir.path(), &[]);
    let out = clea(&["rerun", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.starts_with("identical: "), "{t}");
    assert!(t.contains("--log-dir keeps the re-run's log"), "{t}");
    assert!(!t.contains("clea-rerun-"), "{t}");
}

#[test]
fn a_changed_setting_is_reported_at_the_step_where_runs_part() {
    let dir = tempfile::tempdir().unwrap();
    let log = record(
        &kitchen("task-07-p2-fridge-left-open.yaml"),
        dir.path(),
        &[],
    );
    let out = clea(&["rerun", log.to_str().unwrap(), "--critic", "off"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    // With the critic, open(robot_1, refrigerator) is rejected as the refrigerator is already
    // open; without it, the robot tries at step 3 and fails.
    assert!(t.contains("the runs part at decision"), "{t}");
    assert!(t.contains("step 3"), "{t}");
    assert!(t.contains(">>"), "{t}");
    assert!(t.contains("only one run has verdict decisions"), "{t}");
}

#[test]
fn diff_marks_the_first_divergence_and_accepts_identical_logs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = kitchen("task-07-p2-fridge-left-open.yaml");
    let a = record(&scenario, &dir.path().join("a"), &[]);
    let b = record(&scenario, &dir.path().join("b"), &["--critic", "off"]);
    let c = record(&scenario, &dir.path().join("c"), &[]);
    let out = clea(&["diff", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("identical: "));
    let out = clea(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(
        t.contains(">>") && t.contains("first divergence at decision"),
        "{t}"
    );
    assert!(
        t.contains("open(robot_1, refrigerator) -> failed: refrigerator is already open"),
        "{t}"
    );
}

#[test]
fn truncated_logs_open_replay_and_diff_up_to_the_last_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let log = record(
        &kitchen("task-10-find-roast-apple-hamburger.yaml"),
        dir.path(),
        &[],
    );
    let bytes = std::fs::read(&log).unwrap();
    // Cut the file in its data section, as a killed writer leaves it.
    let cut = dir.path().join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let full = clea_bus::record::read_log(&log).unwrap();
    let part = clea_bus::record::read_log(&cut).unwrap();
    assert!(!full.truncated && part.truncated);
    assert!(!part.messages.is_empty() && part.messages.len() < full.messages.len());
    assert_eq!(
        part.messages[..],
        full.messages[..part.messages.len()],
        "a prefix, intact"
    );
    let out = clea(&["replay", cut.to_str().unwrap(), "--max-rate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("was cut short"), "{}", text(&out));
    let out = clea(&["diff", log.to_str().unwrap(), cut.to_str().unwrap()]);
    let t = text(&out);
    assert!(t.contains("was cut short"), "{t}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the cut log has fewer decisions: {t}"
    );
    // Re-running the cut log compares up to the cut, says so, and leaves no temporary folder.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clea"))
        .args(["rerun", cut.to_str().unwrap()])
        .current_dir(root())
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("was cut short"), "{t}");
    assert!(t.contains("identical up to the cut"), "{t}");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the re-run left its temporary folder behind"
    );
}

/// A kitchen scenario whose skills take `duration` s, so the log has real spacing.
fn slow_scenario(dir: &Path, duration: f64) -> PathBuf {
    let src = std::fs::read_to_string(kitchen("task-08-find-roast-apple.yaml")).unwrap();
    let world = root().join("sim/worlds/clea-kitchen.yaml");
    let text = src
        .replace(
            "world_file: ../../worlds/clea-kitchen.yaml",
            &format!("world_file: {}", world.display()),
        )
        .replace("seed: 0", &format!("seed: 0\nskill_duration_s: {duration}"));
    let p = dir.join("slow.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Replay into this process over TCP; returns (topic, arrival offset s) in arrival order.
async fn receive_replay(log: &Path, extra: &[&str]) -> Vec<(String, f64)> {
    let port = free_port();
    let bus = Bus::open(&BusConfig {
        namespace: "replaytest".into(),
        listen: vec![format!("tcp/127.0.0.1:{port}")],
        ..Default::default()
    })
    .await
    .unwrap();
    let sub = bus.session.declare_subscriber("clea/**").await.unwrap();
    let mut args = vec![
        "replay".to_string(),
        log.display().to_string(),
        "--connect".into(),
        format!("tcp/127.0.0.1:{port}"),
        "--wait-for-peer".into(),
        "10".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_clea"))
        .args(&args)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut t0: Option<Instant> = None;
    loop {
        tokio::select! {
            s = sub.recv_async() => {
                let s = s.unwrap();
                let now = Instant::now();
                let t = *t0.get_or_insert(now);
                got.push((s.key_expr().as_str().to_string(), (now - t).as_secs_f64()));
            }
            status = child.wait() => {
                assert!(status.unwrap().success());
                // Drain what arrived with the last packets.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while let Ok(Some(s)) = sub.try_recv() {
                    let t = t0.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    got.push((s.key_expr().as_str().to_string(), t));
                }
                return got;
            }
        }
    }
}

/// Spacing is kept within 50 ms of the recorded spacing at --rate 1 (plus a 10% scale margin),
/// order always; --topics filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_keeps_timing_and_order_and_filters_topics() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = slow_scenario(dir.path(), 0.1);
    let log = record(scenario.to_str().unwrap(), &dir.path().join("log"), &[]);
    let recorded = clea_bus::record::read_log(&log).unwrap();
    let first = recorded.messages[0].log_time;
    let span = (recorded.messages.last().unwrap().log_time - first) as f64 / 1e9;
    assert!(span > 1.0, "the slow scenario spans {span} s");

    let got = tokio::time::timeout(
        Duration::from_secs(60),
        receive_replay(&log, &["--rate", "1"]),
    )
    .await
    .unwrap();
    let topics: Vec<&str> = recorded.messages.iter().map(|m| m.topic.as_str()).collect();
    let arrived: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(arrived, topics, "every message, in log order");
    for (m, (_, at)) in recorded.messages.iter().zip(&got) {
        let want = (m.log_time - first) as f64 / 1e9;
        assert!(
            (at - want).abs() <= 0.05 + 0.1 * want,
            "{}: at {at:.3} s, recorded {want:.3} s",
            m.topic
        );
    }

    let fast = tokio::time::timeout(
        Duration::from_secs(60),
        receive_replay(&log, &["--rate", "4", "--topics", "clea/*/action"]),
    )
    .await
    .unwrap();
    let actions = recorded
        .messages
        .iter()
        .filter(|m| m.topic.ends_with("/action"))
        .count();
    assert_eq!(fast.len(), actions);
    assert!(fast.iter().all(|(t, _)| t.ends_with("/action")));
    let last = fast.last().unwrap().1;
    assert!(
        last < span / 4.0 + 0.2,
        "rate 4 plays {span} s in about {} s, took {last}",
        span / 4.0
    );
}

/// `--namespace` moves every recorded topic under `clea/<namespace>/`; a bad one is bad input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_into_another_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let log = record(&kitchen("task-08-find-roast-apple.yaml"), dir.path(), &[]);
    let recorded = clea_bus::record::read_log(&log).unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(60),
        receive_replay(&log, &["--max-rate", "--namespace", "live"]),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), recorded.messages.len());
    for (m, (t, _)) in recorded.messages.iter().zip(&got) {
        // Recorded as clea/<ns>-ep0/<rest>; played as clea/live/<rest>.
        let rest = m.topic.splitn(3, '/').nth(2).unwrap();
        assert_eq!(t, &format!("clea/live/{rest}"));
    }
    let out = clea(&["replay", log.to_str().unwrap(), "--namespace", "a/b"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--namespace \"a/b\""), "{}", text(&out));
}

#[test]
fn unreadable_logs_are_bad_input_and_logs_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = kitchen("task-01-find-tea-hamburger.yaml");
    let good = record(&scenario, &dir.path().join("a"), &[]);
    // Recording again into the same folder keeps the first log.
    let out = clea(&[
        "sim",
        &scenario,
        "--log-dir",
        dir.path().join("a").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_dir(dir.path().join("a")).unwrap().count(), 2);
    let empty = dir.path().join("empty.mcap");
    std::fs::write(&empty, b"").unwrap();
    let yaml = dir.path().join("yaml.mcap");
    std::fs::write(&yaml, std::fs::read(&scenario).unwrap()).unwrap();
    for bad in [&empty, &yaml] {
        for args in [
            vec!["diff", bad.to_str().unwrap(), good.to_str().unwrap()],
            vec!["replay", bad.to_str().unwrap(), "--max-rate"],
            vec!["rerun", bad.to_str().unwrap()],
        ] {
            let out = clea(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
            assert!(text(&out).contains("not an MCAP file"), "{}", text(&out));
        }
    }
    for (flag, value) in [("--rate", "1e-300"), ("--wait-for-peer", "1e308")] {
        let out = clea(&["replay", good.to_str().unwrap(), flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out));
        assert!(text(&out).contains(flag));
    }
    let plan_log = record(&scenario, &dir.path().join("plan"), &["--reference-plan"]);
    let out = clea(&["rerun", plan_log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("fixed action list"), "{}", text(&out));
}

/// A launch file's `agent:` settings reach the episode (`clea sim --agent`), a flag wins over
/// them, the log records them as resolved, and `clea rerun` uses the recorded ones: with the
/// 30 s default it would let the 0.6 s skills finish and the runs would part.
#[test]
fn launch_file_settings_are_honoured_recorded_and_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = slow_scenario(dir.path(), 0.6);
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        "actors: [observer, memory, planner, critic, executor]\nagent: { skill_timeout_s: 0.2 }\n",
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let log = record(
        scenario.to_str().unwrap(),
        &logs,
        &["--agent", agent.to_str().unwrap()],
    );
    let meta = clea_bus::record::read_log(&log).unwrap().metadata;
    assert_eq!(meta["skill_timeout_s"], "0.2");
    let limits: Value = serde_json::from_str(&meta["limits"]).unwrap();
    assert_eq!(limits["max_repeated_failures"], 3);
    let report = clea(&[
        "sim",
        scenario.to_str().unwrap(),
        "--agent",
        agent.to_str().unwrap(),
        "--json",
    ]);
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    let ep = &r["episodes"][0];
    assert_eq!(ep["success"], false, "{ep}");
    assert!(ep["reason"].as_str().unwrap().contains("timed out"), "{ep}");
    let out = clea(&["rerun", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("identical"), "{}", text(&out));
    // --skill-timeout wins over the file.
    let out = clea(&[
        "sim",
        scenario.to_str().unwrap(),
        "--agent",
        agent.to_str().unwrap(),
        "--skill-timeout",
        "20",
        "--json",
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["episodes"][0]["success"], true, "{}", text(&out));
}

/// `agent.limits` bounds the controller: one plan is too few for a seven-action task (plans
/// hold at most five actions).
#[test]
fn launch_file_limits_bound_the_controller() {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        "actors: [observer, memory, planner, critic, executor]\nagent: { limits: { max_plans: 1 } }\n",
    )
    .unwrap();
    let task = kitchen("task-07-p2-fridge-left-open.yaml");
    let out = clea(&["sim", &task, "--agent", agent.to_str().unwrap(), "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ep = &r["episodes"][0];
    assert_eq!(ep["success"], false, "{ep}");
    assert_eq!(ep["reason"], "plan budget of 1 used up", "{ep}");
    // The same task passes with the default limits.
    let out = clea(&["sim", &task, "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["episodes"][0]["success"], true);
    // Zero is refused at load, naming the field.
    std::fs::write(
        &agent,
        "actors: [planner]\nagent: { limits: { max_invalid_plans: 0 } }\n",
    )
    .unwrap();
    let out = clea(&["sim", &task, "--agent", agent.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("agent.limits.max_invalid_plans: must be at least 1"),
        "{}",
        text(&out)
    );
}
