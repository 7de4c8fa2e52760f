//! The event-triggered critic (issue "Real models in the loop"): with a scripted model that
//! plans the reference plan of a seven-action kitchen task in two plans, the layered critic
//! (`rules_then_model`) asks the model about each plan's first action and the done claim only,
//! not about every action, at equal success: fewer than 1.5 model calls per executed action.
//!
//! The model is a local OpenAI-compatible test endpoint (wiremock) that answers the planner's
//! requests (schema `plan`) with the next part of the plan and the critic's (schema `verdict`)
//! with "feasible", reporting 800 of each 1,000 prompt tokens as served from its prefix cache;
//! the simulated kitchen, the bus and the actors are real.

use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::backends::{Backend, ModelCriticCalls, ModelsConfig, ModuleConfig};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_agent::report::EpisodeReport;
use clea_bus::{Bus, BusConfig};
use clea_tests::e2e::kitchen;
use clea_tests::llm::mock_endpoints;
use clea_tests::{unique_namespace, within};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const EPISODE: Duration = Duration::from_secs(60);

/// task-07's reference plan, as the model's two plans.
const PLANS: [&[&str]; 2] = [
    &[
        "go_to(robot_1, in_front_of_refrigerator)",
        "open(robot_1, refrigerator)",
        "pick_from(robot_1, bottle_of_tea, refrigerator)",
        "go_to(robot_1, in_front_of_table)",
        "release_to(robot_1, bottle_of_tea, table)",
    ],
    &[
        "pick_from(robot_2, bottle_of_tea, table)",
        "release_to(robot_2, bottle_of_tea, trash_can)",
    ],
];

/// The scripted model: the next plan for each planner request (then done), "feasible" for
/// each critic request.
struct Script {
    plans: AtomicUsize,
}

fn completion(content: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}}],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 800},
        },
    }))
}

fn call(text: &str) -> Value {
    let c = clea_skills::parse_call(text).expect("a call");
    json!({"skill": c.skill, "args": c.args})
}

impl Respond for Script {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = req.body_json().expect("JSON body");
        let schema = body["response_format"]["json_schema"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if schema == "verdict" {
            return completion(json!({
                "reasoning": "The action fits the belief.",
                "feasible": true,
                "feedback": "feasible",
            }));
        }
        let i = self.plans.fetch_add(1, Ordering::SeqCst);
        match PLANS.get(i) {
            Some(plan) => completion(json!({
                "reasoning": "The tea is in the refrigerator.",
                "subgoal": "throw the tea away",
                "done": false,
                "actions": plan.iter().map(|c| call(c)).collect::<Vec<_>>(),
            })),
            None => completion(json!({
                "reasoning": "Every goal holds.",
                "subgoal": "done",
                "done": true,
                "actions": [],
            })),
        }
    }
}

async fn episode(test: &str, calls: ModelCriticCalls) -> EpisodeReport {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Script {
            plans: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    let bus = within(
        "open bus",
        EPISODE,
        Bus::open(&BusConfig {
            namespace: unique_namespace(test),
            ..BusConfig::default()
        }),
    )
    .await
    .expect("bus");
    let scenario = clea_sim::scenario::load(&kitchen("task-07-find-throw-tea")).expect("scenario");
    let _sim = clea_sim::robots::serve(&bus, &scenario, None)
        .await
        .expect("simulated robots");
    let module = |backend| ModuleConfig {
        backend,
        endpoint: Some("mock".into()),
        repairs: 1,
        model_critic: calls,
        ..Default::default()
    };
    let models = ModelsConfig {
        endpoints: mock_endpoints(&server.uri(), "scripted", 1),
        modules: clea_agent::backends::ModulesConfig {
            planner: module(Backend::Model),
            critic: module(Backend::RulesThenModel),
            ..Default::default()
        },
        cassette: None,
    };
    models.check().expect("a valid module choice");
    let _actors = ActorSet::build(&bus, &ActorKind::ALL, &models, 8, Duration::from_secs(10))
        .await
        .expect("actors");
    let opts = EpisodeOptions {
        module_timeout: Duration::from_secs(20),
        skill_timeout: Duration::from_secs(10),
        ..EpisodeOptions::default()
    };
    within("episode", EPISODE, run_episode(&bus, &opts))
        .await
        .expect("the episode runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_critic_is_asked_on_events_not_about_every_action() {
    let every = episode("critic-every", ModelCriticCalls::EveryAction).await;
    let events = episode("critic-events", ModelCriticCalls::OnEvents).await;
    for r in [&every, &events] {
        assert!(r.success, "{r:?}");
        assert_eq!(r.steps, 7, "{r:?}");
    }
    // Three plans (two with actions, one done claim); the critic: every action and the claim,
    // or the first action of each plan and the claim.
    assert_eq!(every.model_calls, 3 + 7 + 1, "{every:?}");
    assert_eq!(events.model_calls, 3 + 2 + 1, "{events:?}");
    let per_action = f64::from(events.model_calls) / f64::from(events.steps);
    assert!(
        per_action <= 1.5,
        "{per_action} model calls per executed action"
    );
}
