//! The model-backed modules against a faulty endpoint: a local OpenAI-compatible test server
//! (wiremock, no real model) that answers 500, 429 with Retry-After, never, malformed JSON, an
//! unknown skill, a hallucinated object or a robot that does not exist. Each test drives
//! `ModelPlanner`, `ModelCritic` or `ModelSummarizer` over a `ModelRuntime` on `HttpBackend`
//! and checks what the endpoint received, what the module returned and what the runtime logged
//! (outcome `accepted`, `rejected: ...` or `error: ...`) for every call.

#[path = "fixtures/model_common.rs"]
mod common;

use clea_agent::model::client::{ChatMessage, ChatRequest, ModelError, Structured};
use clea_agent::model::critic::{LayeredCritic, ModelCritic};
use clea_agent::model::planner::ModelPlanner;
use clea_agent::model::summarizer::ModelSummarizer;
use clea_agent::modules::{Critic, ModuleError, Planner, Summarizer};
use clea_bus::msg::{CritiqueRequest, MemoryRequest, SkillCall};
use clea_skills::parse_call;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::ResponseTemplate;

/// Bound of one test's module call (faults included).
const LIMIT: Duration = Duration::from_secs(20);

const GO_SINK: (&str, &[(&str, &str)]) = (
    "go_to",
    &[
        ("robot", "robot_1"),
        ("navigation_point", "in_front_of_sink"),
    ],
);

fn call(text: &str) -> SkillCall {
    parse_call(text).unwrap()
}

fn goal_task() -> clea_bus::msg::TaskSpec {
    task(&["found(apple)"])
}

/// A planner on a fresh runtime for `server`; returns it and the runtime's call log.
fn planner(
    server: &wiremock::MockServer,
    repairs: u32,
) -> (
    ModelPlanner,
    tokio::sync::mpsc::UnboundedReceiver<clea_bus::msg::ModelCall>,
) {
    let (rt, log) = runtime(endpoint(server), repairs);
    (ModelPlanner::new(rt), log)
}

fn assert_plan_is_go_to_sink(plan: &clea_bus::msg::Plan) {
    assert!(!plan.done);
    assert_eq!(plan.actions, vec![call("go_to(robot_1, in_front_of_sink)")]);
}

/// The repair turn of a request body: the assistant's rejected reply, then the user message
/// with the rejection.
fn assert_repair_turn(body: &Value, bad_reply: &str, why: &str) {
    let msgs = messages(body);
    let n = msgs.len();
    assert!(
        n >= 3,
        "a repair request carries the conversation: {msgs:?}"
    );
    assert_eq!(msgs[n - 2].0, "assistant", "{msgs:?}");
    assert_eq!(
        msgs[n - 2].1,
        bad_reply,
        "the bad reply is sent back verbatim"
    );
    assert_eq!(msgs[n - 1].0, "user", "{msgs:?}");
    assert!(
        msgs[n - 1].1.starts_with("Your reply was rejected: ") && msgs[n - 1].1.contains(why),
        "the repair message names the error ({why}): {:?}",
        msgs[n - 1].1
    );
}

// --- Transport faults: 5xx, 429, no reply, 4xx ------------------------------------------------

