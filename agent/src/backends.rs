//! Which implementation runs each CLEA module: symbolic or model-backed, on which endpoint.
//! This is the `agent:` part of launch files (see `launch/files/`).

use crate::model::client::EndpointConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Implementation of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The embedded symbolic implementation.
    #[default]
    Symbolic,
    /// A chat model on an endpoint.
    Model,
    /// Critic only: the rule critic, then the model for the actions the rules pass.
    RulesThenModel,
}

/// Settings of one module.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// Implementation.
    #[serde(default)]
    pub backend: Backend,
    /// Endpoint name (a key of `endpoints:`) for model backends.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Prompt template file replacing the built-in one (same placeholders).
    #[serde(default)]
    pub template: Option<PathBuf>,
    /// Repairs allowed after an invalid model reply.
    #[serde(default = "two")]
    pub repairs: u32,
    /// Critic only: attach the acting robot's newest camera frames to each question (a vision
    /// model, as in CLEA's VLM critic). Off for text-only models.
    #[serde(default)]
    pub images: bool,
    /// `rules_then_model` critic only: when the model is asked about an action the rules pass.
    #[serde(default)]
    pub model_critic: ModelCriticCalls,
}

/// When the layered critic (`rules_then_model`) asks the model (CLEA's event-triggered critic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelCriticCalls {
    /// On events: the first action of each plan (a new plan follows a start, a failed skill, a
    /// world that changed by itself, a rejection) and done claims; the plan's later actions
    /// meet the rules only.
    #[default]
    OnEvents,
    /// Every action and done claim the rules pass.
    EveryAction,
}

fn two() -> u32 {
    2
}

/// The module choices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModulesConfig {
    /// Observer (`model`: a vision model on the robots' camera frames; `symbolic`: the robots'
    /// structured observations, from the simulator or perception).
    #[serde(default)]
    pub observer: ModuleConfig,
    /// Memory (summarizer).
    #[serde(default)]
    pub memory: ModuleConfig,
    /// Planner.
    #[serde(default)]
    pub planner: ModuleConfig,
    /// Critic.
    #[serde(default)]
    pub critic: ModuleConfig,
}

impl ModulesConfig {
    /// Every module with its name, in loop order.
    pub fn all(&self) -> [(&'static str, &ModuleConfig); 4] {
        [
            ("observer", &self.observer),
            ("memory", &self.memory),
            ("planner", &self.planner),
            ("critic", &self.critic),
        ]
    }
}

/// Model endpoints and module choices.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    /// Named endpoints.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// Per-module backends.
    #[serde(default)]
    pub modules: ModulesConfig,
    /// Serve model replies from this episode log instead of calling endpoints.
    #[serde(default)]
    pub cassette: Option<PathBuf>,
}

impl ModelsConfig {
    /// Check the choices: endpoints named by modules exist, model backends name one, only the
    /// critic takes `rules_then_model`. Errors name the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (name, m) in self.modules.all() {
            let field = |f: &str| format!("models.modules.{name}.{f}");
            match m.backend {
                Backend::Symbolic => {}
                Backend::RulesThenModel if name != "critic" => {
                    return Err((
                        field("backend"),
                        "rules_then_model is for the critic only".into(),
                    ))
                }
                _ => match &m.endpoint {
                    None => {
                        return Err((
                            field("endpoint"),
                            "a model backend needs an endpoint".into(),
                        ))
                    }
                    Some(e) if !self.endpoints.contains_key(e) => {
                        return Err((
                            field("endpoint"),
                            format!("no endpoint named {e:?} in models.endpoints"),
                        ))
                    }
                    Some(_) => {}
                },
            }
            if m.images && (name != "critic" || m.backend == Backend::Symbolic) {
                return Err((
                    field("images"),
                    "images are for a model-backed critic (the observer always sees frames)".into(),
                ));
            }
            if let Some(t) = &m.template {
                if !t.is_file() {
                    return Err((field("template"), format!("{} is not a file", t.display())));
                }
            }
        }
        for (name, e) in &self.endpoints {
            let field = |f: &str| format!("models.endpoints.{name}.{f}");
            if !(e.base_url.starts_with("http://") || e.base_url.starts_with("https://")) {
                return Err((
                    field("base_url"),
                    format!("{:?} is not an http(s) URL", e.base_url),
                ));
            }
            if !(e.timeout_s > 0.0 && e.timeout_s <= 1e6) {
                return Err((field("timeout_s"), "must be a time in (0, 1e6] s".into()));
            }
            if !(e.backoff_s >= 0.0 && e.backoff_s <= 60.0) {
                return Err((field("backoff_s"), "must be a time in [0, 60] s".into()));
            }
            if e.max_tokens == 0 {
                return Err((field("max_tokens"), "must be at least 1".into()));
            }
            if e.max_retries > 100 {
                return Err((field("max_retries"), "must be at most 100".into()));
            }
            if !(e.max_retry_after_s >= 0.0 && e.max_retry_after_s <= 1e6) {
                return Err((
                    field("max_retry_after_s"),
                    "must be a time in [0, 1e6] s".into(),
                ));
            }
        }
        Ok(())
    }

    /// Check that every endpoint a module uses gives up (all its attempts timed out, see
    /// [`EndpointConfig::worst_case_s`]) within the module timeout, so a hung endpoint fails
    /// with its own reason instead of being cut by the module timeout. Errors name the field.
    pub fn check_fits(&self, module_timeout_s: f64) -> Result<(), (String, String)> {
        for (_, m) in self.modules.all() {
            let Some((name, e)) = m
                .endpoint
                .as_ref()
                .filter(|_| m.backend != Backend::Symbolic)
                .and_then(|n| self.endpoints.get_key_value(n))
            else {
                continue;
            };
            let worst = e.worst_case_s();
            if worst > module_timeout_s {
                return Err((
                    format!("models.endpoints.{name}.timeout_s"),
                    format!(
                        "{} s × {} attempts (max_retries {}) + the waits between them (backoff, or up to max_retry_after_s = {} s) = {worst} s, more than agent.module_timeout_s = {module_timeout_s} s: lower timeout_s, max_retries or max_retry_after_s, or raise the module timeout",
                        e.timeout_s,
                        u64::from(e.max_retries) + 1,
                        e.max_retries,
                        e.max_retry_after_s
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether any module calls a model.
    pub fn uses_models(&self) -> bool {
        self.modules
            .all()
            .iter()
            .any(|(_, m)| m.backend != Backend::Symbolic)
    }
}
