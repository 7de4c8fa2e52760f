//! A kitchen task with a real model: llama.cpp's OpenAI-compatible server with Qwen2.5-0.5B
//! (provisioned by `scripts/setup-llm.sh`), started by the test on a free port, driving the
//! model-backed planner and critic of `launch/files/llm-kitchen.yaml` through `clea sim`.
//!
//! A 0.5B model may well lose the task; the test asserts the contract, not success:
//! - `clea sim` exits 0 and the episode ends (success, or a failure with a reason);
//! - model calls and tokens are accounted in the JSON report, and agree with the log;
//! - every model call is in the MCAP log with outcome `accepted`, `rejected: ...` or
//!   `error: ...`, and every executed action is a valid call of the pool over the world;
//! - with the server stopped, the same command with `--cassette <that log>` re-runs the episode
//!   from the recorded replies: the same executed actions, the same model calls and decisions,
//!   no endpoint.
//!
//! Bounded: the scenario is task 3 with a step budget of 4 (a deterministic end that the replay
//! reaches at the same point, unlike a wall-time budget), the launch file allows 12 model calls
//! of at most 256 tokens and 600 s of wall time, and every process has a time limit.
//! Set `CLEA_PYTHON` / `CLEA_LLM_MODEL` to use another interpreter or model file.

use clea_bus::msg::{ModelCall, Plan, Verdict};
use clea_bus::record::read_log;
use clea_skills::validate;
use clea_tests::e2e::{derived_scenario, read_mcap, run_clea, single_episode};
use clea_tests::llm::{
    actions, llm_launch_file, messages_on, model_calls, port_open, transitions, LlmServer,
};
use clea_tests::{clea_bin, unique_namespace};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The server is ready in ~3 s on an idle machine; loaded, much longer.
const SERVER_READY: Duration = Duration::from_secs(120);
/// The recorded episode: about 1.5 min on 2 loaded cores (a call takes 3 to 60 s).
const RECORD: Duration = Duration::from_secs(480);
/// The replay needs no model: seconds.
const REPLAY: Duration = Duration::from_secs(90);

const BASE: &str = "task-03-find-apple-medication";
const SCENARIO: &str = "task-03-find-apple-medication-llm";

fn uint(e: &Value, f: &str) -> u64 {
    e[f].as_u64()
        .unwrap_or_else(|| panic!("{f} is not a non-negative integer in {e}"))
}

fn sim_args<'a>(
    scenario: &'a Path,
    launch: &'a Path,
    log_dir: &'a Path,
    ns: &'a str,
) -> Vec<&'a str> {
    vec![
        "sim",
        scenario.to_str().unwrap(),
        "--agent",
        launch.to_str().unwrap(),
        "--log-dir",
        log_dir.to_str().unwrap(),
        "--json",
        "--namespace",
        ns,
    ]
}

/// What a replay must reproduce of a model call.
fn decision(c: &ModelCall) -> (String, u32, Value, String, String) {
    (
        c.module.clone(),
        c.step,
        c.request.clone(),
        c.reply.clone(),
        c.outcome.to_string(),
    )
}

