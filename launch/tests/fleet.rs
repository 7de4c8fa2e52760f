//! A fleet through one router (`clea router`), as separate processes, every one a zenoh client
//! of it: four robot processes (`clea sim --serve`, four robot teams each, one namespace per
//! team) and two agent processes (`clea run` of a launch file with eight `teams:`, each team's
//! robots spread over two robot processes), sixteen episodes at once. Every episode ends as the
//! same scenario does in one process (result, counters, the outcome of every action in order)
//! and every episode log reads back complete with the official Python `mcap` reader, holding
//! only its own team's messages. A robot process for a team that is served already is refused.

mod common;

use common::{clea, json_of, read_mcap, Proc};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
/// Sixteen episodes on two cores, with seven processes: generous, and only a bound.
const EPISODES_WITHIN: Duration = Duration::from_secs(300);
const SCENARIOS: [&str; 2] = [
    "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
    "sim/scenarios/clea-kitchen/task-02-p1-drawer-stuck.yaml",
];
const TEAMS_PER_SCENARIO: usize = 8;
const TEAMS_PER_ROBOT_PROCESS: usize = 4;

/// The fields of an episode report that must not depend on where the parts ran.
const SAME: [&str; 12] = [
    "scenario",
    "seed",
    "success",
    "score",
    "steps",
    "skill_failures",
    "invalid_calls",
    "critic_rejections",
    "replans",
    "perturbations",
    "goals_unmet",
    "reason",
];

/// `clea sim SCENARIO --serve` as a client of the router at `endpoint`, one robot team per name.
fn serve(scenario: &str, endpoint: &str, teams: &[String]) -> std::process::Command {
    let mut args = vec![
        "sim",
        scenario,
        "--serve",
        "--mode",
        "client",
        "--connect",
        endpoint,
    ];
    for t in teams {
        args.extend(["--team", t.as_str()]);
    }
    clea(&args)
}

/// A log read back: complete, and every channel under `clea/<namespace>/`.
fn complete_log(path: &Path, namespace: &str) -> Value {
    let log = read_mcap(path);
    assert!(log["error"].is_null(), "{}: {log}", path.display());
    assert_eq!(log["summary_present"], true, "{}", path.display());
    assert_eq!(log["footer_present"], true, "{}", path.display());
    assert_eq!(
        log["stream_messages"],
        log["messages"],
        "{}",
        path.display()
    );
    let prefix = format!("clea/{namespace}/");
    for c in log["channels"].as_array().unwrap() {
        assert!(
            c["topic"].as_str().unwrap().starts_with(&prefix),
            "{}: a channel of another team: {c}",
            path.display()
        );
    }
    log
}

fn count(log: &Value, topic: &str) -> u64 {
    log["counts"][topic].as_u64().unwrap_or(0)
}

