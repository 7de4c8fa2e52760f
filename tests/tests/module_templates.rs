//! A launch file's `models.modules.<module>.template` replaces the built-in prompt of that
//! module, for every model-backed module, the summarizer (memory) included: the request bodies
//! a local test endpoint (wiremock) receives carry the template's own text with its
//! placeholders filled. The endpoint answers 503, so the episode ends early; what is asserted
//! is what reached it.

use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::backends::{Backend, ModelsConfig, ModuleConfig};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_bus::{Bus, BusConfig};
use clea_tests::e2e::kitchen;
use clea_tests::llm::{mock_endpoints, prompt_texts};
use clea_tests::{unique_namespace, within};
use serde_json::Value;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EPISODE: Duration = Duration::from_secs(60);
const MARKER: &str = "CUSTOM-SUMMARIZER-TEMPLATE-4711";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_template_of_a_launch_file_is_the_prompt_the_model_gets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("summarizer.md");
    std::fs::write(
        &template,
        format!("{MARKER}\nNames: {{{{names}}}}\nBefore: {{{{previous}}}}\nNew: {{{{history}}}}\n"),
    )
    .unwrap();
    let bus = within(
        "open bus",
        EPISODE,
        Bus::open(&BusConfig {
            namespace: unique_namespace("memory-template"),
            ..BusConfig::default()
        }),
    )
    .await
    .expect("bus");
    let scenario = clea_sim::scenario::load(&kitchen("task-07-find-throw-tea")).expect("scenario");
    let _sim = clea_sim::robots::serve(&bus, &scenario, None)
        .await
        .expect("simulated robots");
    let models = ModelsConfig {
        endpoints: mock_endpoints(&server.uri(), "scripted", 0),
        modules: clea_agent::backends::ModulesConfig {
            memory: ModuleConfig {
                backend: Backend::Model,
                endpoint: Some("mock".into()),
                template: Some(template),
                ..Default::default()
            },
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
        ..EpisodeOptions::default()
    };
    let report = within("episode", EPISODE, run_episode(&bus, &opts))
        .await
        .expect("the episode runs");
    assert!(
        !report.success,
        "a 503 endpoint cannot summarize: {report:?}"
    );
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .expect("requests recorded")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
        .collect();
    assert!(!bodies.is_empty(), "the summarizer never asked the model");
    let prompt = prompt_texts(&bodies[0]).join("\n");
    assert!(
        prompt.starts_with(MARKER),
        "the built-in prompt was used:\n{prompt}"
    );
    // The placeholders are filled: the world's names and the observation history.
    assert!(prompt.contains("bottle_of_tea"), "{prompt}");
    assert!(!prompt.contains("{{"), "{prompt}");
}
