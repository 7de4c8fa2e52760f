//! `clea sim --planner-errors`: the errors of language-model planners injected into the search
//! planner's plans show what the critic and the closed loop buy, on the whole kitchen suite.

use clea_tests::e2e::run_clea;
use clea_tests::unique_namespace;
use serde_json::Value;
use std::time::Duration;

fn suite(mode: &[&str], rate: &str, test: &str) -> Value {
    let ns = unique_namespace(test);
    let mut args = vec![
        "sim",
        "sim/scenarios/clea-kitchen",
        "--json",
        "--namespace",
        &ns,
        "--planner-errors",
        rate,
    ];
    args.extend_from_slice(mode);
    let f = run_clea(args, Duration::from_secs(300));
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    f.json()
}

fn success(report: &Value) -> f64 {
    report["summary"]["success_rate"]
        .as_f64()
        .expect("success_rate")
}

#[test]
fn with_one_plan_in_five_wrong_the_full_loop_beats_critic_off_beats_open_loop() {
    let full = suite(&[], "0.2", "pe-full");
    let no_critic = suite(&["--critic", "off"], "0.2", "pe-nocritic");
    let open = suite(&["--open-loop"], "0.2", "pe-open");
    let (f, c, o) = (success(&full), success(&no_critic), success(&open));
    assert!(f >= 0.9, "full loop: {f}");
    assert!(f > c && c > o, "full {f}, critic off {c}, open loop {o}");
    // The errors were there and were caught: calls refused by validation against the pool, and
    // by the critic on the belief.
    let s = &full["summary"];
    assert!(s["invalid_calls"].as_u64().unwrap() > 0, "{s}");
    assert!(s["critic_rejections"].as_u64().unwrap() > 0, "{s}");
}

#[test]
fn the_same_seed_gives_the_same_errors_and_a_rate_outside_0_1_is_refused() {
    let strip = |r: &Value| -> Vec<Value> {
        r["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("wall_time_s");
                e
            })
            .collect()
    };
    let a = suite(&[], "0.5", "pe-seed-a");
    let b = suite(&[], "0.5", "pe-seed-b");
    assert_eq!(strip(&a), strip(&b));
    let f = run_clea(
        [
            "sim",
            "sim/scenarios/clea-kitchen",
            "--planner-errors",
            "1.5",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(f.code(), Some(2), "{}", f.describe());
    assert!(f.stderr.contains("--planner-errors: 1.5"), "{}", f.stderr);
}

#[test]
fn an_episode_with_planner_errors_reruns_identically_from_its_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    let ns = unique_namespace("pe-rerun");
    let f = run_clea(
        [
            "sim",
            "sim/scenarios/clea-kitchen/task-08-find-roast-apple.yaml",
            "--planner-errors",
            "0.3",
            "--planner-errors-seed",
            "5",
            "--namespace",
            &ns,
            "--log-dir",
            logs.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    let log = logs.join("task-08-find-roast-apple-seed0.mcap");
    let meta = clea_tests::e2e::read_mcap(&log, false)["metadata"][0]["metadata"].clone();
    assert_eq!(meta["planner_errors"], "0.3", "{meta}");
    let f = run_clea(["rerun", log.to_str().unwrap()], Duration::from_secs(120));
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    assert!(f.stdout.contains("identical"), "{}", f.describe());
}