#[test]
fn a_kitchen_task_with_the_real_model_keeps_the_contract_and_replays_from_its_log() {
    let t0 = Instant::now();
    // The binary first: a build must not compete with the model for the cores.
    let bin = clea_bin();
    eprintln!("clea binary: {}", bin.display());
    let mut server = LlmServer::start(SERVER_READY);
    eprintln!(
        "model server on port {} ready after {:.1?}",
        server.port, server.startup
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = derived_scenario(
        dir.path(),
        BASE,
        SCENARIO,
        "budgets: {max_steps: 4, max_wall_time_s: 30}",
    );
    let launch = llm_launch_file(
        dir.path(),
        &server.base_url(),
        &[
            ("agent.max_model_calls", "12"),
            ("agent.max_model_tokens", "60000"),
            ("agent.max_wall_time_s", "600"),
            ("agent.module_timeout_s", "300"),
            ("models.endpoints.local.max_tokens", "256"),
            ("models.endpoints.local.timeout_s", "240"),
            // One attempt: 240 s fits the 300 s module timeout (checked when the file loads).
            ("models.endpoints.local.max_retries", "0"),
        ],
    );
    let rec_dir = dir.path().join("recorded");
    let rep_dir = dir.path().join("replayed");
    std::fs::create_dir_all(&rec_dir).unwrap();
    std::fs::create_dir_all(&rep_dir).unwrap();
    let world = clea_sim::scenario::load(&scenario)
        .expect("the derived scenario loads")
        .world;

    // --- The recorded episode, with the real model. ---
    let ns = unique_namespace("llm_real_rec");
    let f = run_clea(sim_args(&scenario, &launch, &rec_dir, &ns), RECORD);
    eprintln!("recorded run: {:.1?}", f.elapsed);
    f.assert_no_panic();
    let report = f.json();
    let ep = single_episode(&report);
    eprintln!("recorded episode: {ep}");
    let reason = ep["reason"].as_str().unwrap();
    assert!(
        ep["success"] == true || !reason.trim().is_empty(),
        "a lost episode names its reason: {ep}"
    );
    assert!(
        !reason.contains("not scored"),
        "the episode ended cleanly: {ep}"
    );
    let calls_reported = uint(&ep, "model_calls");
    let prompt_tokens = uint(&ep, "prompt_tokens");
    let completion_tokens = uint(&ep, "completion_tokens");
    assert!(calls_reported > 0, "the model was called: {ep}");
    assert!(
        prompt_tokens > 0 && completion_tokens > 0,
        "tokens accounted: {ep}"
    );
    assert!(
        uint(&report["summary"], "model_tokens") == prompt_tokens + completion_tokens,
        "{report}"
    );

    let log_path = rec_dir.join(format!("{SCENARIO}-seed0.mcap"));
    let log = read_log(&log_path).unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
    assert!(!log.truncated, "the log was closed");
    let calls = model_calls(&log);
    assert!(!calls.is_empty(), "model calls are logged");
    for c in &calls {
        assert!(
            c.outcome == "accepted"
                || c.outcome.to_string().starts_with("rejected: ")
                || c.outcome.to_string().starts_with("error: "),
            "unexpected outcome {:?}",
            c.outcome
        );
        assert!(["planner", "critic"].contains(&c.module.as_str()), "{c:?}");
        assert_eq!(c.request["model"], "qwen05");
        assert_eq!(c.request["max_tokens"], 256);
        assert_eq!(c.request["response_format"]["type"], "json_object");
        if c.outcome == "accepted" {
            serde_json::from_str::<Value>(&c.reply)
                .unwrap_or_else(|e| panic!("an accepted reply is JSON ({e}): {}", c.reply));
        }
        if c.outcome.to_string().starts_with("error: ") {
            assert!(c.reply.is_empty());
        } else {
            assert!(c.usage.calls >= 1 && c.usage.completion_tokens > 0, "{c:?}");
        }
    }
    // The report's accounting is the log's.
    let sum = |f: fn(&ModelCall) -> u64| calls.iter().map(f).sum::<u64>();
    assert_eq!(sum(|c| u64::from(c.usage.calls)), calls_reported);
    assert_eq!(sum(|c| c.usage.prompt_tokens), prompt_tokens);
    assert_eq!(sum(|c| c.usage.completion_tokens), completion_tokens);
    eprintln!(
        "model calls: {:?}",
        calls
            .iter()
            .map(|c| format!("{} step {}: {}", c.module, c.step, c.outcome))
            .collect::<Vec<_>>()
    );
    // Every executed action is a valid call of the pool over the world.
    let executed = actions(&log);
    for a in &executed {
        validate(&a.call, &world)
            .unwrap_or_else(|e| panic!("an executed action is invalid: {}: {e}", a.call));
    }
    assert_eq!(
        executed.len() as u64,
        uint(&ep, "steps"),
        "one record per executed step"
    );
    // The official reader agrees on the file.
    let py = read_mcap(&log_path, false);
    assert!(py["error"].is_null(), "{py}");
    let topic = format!("clea/{ns}-ep0/model/call");
    assert_eq!(
        py["counts"][&topic].as_u64(),
        Some(calls.len() as u64),
        "{py}"
    );

    // --- The replay: no server, replies from the log. ---
    server.stop(Duration::from_secs(20));
    assert!(
        !port_open(server.port),
        "the model server is down for the replay"
    );
    let ns2 = unique_namespace("llm_real_rep");
    let mut args = sim_args(&scenario, &launch, &rep_dir, &ns2);
    args.extend(["--cassette", log_path.to_str().unwrap()]);
    let f2 = run_clea(&args, REPLAY);
    eprintln!("replay: {:.1?}", f2.elapsed);
    f2.assert_no_panic();
    let ep2 = single_episode(&f2.json());
    eprintln!("replayed episode: {ep2}");
    for field in [
        "success",
        "score",
        "steps",
        "skill_failures",
        "invalid_calls",
        "critic_rejections",
        "replans",
        "goals_unmet",
        "reason",
        "model_calls",
        "prompt_tokens",
        "completion_tokens",
    ] {
        assert_eq!(ep2[field], ep[field], "{field} differs in the replay");
    }
    let log2 = read_log(&rep_dir.join(format!("{SCENARIO}-seed0.mcap"))).unwrap();
    let calls2 = model_calls(&log2);
    assert!(
        calls2
            .iter()
            .all(|c| !c.outcome.to_string().starts_with("error: ")),
        "the cassette answered every request: {:?}",
        calls2.iter().map(|c| &c.outcome).collect::<Vec<_>>()
    );
    assert_eq!(
        calls2.iter().map(decision).collect::<Vec<_>>(),
        calls.iter().map(decision).collect::<Vec<_>>(),
        "the replay asks the same questions and gets the same answers"
    );
    let seq = |l: &clea_bus::record::EpisodeLog| {
        actions(l)
            .into_iter()
            .map(|a| (a.call, a.outcome))
            .collect::<Vec<_>>()
    };
    assert_eq!(seq(&log2), seq(&log), "the same executed actions, in order");
    let states = |l: &clea_bus::record::EpisodeLog| {
        transitions(l)
            .into_iter()
            .map(|t| (t.from, t.to))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(&log2),
        states(&log),
        "the same controller transitions"
    );
    assert_eq!(
        messages_on::<Plan>(&log2, "plan"),
        messages_on::<Plan>(&log, "plan"),
        "the same plans"
    );
    assert_eq!(
        messages_on::<Verdict>(&log2, "verdict"),
        messages_on::<Verdict>(&log, "verdict"),
        "the same critic verdicts"
    );
    eprintln!(
        "executed actions: {:?}; whole test {:.1?}",
        seq(&log)
            .iter()
            .map(|(c, _)| c.to_string())
            .collect::<Vec<_>>(),
        t0.elapsed()
    );
}
