//! The `clea` binary as a user runs it: exit codes, the JSON report, the open-loop baseline.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

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

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn help_exists_for_every_command() {
    for args in [&["--help"][..], &["sim", "--help"]] {
        let out = clea(args);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn reference_plans_solve_every_unperturbed_task_and_perturbations_break_them() {
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen",
        "--reference-plan",
        "--json",
    ]);
    let report = json(&out);
    let episodes = report["episodes"].as_array().unwrap();
    // Perturbed variants are named `task-NN-pK-...`.
    let is_perturbed = |name: &str| {
        name.split('-').any(|c| {
            c.len() == 2 && c.starts_with('p') && c[1..].chars().all(|d| d.is_ascii_digit())
        })
    };
    let base: Vec<&Value> = episodes
        .iter()
        .filter(|e| !is_perturbed(e["scenario"].as_str().unwrap()))
        .collect();
    assert_eq!(base.len(), 12);
    for e in &base {
        assert_eq!(e["success"], true, "{e}");
        assert_eq!(e["score"], 1.0);
    }
    let broken: Vec<&Value> = episodes
        .iter()
        .filter(|e| is_perturbed(e["scenario"].as_str().unwrap()) && e["success"] == false)
        .collect();
    assert!(
        broken.len() >= 6,
        "most perturbed variants break the open-loop plan"
    );
    for e in broken {
        let reason = e["reason"].as_str().unwrap();
        assert!(
            reason.contains("failed") || reason.contains("goals unmet"),
            "{e}"
        );
        assert!(e["perturbations"].as_u64().unwrap() >= 1);
    }
    let sr = report["summary"]["success_rate"].as_f64().unwrap();
    let ok = episodes.iter().filter(|e| e["success"] == true).count() as f64;
    assert!((sr - ok / episodes.len() as f64).abs() < 1e-9);
    assert!(report["summary"]["score"].as_f64().unwrap() > sr);
}

#[test]
fn a_plan_file_runs_open_loop_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "- go_to(robot_1, in_front_of_sink)\n- pick_from(robot_1, orange, table)\n",
    )
    .unwrap();
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-06-orange-to-sink-pills-to-trash.yaml",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("robot_1 cannot reach table from in_front_of_sink"),
        "{table}"
    );
    assert!(table.contains("success rate 0.000 (0/1)"), "{table}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: x\nfoo: 1\n").unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, "- go_to(robot_2, in_front_of_sink)\n").unwrap();
    let kitchen = "sim/scenarios/clea-kitchen/task-08-find-roast-apple.yaml";
    for (args, want) in [
        (
            vec!["sim", bad.to_str().unwrap(), "--reference-plan"],
            "unknown field `foo`",
        ),
        (
            vec!["sim", "/nonexistent.yaml", "--reference-plan"],
            "/nonexistent.yaml: file:",
        ),
        (
            vec!["sim", kitchen, "--plan", plan.to_str().unwrap()],
            "plan.yaml: [0]: go_to: robot_2 lacks a mobile base",
        ),
    ] {
        let out = clea(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("clea:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(want), "{err}");
    }
    let out = clea(&["sim", kitchen, "--plan", "x", "--reference-plan"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2 too");
}

#[test]
fn seed_is_reported() {
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
        "--reference-plan",
        "--json",
        "--seed",
        "42",
    ]);
    assert_eq!(json(&out)["episodes"][0]["seed"], 42);
}