#[tokio::test]
async fn http_500_then_success_is_retried_and_every_attempt_counted() {
    let s = server([
        ResponseTemplate::new(500).set_body_string("overloaded"),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let usage = plan.usage.expect("a model plan carries its usage");
    assert_eq!(
        usage.calls, 2,
        "one failed attempt, one answered: {usage:?}"
    );
    assert_eq!(usage.prompt_tokens, 100);
    assert_eq!(usage.completion_tokens, 20);
    let bodies = bodies(&s).await;
    assert_eq!(bodies.len(), 2, "the 500 was retried once");
    assert_eq!(bodies[0], bodies[1], "a retry resends the same request");
    let calls = logged(&mut log);
    assert_eq!(outcomes(&calls), ["accepted"]);
    assert_eq!(calls[0].module, "planner");
    assert_eq!(calls[0].usage.calls, 2, "the log counts HTTP attempts");
    assert_eq!(
        calls[0].request, bodies[1],
        "the log holds the request as sent"
    );
    assert_eq!(calls[0].reply, plan_text(false, &[GO_SINK]));
}

#[tokio::test]
async fn http_429_with_retry_after_is_honoured_then_success() {
    let s = server([
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_string("rate limited"),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let t0 = Instant::now();
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    let elapsed = t0.elapsed();
    // The backoff is 0.05 s: only Retry-After explains a wait of a second.
    assert!(
        elapsed >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: retried after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_plan_is_go_to_sink(&plan);
    assert_eq!(plan.usage.unwrap().calls, 2);
    assert_eq!(bodies(&s).await.len(), 2);
    let calls = logged(&mut log);
    assert_eq!(outcomes(&calls), ["accepted"]);
    assert!(calls[0].usage.latency_s >= 0.95, "{:?}", calls[0].usage);
}

#[tokio::test]
async fn http_500_forever_is_unavailable_after_max_retries_and_the_module_fails_cleanly() {
    let s = server([ResponseTemplate::new(503).set_body_string("down for maintenance")]).await;
    // The backend alone: 1 attempt + max_retries (2) retries, then Unavailable.
    let (rt, _) = runtime(endpoint(&s), 2);
    let req = ChatRequest {
        schema_name: "plan".into(),
        schema: json!({"type": "object"}),
        messages: vec![ChatMessage::text("user", "hello")],
    };
    let t0 = Instant::now();
    let err = within("complete", LIMIT, rt.backend.complete(&req))
        .await
        .unwrap_err();
    match &err {
        ModelError::Unavailable { attempts, last } => {
            assert_eq!(*attempts, 3, "{err}");
            assert!(
                last.contains("503"),
                "the last failure names the status: {last}"
            );
            assert!(last.contains("down for maintenance"), "{last}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Backoff 0.05 s then 0.1 s.
    assert!(
        t0.elapsed() >= Duration::from_millis(140),
        "{:?}",
        t0.elapsed()
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(bodies(&s).await.len(), 3);

    // Through the planner: the step fails cleanly with a backend error, and the call is logged.
    let (mut p, mut log) = planner(&s, 2);
    let plan_req = plan_request(&goal_task()).await;
    let err = within("plan", LIMIT, p.plan(&plan_req)).await.unwrap_err();
    match &err {
        ModuleError::Backend(msg) => {
            assert!(msg.contains("unavailable after 3 attempts"), "{msg}")
        }
        other => panic!("expected ModuleError::Backend, got {other:?}"),
    }
    assert_eq!(bodies(&s).await.len(), 6, "no repair after a backend error");
    let calls = logged(&mut log);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0]
            .outcome
            .to_string()
            .starts_with("error: endpoint unavailable after 3 attempts"),
        "{}",
        calls[0].outcome
    );
    assert_eq!(calls[0].reply, "");
    assert_eq!(
        calls[0].usage.calls, 3,
        "failed attempts count against the model-call budget"
    );
}

#[tokio::test]
async fn a_reply_that_never_comes_is_retried_then_unavailable_in_bounded_time() {
    let s = server([plan_reply(false, &[GO_SINK]).set_delay(Duration::from_secs(30))]).await;
    let mut cfg = endpoint(&s);
    cfg.timeout_s = 0.3;
    cfg.max_retries = 1;
    let (rt, mut log) = runtime(cfg, 2);
    let mut critic = ModelCritic::new(rt);
    let t = goal_task();
    let pr = plan_request(&t).await;
    let req = CritiqueRequest {
        task: t,
        belief: pr.belief,
        observation: pr.observation,
        action: Some(call("go_to(robot_1, in_front_of_sink)")),
        subgoal: "look for the apple".into(),
        trigger: Default::default(),
    };
    let t0 = Instant::now();
    let err = within("judge", LIMIT, critic.judge(&req))
        .await
        .unwrap_err();
    let elapsed = t0.elapsed();
    // Two attempts of 0.3 s and a backoff of 0.05 s; far less than the 30 s the reply takes.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "not bounded: {elapsed:?}");
    match &err {
        ModuleError::Backend(msg) => {
            assert!(msg.contains("unavailable after 2 attempts"), "{msg}");
            assert!(msg.contains("timed out after 0.3 s"), "{msg}");
        }
        other => panic!("expected ModuleError::Backend, got {other:?}"),
    }
    assert_eq!(bodies(&s).await.len(), 2, "one retry after the timeout");
    let calls = logged(&mut log);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].module, "critic");
    assert!(
        calls[0]
            .outcome
            .to_string()
            .starts_with("error: endpoint unavailable"),
        "{}",
        calls[0].outcome
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let s = server([ResponseTemplate::new(400).set_body_string("unknown model test-model")]).await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let err = within("plan", LIMIT, p.plan(&req)).await.unwrap_err();
    let ModuleError::Backend(msg) = &err else {
        panic!("expected ModuleError::Backend, got {err:?}")
    };
    assert!(
        msg.contains("HTTP 400") && msg.contains("unknown model"),
        "{msg}"
    );
    assert_eq!(bodies(&s).await.len(), 1, "a 4xx other than 429 is final");
    let calls = logged(&mut log);
    assert_eq!(calls.len(), 1);
    assert!(calls[0]
        .outcome
        .to_string()
        .starts_with("error: endpoint rejected the request: HTTP 400"));
}

/// The error text of a planner (no repairs) on `cfg`, any endpoint, reachable or not, whose
/// call fails in the backend.
async fn backend_error_on(cfg: clea_agent::model::client::EndpointConfig) -> String {
    let (rt, _log) = runtime(cfg, 0);
    backend_error(&mut ModelPlanner::new(rt)).await
}

/// The planner's error text for a call that failed in the backend.
async fn backend_error(p: &mut ModelPlanner) -> String {
    let req = plan_request(&goal_task()).await;
    match within("plan", LIMIT, p.plan(&req)).await {
        Err(ModuleError::Backend(msg)) => msg,
        other => panic!("expected ModuleError::Backend, got {other:?}"),
    }
}

#[tokio::test]
async fn retry_after_above_the_cap_fails_at_once_naming_both_numbers() {
    let s = server([ResponseTemplate::new(429)
        .insert_header("Retry-After", "600")
        .set_body_string("slow down")])
    .await;
    let (mut p, _log) = planner(&s, 2);
    let t0 = Instant::now();
    let msg = backend_error(&mut p).await;
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(msg.contains("600 s"), "{msg}");
    assert!(msg.contains("max_retry_after_s = 60 s"), "{msg}");
    assert_eq!(
        bodies(&s).await.len(),
        1,
        "no retry the server did not allow"
    );
}

#[tokio::test]
async fn any_retry_after_a_server_sends_is_read_without_a_panic() {
    for value in ["1e20", "inf", "-5", "NaN", "soon"] {
        let s = server([
            ResponseTemplate::new(429)
                .insert_header("Retry-After", value)
                .set_body_string("slow down"),
            plan_reply(false, &[GO_SINK]),
        ])
        .await;
        let (mut p, _log) = planner(&s, 0);
        let req = plan_request(&goal_task()).await;
        let got = within("plan", LIMIT, p.plan(&req)).await;
        if value == "1e20" {
            let msg = format!("{:?}", got.expect_err("above the cap"));
            assert!(msg.contains("more than max_retry_after_s"), "{msg}");
        } else {
            // Unreadable or impossible: the backoff applies, and the retry is answered.
            assert_plan_is_go_to_sink(&got.expect("retried after the backoff"));
        }
    }
}

#[tokio::test]
async fn a_body_longer_than_16_mib_is_cut_off() {
    let s = server([ResponseTemplate::new(200).set_body_string("x".repeat(17 << 20))]).await;
    let mut cfg = endpoint(&s);
    cfg.max_retries = 0;
    let msg = backend_error_on(cfg).await;
    assert!(msg.contains("longer than 16 MiB"), "{msg}");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let s = server([
        ResponseTemplate::new(503)
            .insert_header("Retry-After", httpdate::fmt_http_date(at).as_str())
            .set_body_string("maintenance"),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, _log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let t0 = Instant::now();
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    // An HTTP date has whole seconds: at least one of the two seconds is left to wait.
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert_plan_is_go_to_sink(&plan);
}

#[tokio::test]
async fn a_200_that_is_not_a_completion_is_retried_like_a_5xx() {
    let s = server([
        ResponseTemplate::new(200).set_body_string("<html>proxy error</html>"),
        ResponseTemplate::new(200)
            .set_body_json(json!({"choices": [{"message": {"role": "assistant"}}]})),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 0);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    assert_eq!(
        plan.usage.unwrap().calls,
        3,
        "two retried attempts, one answered"
    );
    assert_eq!(outcomes(&logged(&mut log)), ["accepted"]);
    // With no retries left, the reason says what the body was.
    let s = server([ResponseTemplate::new(200).set_body_string("<html>proxy error</html>")]).await;
    let mut cfg = endpoint(&s);
    cfg.max_retries = 0;
    let msg = backend_error_on(cfg).await;
    assert!(
        msg.contains("not JSON") && msg.contains("proxy error"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_refused_connection_says_connection_refused() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = server([plan_reply(false, &[GO_SINK])]).await;
    let mut cfg = endpoint(&s);
    cfg.base_url = format!("http://127.0.0.1:{port}/v1");
    cfg.max_retries = 1;
    let msg = backend_error_on(cfg).await;
    assert!(msg.contains("connection refused"), "{msg}");
}

#[tokio::test]
async fn a_connection_closed_without_a_reply_says_so() {
    // A server that reads the request and closes the connection without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        use tokio::io::AsyncReadExt as _;
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            drop(conn);
        }
    });
    let s = server([plan_reply(false, &[GO_SINK])]).await;
    let mut cfg = endpoint(&s);
    cfg.base_url = format!("http://{addr}/v1");
    cfg.max_retries = 1;
    let msg = backend_error_on(cfg).await;
    closer.abort();
    assert!(msg.contains("closed"), "{msg}");
    assert!(!msg.contains("connection refused"), "{msg}");
}

// --- Invalid replies: parse and validation errors, repairs -----------------------------------

#[tokio::test]
async fn malformed_json_is_rejected_repaired_then_a_valid_reply_accepted() {
    let bad = r#"{"reasoning": "I will go to the sink", "subgoal": "#;
    let s = server([reply(bad), plan_reply(false, &[GO_SINK])]).await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let usage = plan.usage.unwrap();
    assert_eq!(usage.calls, 2, "the repair is a second call");
    assert_eq!(usage.prompt_tokens, 200);
    let bodies = bodies(&s).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        messages(&bodies[0]).len(),
        1,
        "the first request is the prompt"
    );
    assert_eq!(
        messages(&bodies[1])[0],
        messages(&bodies[0])[0],
        "the repair keeps the prompt"
    );
    assert_repair_turn(&bodies[1], bad, "the reply is not JSON");
    assert_eq!(messages(&bodies[1]).len(), 3);
    let calls = logged(&mut log);
    let oc = outcomes(&calls);
    assert_eq!(oc.len(), 2, "{oc:?}");
    assert!(
        oc[0].starts_with("rejected: the reply is not JSON"),
        "{oc:?}"
    );
    assert_eq!(oc[1], "accepted");
    assert_eq!(calls[0].reply, bad, "the log keeps the rejected reply");
    assert_eq!(calls[1].request, bodies[1]);
}

#[tokio::test]
async fn a_reply_encoded_twice_is_repaired_with_what_is_wrong() {
    let object = plan_text(false, &[GO_SINK]);
    let twice = serde_json::to_string(&object).unwrap();
    let s = server([reply(&twice), plan_reply(false, &[GO_SINK])]).await;
    let (mut p, _log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let bodies = bodies(&s).await;
    assert_repair_turn(
        &bodies[1],
        &twice,
        "the reply is a JSON string that holds an object (encoded twice)",
    );
}

#[tokio::test]
async fn a_reply_cut_at_max_tokens_is_repaired_with_that_reason() {
    let cut = r#"{"reasoning": "first I will go to the sink and then"#;
    let mut body = completion(cut);
    body["choices"][0]["finish_reason"] = json!("length");
    let s = server([
        ResponseTemplate::new(200).set_body_json(body),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let bodies = bodies(&s).await;
    assert_repair_turn(&bodies[1], cut, "finish_reason: length");
    let calls = logged(&mut log);
    assert_eq!(calls[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(calls[1].finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn an_unknown_skill_is_rejected_and_repaired() {
    let teleport = plan_text(
        false,
        &[(
            "teleport",
            &[("robot", "robot_1"), ("to", "in_front_of_sink")],
        )],
    );
    let s = server([reply(&teleport), plan_reply(false, &[GO_SINK])]).await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let bodies = bodies(&s).await;
    assert_eq!(bodies.len(), 2);
    assert_repair_turn(&bodies[1], &teleport, "unknown skill \"teleport\"");
    let oc = outcomes(&logged(&mut log));
    assert!(
        oc[0].starts_with("rejected: actions[0]: unknown skill \"teleport\""),
        "{oc:?}"
    );
    assert_eq!(oc[1], "accepted");
}

#[tokio::test]
async fn a_hallucinated_object_is_rejected() {
    let banana = plan_text(
        false,
        &[(
            "pick_from",
            &[
                ("robot", "robot_1"),
                ("object", "banana"),
                ("receptacle", "table"),
            ],
        )],
    );
    // No repairs allowed: the module fails cleanly and nothing leaves it.
    let s = server([reply(&banana)]).await;
    let (mut p, mut log) = planner(&s, 0);
    let req = plan_request(&goal_task()).await;
    let err = within("plan", LIMIT, p.plan(&req)).await.unwrap_err();
    let ModuleError::NoAnswer(msg) = &err else {
        panic!("expected NoAnswer, got {err:?}")
    };
    assert!(msg.contains("\"banana\" is not a known object"), "{msg}");
    assert_eq!(bodies(&s).await.len(), 1);
    let oc = outcomes(&logged(&mut log));
    assert_eq!(oc.len(), 1);
    assert!(
        oc[0].starts_with(
            "rejected: actions[0]: pick_from: object = \"banana\" is not a known object"
        ),
        "{oc:?}"
    );
}

#[tokio::test]
async fn a_robot_that_does_not_exist_is_rejected_and_so_is_a_robot_without_the_capability() {
    let ghost = plan_text(
        false,
        &[(
            "go_to",
            &[
                ("robot", "robot_3"),
                ("navigation_point", "in_front_of_sink"),
            ],
        )],
    );
    // robot_2 exists but is fixed: it cannot go anywhere.
    let fixed = plan_text(
        false,
        &[(
            "go_to",
            &[
                ("robot", "robot_2"),
                ("navigation_point", "in_front_of_sink"),
            ],
        )],
    );
    let s = server([reply(&ghost), reply(&fixed), plan_reply(false, &[GO_SINK])]).await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    assert_eq!(plan.usage.unwrap().calls, 3);
    let bodies = bodies(&s).await;
    assert_eq!(bodies.len(), 3);
    assert_repair_turn(&bodies[1], &ghost, "\"robot_3\" is not a known robot");
    assert_repair_turn(&bodies[2], &fixed, "robot_2 lacks a mobile base");
    assert_eq!(
        messages(&bodies[2]).len(),
        5,
        "both repairs stay in the conversation"
    );
    let oc = outcomes(&logged(&mut log));
    assert!(
        oc[0].starts_with("rejected: ") && oc[0].contains("robot_3"),
        "{oc:?}"
    );
    assert!(
        oc[1].starts_with("rejected: ") && oc[1].contains("lacks a mobile base"),
        "{oc:?}"
    );
    assert_eq!(oc[2], "accepted");
}

#[tokio::test]
async fn after_the_allowed_repairs_the_module_gives_no_answer() {
    let not_done = plan_text(false, &[]);
    let done_with_actions = plan_text(true, &[GO_SINK]);
    let s = server([
        reply("I think the robot should go to the sink."),
        reply(&not_done),
        reply(&done_with_actions),
        // Never reached: the repairs are used up.
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 2);
    let req = plan_request(&goal_task()).await;
    let err = within("plan", LIMIT, p.plan(&req)).await.unwrap_err();
    let ModuleError::NoAnswer(msg) = &err else {
        panic!("expected NoAnswer, got {err:?}")
    };
    assert!(msg.contains("no valid reply after 2 repairs"), "{msg}");
    assert!(
        msg.contains("\"done\" is true but actions are given"),
        "{msg}"
    );
    assert_eq!(bodies(&s).await.len(), 3, "1 call + 2 repairs, no more");
    let oc = outcomes(&logged(&mut log));
    assert_eq!(oc.len(), 3, "{oc:?}");
    assert!(
        oc[0].starts_with("rejected: the reply is not JSON"),
        "{oc:?}"
    );
    assert!(
        oc[1].starts_with("rejected: no actions although the task is not done"),
        "{oc:?}"
    );
    assert!(
        oc[2].starts_with("rejected: \"done\" is true but actions are given"),
        "{oc:?}"
    );
}

#[tokio::test]
async fn too_many_actions_are_rejected() {
    let six: Vec<(&str, &[(&str, &str)])> = vec![GO_SINK; 6];
    let s = server([
        reply(&plan_text(false, &six)),
        plan_reply(false, &[GO_SINK]),
    ])
    .await;
    let (mut p, mut log) = planner(&s, 1);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let oc = outcomes(&logged(&mut log));
    assert_eq!(oc, ["rejected: 6 actions; at most 5", "accepted"]);
}

// --- Critic and summarizer --------------------------------------------------------------------

async fn critique(t: &clea_bus::msg::TaskSpec, action: Option<&str>) -> CritiqueRequest {
    let pr = plan_request(t).await;
    CritiqueRequest {
        task: t.clone(),
        belief: pr.belief,
        observation: pr.observation,
        action: action.map(call),
        subgoal: "look for the apple".into(),
        trigger: Default::default(),
    }
}

#[tokio::test]
async fn critic_reply_without_a_verdict_is_repaired_then_accepted() {
    let incomplete = json!({"reasoning": "hmm", "feedback": "looks fine"}).to_string();
    let verdict =
        json!({"reasoning": "the sink is free", "feasible": false, "feedback": "the apple is not there"})
            .to_string();
    let s = server([reply(&incomplete), reply(&verdict)]).await;
    let (rt, mut log) = runtime(endpoint(&s), 1);
    let mut critic = ModelCritic::new(rt);
    let req = critique(&goal_task(), Some("go_to(robot_1, in_front_of_sink)")).await;
    let v = within("judge", LIMIT, critic.judge(&req)).await.unwrap();
    assert!(!v.feasible);
    assert_eq!(v.feedback, "the apple is not there");
    assert_eq!(v.action, call("go_to(robot_1, in_front_of_sink)"));
    assert_eq!(v.usage.unwrap().calls, 2);
    let bodies = bodies(&s).await;
    assert_repair_turn(
        &bodies[1],
        &incomplete,
        "missing boolean field \"feasible\"",
    );
    let calls = logged(&mut log);
    assert_eq!(
        calls.iter().map(|c| c.module.as_str()).collect::<Vec<_>>(),
        ["critic", "critic"]
    );
    assert_eq!(
        outcomes(&calls),
        ["rejected: missing boolean field \"feasible\"", "accepted"]
    );
}

#[tokio::test]
async fn critic_never_asks_the_model_about_a_call_outside_the_pool() {
    let s = server([reply("{}")]).await;
    let (rt, mut log) = runtime(endpoint(&s), 1);
    let mut critic = ModelCritic::new(rt);
    let mut req = critique(&goal_task(), None).await;
    req.action = Some(SkillCall {
        skill: "rm_rf".into(),
        args: [("robot".to_string(), json!("robot_1"))]
            .into_iter()
            .collect(),
    });
    let v = within("judge", LIMIT, critic.judge(&req)).await.unwrap();
    assert!(!v.feasible);
    assert!(
        v.feedback.starts_with("invalid call: unknown skill"),
        "{}",
        v.feedback
    );
    assert!(
        bodies(&s).await.is_empty(),
        "no model call for an invalid action"
    );
    assert!(logged(&mut log).is_empty());
}

#[tokio::test]
async fn layered_critic_asks_the_model_only_about_what_the_rules_pass() {
    let yes = json!({"reasoning": "ok", "feasible": true, "feedback": "go ahead"}).to_string();
    let s = server([reply(&yes)]).await;
    let (rt, mut log) = runtime(endpoint(&s), 1);
    let mut critic = LayeredCritic::new(ModelCritic::new(rt));
    let t = goal_task();
    // The done claim: found(apple) does not hold, the rules reject it without a model call.
    let v = within("judge done", LIMIT, critic.judge(&critique(&t, None).await))
        .await
        .unwrap();
    assert!(!v.feasible, "{v:?}");
    assert!(v.usage.is_none(), "a rule verdict has no model usage");
    assert!(bodies(&s).await.is_empty());
    // A feasible move: the rules pass it, the model is asked.
    let req = critique(&t, Some("go_to(robot_1, in_front_of_sink)")).await;
    let v = within("judge go_to", LIMIT, critic.judge(&req))
        .await
        .unwrap();
    assert!(v.feasible, "{v:?}");
    assert_eq!(v.feedback, "go ahead");
    assert_eq!(bodies(&s).await.len(), 1);
    assert_eq!(outcomes(&logged(&mut log)), ["accepted"]);
}

fn belief_text(objects: &[(&str, &str)]) -> String {
    let objects: Vec<Value> = objects
        .iter()
        .map(|(o, l)| json!({"object": o, "location": l}))
        .collect();
    json!({"reasoning": "from the history", "objects": objects, "containers": []}).to_string()
}

#[tokio::test]
async fn summarizer_rejects_a_hallucinated_object_and_runs_only_when_something_is_new() {
    let banana = belief_text(&[("banana", "table")]);
    let ghost_place = belief_text(&[("orange", "garage")]);
    let good = belief_text(&[("orange", "table")]);
    let good_2 = belief_text(&[("orange", "table"), ("apple", "table")]);
    let s = server([
        reply(&banana),
        reply(&ghost_place),
        reply(&good),
        reply(&good_2),
    ])
    .await;
    let (rt, mut log) = runtime(endpoint(&s), 2);
    let mut m = ModelSummarizer::new(rt, 8);
    let t = goal_task();
    let o0 = observation(0, vec![robot_1_at_table(0, &["orange"])]);
    let req = |reset: bool, o: clea_bus::msg::Observation| MemoryRequest {
        reset: reset.then(|| t.clone()),
        observation: o,
        action: None,
        outcome: None,
    };
    let b = within("summarize", LIMIT, m.summarize(&req(true, o0.clone())))
        .await
        .unwrap();
    let orange = b.objects.iter().find(|o| o.object == "orange").unwrap();
    assert_eq!(orange.location.as_deref(), Some("table"));
    assert_eq!(b.usage.unwrap().calls, 3);
    let oc = outcomes(&logged(&mut log));
    assert_eq!(oc.len(), 3, "{oc:?}");
    assert!(
        oc[0].starts_with("rejected: objects[0]: \"banana\" is not an object of this world"),
        "{oc:?}"
    );
    assert!(
        oc[1].starts_with("rejected: objects[0]: \"garage\" is not a receptacle or robot"),
        "{oc:?}"
    );
    assert_eq!(oc[2], "accepted");
    let calls_before = bodies(&s).await.len();
    assert_eq!(calls_before, 3);

    // Nothing new observed: no model call, the belief stands.
    let b1 = within(
        "summarize again",
        LIMIT,
        m.summarize(&req(
            false,
            observation(0, vec![robot_1_at_table(0, &["orange"])]),
        )),
    )
    .await
    .unwrap();
    assert_eq!(bodies(&s).await.len(), calls_before, "no call without news");
    assert_eq!(b1.usage.unwrap().calls, 0);
    assert!(logged(&mut log).is_empty());

    // The apple appears: the model is asked again.
    let o1 = observation(1, vec![robot_1_at_table(1, &["orange", "apple"])]);
    let b2 = within("summarize news", LIMIT, m.summarize(&req(false, o1)))
        .await
        .unwrap();
    assert_eq!(bodies(&s).await.len(), calls_before + 1);
    assert_eq!(outcomes(&logged(&mut log)), ["accepted"]);
    let apple = b2.objects.iter().find(|o| o.object == "apple").unwrap();
    assert_eq!(apple.location.as_deref(), Some("table"));
    assert!(
        b2.goals_holding.contains(&"found(apple)".to_string()),
        "{b2:?}"
    );
}

// --- Request shapes: structured output, tool calls, credentials -------------------------------

#[tokio::test]
async fn a_forced_tool_call_reply_is_parsed_and_validated() {
    let args = plan_text(false, &[GO_SINK]);
    let tool_reply = json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "plan", "arguments": args}}]}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    });
    let s = server([ResponseTemplate::new(200).set_body_json(tool_reply)]).await;
    let mut cfg = endpoint(&s);
    cfg.structured = Structured::Tool;
    let (rt, mut log) = runtime(cfg, 0);
    let mut p = ModelPlanner::new(rt);
    let req = plan_request(&goal_task()).await;
    let plan = within("plan", LIMIT, p.plan(&req)).await.unwrap();
    assert_plan_is_go_to_sink(&plan);
    let body = &bodies(&s).await[0];
    assert_eq!(body["tool_choice"]["function"]["name"], "plan");
    assert_eq!(body["tools"][0]["function"]["name"], "plan");
    assert!(body.get("response_format").is_none());
    assert_eq!(outcomes(&logged(&mut log)), ["accepted"]);
}

#[tokio::test]
async fn the_reply_schema_enumerates_the_pool_the_world_names_and_the_task_objects() {
    let s = server([plan_reply(false, &[GO_SINK])]).await;
    let (mut p, _log) = planner(&s, 0);
    let req = plan_request(&goal_task()).await;
    within("plan", LIMIT, p.plan(&req)).await.unwrap();
    let body = &bodies(&s).await[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "plan");
    let schema = body["response_format"]["json_schema"]["schema"].to_string();
    for name in [
        "go_to",
        "release_to",
        "robot_2",
        "apple",
        "in_front_of_sink",
    ] {
        assert!(
            schema.contains(&format!("\"{name}\"")),
            "{name} missing from the schema"
        );
    }
    assert!(!schema.contains("banana"));
    // The world has the pills, but the task (found(apple)) is not about them: no call can name
    // them (clea_skills::TaskScope).
    assert!(
        !schema.contains("\"vitamin_pills\""),
        "an off-task object in the schema"
    );
}

#[tokio::test]
async fn the_api_key_goes_only_into_the_authorization_header() {
    let var = format!("CLEA_TEST_KEY_{}", std::process::id());
    let secret = "sk-test-0123456789-secret";
    // SAFETY (edition 2021: safe): a variable only this test reads.
    std::env::set_var(&var, secret);
    let s = server([plan_reply(false, &[GO_SINK])]).await;
    let mut cfg = endpoint(&s);
    cfg.api_key_env = Some(var.clone());
    let backend = clea_agent::model::client::HttpBackend::new(cfg.clone()).unwrap();
    assert!(!format!("{backend:?}").contains(secret), "{backend:?}");
    let (rt, mut log) = runtime(cfg, 0);
    let mut p = ModelPlanner::new(rt);
    let req = plan_request(&goal_task()).await;
    within("plan", LIMIT, p.plan(&req)).await.unwrap();
    let reqs = s.received_requests().await.unwrap();
    assert_eq!(
        reqs[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {secret}")
    );
    let calls = logged(&mut log);
    assert!(
        !serde_json::to_string(&calls[0]).unwrap().contains(secret),
        "the key must never be logged"
    );
    // An unset variable is a clear error at set-up.
    let mut cfg = endpoint(&s);
    cfg.api_key_env = Some(format!("{var}_UNSET"));
    let err = clea_agent::model::client::HttpBackend::new(cfg).unwrap_err();
    assert_eq!(err, ModelError::MissingKey(format!("{var}_UNSET")));
    std::env::remove_var(&var);
}
