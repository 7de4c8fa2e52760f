//! The closed CLEA loop through the `clea` binary, as a user runs it: the kitchen suite with
//! and without the critic and open-loop, the critic ablation on one perturbed task, faults
//! (a skill that times out, a goal object that disappears, a skill server that dies mid-episode)
//! and the agent and the simulator in two processes.
//!
//! Every command runs as a child process with a time limit (killed when it passes: a hang fails
//! the test instead of the suite), in its own namespace, with its own temp dir and, where it
//! listens, its own free port. Waits are for a line or a condition, never a blind sleep.

use clea_bus::{Bus, BusConfig, SkillPart};
use clea_tests::e2e::{
    self, check_report, derived_scenario, is_perturbed, kitchen, read_mcap, run_clea,
    single_episode, Proc, Served,
};
use clea_tests::{unique_namespace, workspace_root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bound of one `clea sim` over the whole suite (about 1 s on an idle 2-core machine).
const SUITE: Duration = Duration::from_secs(120);
/// Bound of one command that runs one episode, faults included: past it, it hangs.
const EPISODE: Duration = Duration::from_secs(60);
/// Bound for a process to get ready (bus open, robots served).
const SETUP: Duration = Duration::from_secs(30);

fn suite(extra: &[&str], test: &str) -> Vec<Value> {
    let ns = unique_namespace(test);
    let mut args = vec!["sim", e2e::KITCHEN, "--json", "--namespace", &ns];
    args.extend_from_slice(extra);
    let f = run_clea(&args, SUITE);
    f.assert_no_panic();
    eprintln!("{test}: clea {args:?} took {:.2?}", f.elapsed);
    let episodes = check_report(&f.json());
    let files = std::fs::read_dir(workspace_root().join(e2e::KITCHEN))
        .unwrap()
        .filter(|d| {
            d.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert_eq!(episodes.len(), files, "one episode per scenario file");
    episodes
}

fn success_rate(episodes: &[Value]) -> f64 {
    episodes.iter().filter(|e| e["success"] == true).count() as f64 / episodes.len() as f64
}

fn name(e: &Value) -> &str {
    e["scenario"].as_str().unwrap()
}

/// (1) The full loop solves every unperturbed kitchen task, and at least 90 % of the suite.
#[test]
fn full_loop_solves_every_unperturbed_kitchen_task() {
    let episodes = suite(&[], "full_loop");
    let base: Vec<&Value> = episodes.iter().filter(|e| !is_perturbed(name(e))).collect();
    assert!(base.len() >= 12, "the paper's 12 tasks: {}", base.len());
    for e in &base {
        assert_eq!(e["success"], true, "unperturbed task lost: {e}");
    }
    let sr = success_rate(&episodes);
    assert!(sr >= 0.9, "full-loop success rate {sr} < 0.9");
}

/// (1) `--critic off` runs the suite and reports: no critic, so no critic rejections; the
/// unperturbed tasks need no critic.
#[test]
fn critic_off_runs_the_suite_and_reports() {
    let episodes = suite(&["--critic", "off"], "critic_off");
    for e in &episodes {
        assert_eq!(
            e["critic_rejections"], 0,
            "critic off, yet a rejection: {e}"
        );
        if !is_perturbed(name(e)) {
            assert_eq!(e["success"], true, "unperturbed task lost: {e}");
        }
    }
}

/// (1) `--open-loop` runs the suite and reports: it never replans, and it is worse than the
/// closed loop; every lost episode says why.
#[test]
fn open_loop_is_worse_than_the_closed_loop() {
    let open = suite(&["--open-loop"], "open_loop");
    let closed = suite(&[], "open_loop_closed");
    for e in &open {
        assert_eq!(e["replans"], 0, "open loop replanned: {e}");
        assert_eq!(e["critic_rejections"], 0, "open loop used the critic: {e}");
        if e["success"] == false {
            assert!(!e["reason"].as_str().unwrap().trim().is_empty(), "{e}");
        }
    }
    let (so, sc) = (success_rate(&open), success_rate(&closed));
    assert!(
        so < sc,
        "open-loop success rate {so} is not below the closed loop's {sc}"
    );
}

/// (2) On task-07-p2 a person opens the refrigerator as robot_1 arrives: with the critic, the
/// stale `open(robot_1, refrigerator)` is rejected before it runs; without, it fails at the robot.
#[test]
fn critic_ablation_shows_on_the_fridge_left_open() {
    let file = kitchen("task-07-p2-fridge-left-open");
    let ns = unique_namespace("critic_ablation");
    let run = |critic: &str| {
        let f = run_clea(
            [
                "sim",
                file.to_str().unwrap(),
                "--json",
                "--critic",
                critic,
                "--namespace",
                &ns,
            ],
            EPISODE,
        );
        f.assert_no_panic();
        single_episode(&f.json())
    };
    let on = run("on");
    assert_eq!(on["success"], true, "{on}");
    assert!(on["critic_rejections"].as_u64().unwrap() >= 1, "{on}");
    assert_eq!(on["skill_failures"], 0, "{on}");
    let off = run("off");
    assert_eq!(off["success"], true, "{off}");
    assert!(off["skill_failures"].as_u64().unwrap() >= 1, "{off}");
    assert_eq!(off["critic_rejections"], 0, "{off}");
}

/// (3a) Every skill takes 2 s but may take 0.3 s: the executor cancels each one, the episode
/// fails cleanly once the same call timed out `max_repeated_failures` times in a row (before
/// its step budget), with every action recorded as timed out, in far less than the 2 s per skill
/// an uncancelled run would take.
#[test]
fn a_skill_that_times_out_fails_the_episode_cleanly() {
    clea_tests::python(); // the episode log is read back with the Python `mcap` reader
    let dir = tempfile::tempdir().unwrap();
    let max_steps = 4;
    let skill_s = 2.0;
    let scenario = derived_scenario(
        dir.path(),
        "task-08-find-roast-apple",
        "fault-skill-timeout",
        &format!(
            "skill_duration_s: {skill_s}\nbudgets: {{ max_steps: {max_steps}, max_wall_time_s: 30 }}"
        ),
    );
    let logs = dir.path().join("logs");
    let ns = unique_namespace("skill_timeout");
    let f = run_clea(
        [
            "sim",
            scenario.to_str().unwrap(),
            "--skill-timeout",
            "0.3",
            "--json",
            "--log-dir",
            logs.to_str().unwrap(),
            "--namespace",
            &ns,
        ],
        EPISODE,
    );
    f.assert_no_panic();
    let e = single_episode(&f.json());
    eprintln!("skill timeout: {:.2?}, {e}", f.elapsed);
    assert_eq!(e["success"], false, "{e}");
    let steps = e["steps"].as_u64().unwrap();
    assert!(e["skill_failures"].as_u64().unwrap() >= 1, "{e}");
    let reason = e["reason"].as_str().unwrap();
    let repeats = clea_agent::controller::ControllerConfig::default()
        .limits
        .max_repeated_failures;
    assert!(u64::from(repeats) < max_steps, "make max_steps larger");
    assert_eq!(steps, u64::from(repeats), "{e}");
    assert!(
        reason.contains(&format!(
            "failed {repeats} times in a row (last: timed out)"
        )),
        "expected the repeated timeouts to end it, with the reason: {e}"
    );
    let wall = e["wall_time_s"].as_f64().unwrap();
    assert!(
        wall < 0.75 * skill_s * steps as f64,
        "{steps} skills took {wall} s: were they cancelled at 0.3 s?"
    );
    let log = read_mcap(&logs.join("fault-skill-timeout-seed0.mcap"), false);
    let outcomes = log["action_outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len() as u64, steps, "{log}");
    for o in outcomes {
        assert_eq!(o, "timed_out", "every skill should time out: {log}");
    }
}

/// (3b) The apple is taken away before the first step: the plan cannot succeed; the episode ends
/// in a clean failure with a reason, within the bound: the planner says the apple is nowhere to
/// be found after two sweeps of every receptacle, long before the step budget.
#[test]
fn a_goal_object_removed_at_step_0_ends_in_a_clean_failure() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = derived_scenario(
        dir.path(),
        "task-08-find-roast-apple",
        "fault-apple-removed",
        "perturbations:\n  - at_step: 0\n    do: { remove_object: { object: apple } }",
    );
    let ns = unique_namespace("object_removed");
    let f = run_clea(
        [
            "sim",
            scenario.to_str().unwrap(),
            "--json",
            "--namespace",
            &ns,
        ],
        EPISODE,
    );
    f.assert_no_panic();
    let e = single_episode(&f.json());
    eprintln!("apple removed: {:.2?}, {e}", f.elapsed);
    assert_eq!(e["success"], false, "{e}");
    assert!(e["perturbations"].as_u64().unwrap() >= 1, "{e}");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.contains("apple is nowhere to be found")
            && reason.contains("looked into 2 times without seeing it"),
        "{e}"
    );
    let (steps, budget) = (e["steps"].as_u64().unwrap(), 50);
    assert!(steps < budget / 2, "gave up only after {steps} steps: {e}");
    let unmet: Vec<&str> = e["goals_unmet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(unmet.contains(&"on(apple, table)"), "{e}");
}

/// A launch file for `clea run` in `dir`: all five actors, one episode against the simulator
/// served at `endpoint` in namespace `ns`.
fn launch_file(
    dir: &Path,
    endpoint: &str,
    ns: &str,
    log_dir: &Path,
    skill_timeout_s: f64,
) -> PathBuf {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let text = format!(
        "bus: {{ namespace: {ns}, connect: [{endpoint}] }}\n\
         actors: [observer, memory, planner, critic, executor]\n\
         controller: {{ critic: on, open_loop: false, episodes: 1, log_dir: {log_dir} }}\n\
         agent: {{ history: 16, skill_timeout_s: {skill_timeout_s}, module_timeout_s: 30, wait_for_robots_s: 10 }}\n",
        ns = q(ns),
        endpoint = q(endpoint),
        log_dir = q(log_dir.to_str().unwrap()),
    );
    let path = dir.join("launch.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (4) The agent (`clea run`) and the simulated kitchen (`clea sim --serve`) in two processes
/// over zenoh TCP: the episode succeeds and its log is named after the scenario and seed.
#[test]
fn agent_and_sim_in_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let ns = unique_namespace("two_proc");
    let t0 = Instant::now();
    let served = Served::start(&kitchen("task-08-find-roast-apple"), &ns, SETUP);
    let ready = t0.elapsed();
    let logs = dir.path().join("logs");
    let launch = launch_file(dir.path(), &served.endpoint(), &ns, &logs, 30.0);
    let f = run_clea(["run", launch.to_str().unwrap(), "--json"], EPISODE);
    f.assert_no_panic();
    let e = single_episode(&f.json());
    eprintln!(
        "two processes: serve ready after {ready:.2?}, run took {:.2?}",
        f.elapsed
    );
    assert_eq!(e["scenario"], "task-08-find-roast-apple", "{e}");
    assert_eq!(e["success"], true, "{e}");
    let log = logs.join("task-08-find-roast-apple-seed0.mcap");
    assert!(log.is_file(), "{} missing", log.display());
    let left: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|d| d.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "unfinished logs left: {left:?}");
    drop(served);
}

/// (3c) The simulator process is killed (SIGKILL) while the agent in another process waits on
/// one of its skills: `clea run` must end on its own, cleanly (no panic), either with an error
/// exit and a message about the missing simulator/server, or with a failed episode whose
/// reason says so.
#[test]
fn a_skill_server_that_dies_mid_episode_ends_the_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = derived_scenario(
        dir.path(),
        "task-08-find-roast-apple",
        "fault-server-dies",
        "skill_duration_s: 0.5",
    );
    let ns = unique_namespace("server_dies");
    let mut served = Served::start(&scenario, &ns, SETUP);
    // Watch the skills' feedback from this process, to kill the simulator while a skill runs.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = BusConfig {
        namespace: ns.clone(),
        connect: vec![served.endpoint()],
        ..BusConfig::default()
    };
    let (bus, feedback) = rt.block_on(async {
        let bus = tokio::time::timeout(SETUP, Bus::open(&config))
            .await
            .expect("test bus opens in time")
            .expect("test bus opens");
        let key = bus.keys.skill("*", "*", SkillPart::Feedback);
        let sub = bus.subscribe::<Value>(&key).await.expect("subscribe");
        (bus, sub)
    });
    let launch = launch_file(
        dir.path(),
        &served.endpoint(),
        &ns,
        &dir.path().join("logs"),
        10.0,
    );
    let mut run = {
        let cmd = e2e::clea(["run", launch.to_str().unwrap(), "--json"]);
        Proc::spawn(&format!("{cmd:?}"), cmd)
    };
    let fb = rt.block_on(async { tokio::time::timeout(SETUP, feedback.recv()).await });
    let (key, fb) = match fb {
        Ok(Some(m)) => m,
        other => panic!(
            "no skill feedback within {SETUP:?} ({other:?}); run stderr:\n{}",
            run.stderr_so_far()
        ),
    };
    assert!(
        run.try_status().is_none(),
        "clea run ended before the kill: {}",
        run.stderr_so_far()
    );
    let started = run.elapsed();
    served.proc.kill();
    let killed_at = run.elapsed();
    eprintln!("server dies: skill in flight ({key}: {fb}) after {started:.2?}; simulator killed");
    drop(feedback);
    rt.block_on(async { drop(bus) });
    let f = run.finish(EPISODE);
    eprintln!(
        "server dies: clea run ended {:.2?} after the kill\n{}",
        f.elapsed.saturating_sub(killed_at),
        f.describe()
    );
    assert!(
        !f.timed_out(),
        "clea run hangs after its simulator died\n{}",
        f.describe()
    );
    f.assert_no_panic();
    let mentions_server = |s: &str| {
        let s = s.to_lowercase();
        ["no reply", "no answer", "server", "simulator"]
            .iter()
            .any(|w| s.contains(w))
    };
    if f.code() == Some(0) {
        let e = single_episode(&f.json());
        assert_eq!(e["success"], false, "{e}");
        assert!(mentions_server(e["reason"].as_str().unwrap()), "{e}");
    } else {
        assert!(f.code().is_some(), "killed by a signal\n{}", f.describe());
        let line = f
            .stderr
            .lines()
            .find(|l| l.starts_with("clea:"))
            .unwrap_or_else(|| panic!("an error exit without a `clea:` line\n{}", f.describe()));
        assert!(
            mentions_server(line),
            "the error does not say what went missing: {line}"
        );
    }
}
