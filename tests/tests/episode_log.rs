//! Episode logs (MCAP) written by `clea sim --log-dir`, read back with the official Python
//! `mcap` reader (`tests/scripts/read_mcap.py`, run with `$CLEA_PYTHON`, else
//! `<workspace>/.venv/bin/python`; without either the tests fail and say how to get one).
//!
//! A finished log has one channel per key with its JSON Schema, the `clea.episode` metadata, the
//! scenario as an attachment, and a summary and footer; a log whose writer was killed
//! mid-episode still streams up to its last complete chunk.

use clea_tests::e2e::{self, derived_scenario, kitchen, read_mcap, run_clea, single_episode, Proc};
use clea_tests::unique_namespace;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Bound of one `clea sim` of one episode.
const EPISODE: Duration = Duration::from_secs(60);

fn count(log: &Value, topic: &str) -> u64 {
    log["counts"][topic].as_u64().unwrap_or(0)
}

/// (5) A finished log, read by the official reader (indexed, and a streaming pass to cross-check).
#[test]
fn episode_log_reads_back_with_the_official_reader() {
    clea_tests::python(); // fail first, and clearly, without a Python that has `mcap`
    let dir = tempfile::tempdir().unwrap();
    let ns = unique_namespace("log");
    let scenario = kitchen("task-08-find-roast-apple");
    let f = run_clea(
        [
            "sim",
            scenario.to_str().unwrap(),
            "--json",
            "--log-dir",
            dir.path().to_str().unwrap(),
            "--namespace",
            &ns,
        ],
        EPISODE,
    );
    f.assert_no_panic();
    let e = single_episode(&f.json());
    assert_eq!(e["success"], true, "{e}");
    let file = dir.path().join("task-08-find-roast-apple-seed0.mcap");
    assert!(file.is_file(), "{} missing", file.display());
    let t0 = Instant::now();
    let log = read_mcap(&file, false);
    eprintln!(
        "episode log: clea sim took {:.2?}, the reader {:.2?}, {} bytes",
        f.elapsed,
        t0.elapsed(),
        std::fs::metadata(&file).unwrap().len()
    );
    assert!(log["error"].is_null(), "{log}");
    assert_eq!(log["summary_present"], true, "{log}");
    assert_eq!(log["footer_present"], true, "{log}");
    assert_eq!(log["header"]["profile"], "clea", "{log}");
    assert!(
        log["bad_payloads"].as_array().unwrap().is_empty(),
        "payloads that are not JSON: {log}"
    );
    let messages = log["messages"].as_u64().unwrap();
    assert!(messages > 0, "{log}");
    assert_eq!(
        log["stream_messages"], messages,
        "both passes read the same"
    );
    let per_topic: u64 = log["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_topic, messages);

    // The in-process episode runs in namespace `<namespace>-ep<index>`.
    let prefix = format!("clea/{ns}-ep0/");
    let channels = log["channels"].as_array().unwrap();
    for c in channels {
        assert!(
            c["topic"].as_str().unwrap().starts_with(&prefix),
            "channel outside the episode's namespace: {c}"
        );
        assert_eq!(c["message_encoding"], "json", "{c}");
        assert_eq!(c["schema_encoding"], "jsonschema", "{c}");
        assert_eq!(c["schema_is_json_object"], true, "schema is not JSON: {c}");
    }
    for (key, schema) in [
        ("observation", "clea.Observation"),
        ("belief", "clea.Belief"),
        ("plan", "clea.Plan"),
        ("verdict", "clea.Verdict"),
        ("action", "clea.ActionRecord"),
        ("episode/transition", "clea.Transition"),
        ("episode/event", "clea.EpisodeEvent"),
        ("robot/robot_1/observation", "clea.RobotObservation"),
    ] {
        let topic = format!("{prefix}{key}");
        let c = channels
            .iter()
            .find(|c| c["topic"] == topic.as_str())
            .unwrap_or_else(|| panic!("no channel {topic} in {log}"));
        assert_eq!(c["schema_name"], schema, "{c}");
        assert!(count(&log, &topic) > 0, "no message on {topic}");
    }
    let action = format!("{prefix}action");
    assert_eq!(
        count(&log, &action),
        e["steps"].as_u64().unwrap(),
        "one action record per step"
    );
    let failed = log["action_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| *o != "succeeded")
        .count() as u64;
    assert_eq!(failed, e["skill_failures"].as_u64().unwrap(), "{log}");

    let meta = log["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "clea.episode")
        .unwrap_or_else(|| panic!("no clea.episode metadata in {log}"));
    assert_eq!(meta["metadata"]["scenario"], "task-08-find-roast-apple");
    assert_eq!(meta["metadata"]["seed"], "0");
    let attachments = log["attachments"].as_array().unwrap();
    assert!(
        attachments.iter().any(|a| a == "scenario.yaml"),
        "no scenario.yaml attachment: {log}"
    );
}

/// (6) `clea sim` is killed (SIGKILL) mid-episode while it writes the log: the file has no
/// footer, and the streaming reader still reads every complete chunk (with at least one action
/// record) and reports the truncation instead of crashing.
#[test]
fn a_log_whose_writer_was_killed_streams_up_to_its_last_chunk() {
    clea_tests::python(); // fail first, and clearly, without a Python that has `mcap`
    let dir = tempfile::tempdir().unwrap();
    // Task 10 takes 25 steps of 0.25 s each: about 6 s, killed after the first complete chunk.
    let scenario = derived_scenario(
        dir.path(),
        "task-10-find-roast-apple-hamburger",
        "killed-writer",
        "skill_duration_s: 0.25\nbudgets: { max_steps: 50, max_wall_time_s: 30 }",
    );
    let logs = dir.path().join("logs");
    let file = logs.join("killed-writer-seed0.mcap");
    let ns = unique_namespace("killed_writer");
    let cmd = e2e::clea([
        "sim",
        scenario.to_str().unwrap(),
        "--log-dir",
        logs.to_str().unwrap(),
        "--namespace",
        &ns,
    ]);
    let mut sim = Proc::spawn(&format!("{cmd:?}"), cmd);
    // Poll: the header, metadata and attachment are written first (about 2 KB); then wait until
    // the streaming reader sees a complete chunk with an action record (chunks close at least
    // every second).
    let mut last = Value::Null;
    let ready = e2e::poll(Duration::from_secs(30), Duration::from_millis(200), || {
        if sim.try_status().is_some() {
            return true;
        }
        if std::fs::metadata(&file).map_or(0, |m| m.len()) <= 2048 {
            return false;
        }
        last = read_mcap(&file, true);
        count(&last, &format!("clea/{ns}-ep0/action")) > 0
    });
    assert!(
        ready,
        "no complete chunk with an action after 30 s; last read: {last}\n{}",
        sim.stderr_so_far()
    );
    assert!(
        sim.try_status().is_none(),
        "the episode ended before the kill (make the fixture longer); stderr:\n{}",
        sim.stderr_so_far()
    );
    let killed_after = sim.elapsed();
    let size_at_kill = std::fs::metadata(&file).unwrap().len();
    sim.kill();
    let f = sim.finish(Duration::from_secs(5));
    assert!(f.code().is_none(), "killed by SIGKILL: {:?}", f.status);

    let log = read_mcap(&file, true);
    eprintln!(
        "killed writer: killed after {killed_after:.2?} at {size_at_kill} bytes; read back {} \
         messages ({} actions); reader error: {}",
        log["messages"],
        count(&log, &format!("clea/{ns}-ep0/action")),
        log["error"]
    );
    assert_eq!(log["footer_present"], false, "{log}");
    assert_eq!(log["truncated"], true, "{log}");
    assert!(
        log["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the truncation is not reported: {log}"
    );
    assert!(log["messages"].as_u64().unwrap() > 0, "{log}");
    assert!(count(&log, &format!("clea/{ns}-ep0/action")) >= 1, "{log}");
    assert!(log["bad_payloads"].as_array().unwrap().is_empty(), "{log}");
    assert_eq!(log["header"]["profile"], "clea", "{log}");
    assert!(
        log["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "clea.episode" && m["metadata"]["scenario"] == "killed-writer"),
        "{log}"
    );
    assert!(
        log["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "scenario.yaml"),
        "{log}"
    );
    // The indexed reader cannot use the missing footer; the script reports that, too.
    let indexed = read_mcap(&file, false);
    assert_eq!(indexed["footer_present"], false, "{indexed}");
}