#[test]
fn sixteen_episodes_through_one_router_end_as_they_do_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    // The reference: each scenario alone, robots and agent in one process.
    let mut reference = Vec::new();
    for (s, scenario) in SCENARIOS.iter().enumerate() {
        let logs = dir.path().join(format!("reference-{s}"));
        let report = json_of(
            &clea(&[
                "sim",
                scenario,
                "--json",
                "--log-dir",
                logs.to_str().unwrap(),
            ])
            .output()
            .unwrap(),
        );
        let episode = report["episodes"][0].clone();
        let log = read_mcap(Path::new(episode["log"].as_str().unwrap()));
        reference.push((episode, log["action_outcomes"].clone()));
    }

    let (_router, endpoint) = common::router(WAIT);
    let id = std::process::id();
    let team = |s: usize, k: usize| format!("fleet{id}-s{s}-t{k}");
    // Robot processes 2s and 2s+1 serve scenario s, four teams each.
    let mut robots = Vec::new();
    for p in 0..SCENARIOS.len() * TEAMS_PER_SCENARIO / TEAMS_PER_ROBOT_PROCESS {
        let s = p * TEAMS_PER_ROBOT_PROCESS / TEAMS_PER_SCENARIO;
        let first = (p * TEAMS_PER_ROBOT_PROCESS) % TEAMS_PER_SCENARIO;
        let teams: Vec<String> = (first..first + TEAMS_PER_ROBOT_PROCESS)
            .map(|k| team(s, k))
            .collect();
        let mut robot = Proc::spawn(serve(SCENARIOS[s], &endpoint, &teams), true);
        let line = robot.wait_line(WAIT, |l| l.contains("serving scenario"));
        assert!(
            line.as_deref().is_some_and(|l| l.contains(&team(s, first))),
            "robot process {p}: {line:?}"
        );
        robots.push(robot);
    }
    // A fifth robot process on a team that is served already would answer its goals too: refused.
    let second = serve(SCENARIOS[1], &endpoint, &[team(0, 3)])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("clea/{}/ is already served", team(0, 3))),
        "{said}"
    );
    // One agent process per scenario, driving its eight teams at once.
    let mut agents = Vec::new();
    for s in 0..SCENARIOS.len() {
        let teams: Vec<String> = (0..TEAMS_PER_SCENARIO).map(|k| team(s, k)).collect();
        let file = dir.path().join(format!("agent-{s}.yaml"));
        std::fs::write(
            &file,
            format!(
                "kind: launch\n\
                 bus: {{ namespace: fleet{id}, connect: [\"{endpoint}\"], mode: client }}\n\
                 teams: [{}]\n\
                 actors: [observer, memory, planner, critic, executor]\n\
                 controller: {{ episodes: 1, log_dir: {} }}\n\
                 agent: {{ wait_for_robots_s: 60 }}\n",
                teams.join(", "),
                dir.path().join(format!("fleet-{s}")).display()
            ),
        )
        .unwrap();
        agents.push(Proc::spawn(
            clea(&["run", file.to_str().unwrap(), "--json"]),
            false,
        ));
    }
    for (s, agent) in agents.iter_mut().enumerate() {
        let (status, stdout) = agent
            .finish(EPISODES_WITHIN)
            .unwrap_or_else(|| panic!("agent process {s} still running"));
        assert!(status.success(), "agent process {s}: {status}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let episodes = report["episodes"].as_array().unwrap();
        assert_eq!(episodes.len(), TEAMS_PER_SCENARIO, "{report}");
        let (want, want_outcomes) = &reference[s];
        for (k, got) in episodes.iter().enumerate() {
            for field in SAME {
                assert_eq!(got[field], want[field], "team {}: {field}", team(s, k));
            }
            // Rows come in the order of `teams:`, naming their team; each log sits in its
            // team's folder.
            assert_eq!(got["team"], team(s, k).as_str());
            let path = Path::new(got["log"].as_str().unwrap());
            assert_eq!(
                path.parent().unwrap().file_name().unwrap().to_str(),
                Some(team(s, k).as_str()),
                "{}",
                path.display()
            );
            let log = complete_log(path, &team(s, k));
            assert_eq!(
                count(&log, &format!("clea/{}/action", team(s, k))),
                got["steps"].as_u64().unwrap()
            );
            assert_eq!(
                &log["action_outcomes"],
                want_outcomes,
                "team {}",
                team(s, k)
            );
            let meta = log["metadata"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["metadata"]["namespace"].is_string())
                .unwrap_or_else(|| panic!("no namespace in the metadata of {log}"));
            assert_eq!(meta["metadata"]["namespace"], team(s, k).as_str());
            // The agent's settings as resolved from the launch file's defaults.
            assert_eq!(meta["metadata"]["skill_timeout_s"], "30", "{meta}");
            assert!(meta["metadata"]["limits"]
                .as_str()
                .is_some_and(|l| l.contains("max_plans")));
        }
    }
    drop(robots);

    // Two robot processes started at once on one team: exactly one yields (exit 1, naming the
    // team), and the other serves the team's episode.
    let race = format!("fleet{id}-race");
    let racer = || {
        Proc::spawn(
            serve(SCENARIOS[0], &endpoint, std::slice::from_ref(&race)),
            true,
        )
    };
    let mut pair = [racer(), racer()];
    let refused = |l: &str| l.contains(&format!("clea/{race}/ is"));
    // Whichever says it first: each is asked in turn for a line, briefly, until the bound.
    let end = std::time::Instant::now() + WAIT;
    let mut stopped = [false, false];
    while !stopped.contains(&true) && std::time::Instant::now() < end {
        for (i, p) in pair.iter_mut().enumerate() {
            stopped[i] = p.wait_line(Duration::from_millis(100), refused).is_some();
        }
    }
    assert_eq!(
        stopped.iter().filter(|s| **s).count(),
        1,
        "exactly one of the two yields: {stopped:?}"
    );
    let file = dir.path().join("race.yaml");
    std::fs::write(
        &file,
        format!(
            "kind: launch\nbus: {{ connect: [\"{endpoint}\"], mode: client }}\nteams: [{race}]\n\
             actors: [observer, memory, planner, critic, executor]\ncontroller: {{ episodes: 1 }}\n"
        ),
    )
    .unwrap();
    let report = json_of(
        &clea(&["run", file.to_str().unwrap(), "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(report["episodes"][0]["success"], true, "{report}");
    let survivor = if stopped[0] {
        &mut pair[1]
    } else {
        &mut pair[0]
    };
    assert!(
        survivor.child.try_wait().unwrap().is_none(),
        "the survivor serves on"
    );

    // An agent process whose teams have no robots names every team that stopped.
    std::fs::write(
        &file,
        format!(
            "kind: launch\nbus: {{ connect: [\"{endpoint}\"], mode: client }}\n\
             teams: [fleet{id}-none-a, fleet{id}-none-b]\nactors: [executor]\n\
             controller: {{ episodes: 1 }}\nagent: {{ wait_for_robots_s: 1 }}\n"
        ),
    )
    .unwrap();
    let out = clea(&["run", file.to_str().unwrap()]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for t in ["a", "b"] {
        assert!(
            said.contains(&format!(
                "clea: team fleet{id}-none-{t}: no robot skill server"
            )),
            "{said}"
        );
    }
    assert!(said.contains("2 of 2 teams stopped"), "{said}");
}
