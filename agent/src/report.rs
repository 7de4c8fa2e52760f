//! Episode and suite reports: what `clea sim` prints as a table or as JSON.

use clea_bus::msg::EpisodeScore;
use serde::{Deserialize, Serialize};

/// The result of one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// All goal predicates hold.
    pub success: bool,
    /// Share of goal predicates that hold.
    pub score: f64,
    /// Skills executed.
    pub steps: u32,
    /// Skills that failed.
    pub skill_failures: u32,
    /// Calls rejected as invalid.
    pub invalid_calls: u32,
    /// Critic rejections.
    pub critic_rejections: u32,
    /// Replans.
    pub replans: u32,
    /// Perturbations that fired.
    pub perturbations: u32,
    /// Goal predicates not met at the end.
    pub goals_unmet: Vec<String>,
    /// Why the episode ended, or the first failure that explains a loss.
    pub reason: String,
    /// Wall time, s.
    pub wall_time_s: f64,
    /// Model calls (all modules; repairs and retries included).
    #[serde(default)]
    pub model_calls: u32,
    /// Model prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Model completion tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Prompt tokens the endpoints served from their prefix caches (when they say).
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    /// Time spent waiting for model endpoints, s.
    #[serde(default)]
    pub model_latency_s: f64,
    /// The episode log, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The robot team (bus namespace) the episode ran on, when the process drove several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

impl EpisodeReport {
    /// A report from the simulator's score and the agent's counters.
    pub fn new(
        scenario: &str,
        seed: u64,
        score: EpisodeScore,
        reason: String,
        wall_time_s: f64,
    ) -> Self {
        Self {
            scenario: scenario.to_string(),
            seed,
            success: score.success,
            score: score.score,
            steps: score.steps,
            skill_failures: score.skill_failures,
            invalid_calls: score.invalid_calls,
            critic_rejections: 0,
            replans: 0,
            perturbations: score.perturbations,
            goals_unmet: score.goals_unmet,
            reason,
            wall_time_s,
            model_calls: 0,
            prompt_tokens: 0,
            cached_prompt_tokens: 0,
            completion_tokens: 0,
            model_latency_s: 0.0,
            log: None,
            team: None,
        }
    }
}

/// Aggregates over a suite (CLEA-KITCHEN.md, "Metrics").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteSummary {
    /// Episodes run.
    pub episodes: usize,
    /// Success rate (SR): share of successful episodes.
    pub success_rate: f64,
    /// Average score (AS): mean share of goal predicates met.
    pub score: f64,
    /// Mean steps per episode.
    pub mean_steps: f64,
    /// Total skill failures.
    pub skill_failures: u32,
    /// Total invalid calls.
    pub invalid_calls: u32,
    /// Total critic rejections.
    pub critic_rejections: u32,
    /// Total replans.
    pub replans: u32,
    /// Total wall time, s.
    pub wall_time_s: f64,
    /// Total model calls.
    pub model_calls: u32,
    /// Total model tokens (prompt + completion).
    pub model_tokens: u64,
    /// Model calls per executed skill.
    pub calls_per_action: f64,
    /// Share of prompt tokens served from the endpoints' prefix caches (0 without model
    /// calls, or when no endpoint reports it).
    pub cached_share: f64,
    /// Model tokens per successful episode (all tokens of the suite over its successes);
    /// `None` without a success.
    pub tokens_per_success: Option<f64>,
}

/// The JSON document of `clea sim --json`: `{"episodes": [...], "summary": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// One entry per episode, in run order.
    pub episodes: Vec<EpisodeReport>,
    /// Aggregates.
    pub summary: SuiteSummary,
}

impl SuiteReport {
    /// Aggregate `episodes`.
    pub fn new(episodes: Vec<EpisodeReport>) -> Self {
        let n = episodes.len();
        let d = n.max(1) as f64;
        // Not `Sum`: an empty f64 sum is -0.0, which would print as "-0.000".
        let total = |f: fn(&EpisodeReport) -> f64| episodes.iter().map(f).fold(0.0, |a, b| a + b);
        let summary = SuiteSummary {
            episodes: n,
            success_rate: episodes.iter().filter(|e| e.success).count() as f64 / d,
            score: total(|e| e.score) / d,
            mean_steps: total(|e| f64::from(e.steps)) / d,
            skill_failures: episodes.iter().map(|e| e.skill_failures).sum(),
            invalid_calls: episodes.iter().map(|e| e.invalid_calls).sum(),
            critic_rejections: episodes.iter().map(|e| e.critic_rejections).sum(),
            replans: episodes.iter().map(|e| e.replans).sum(),
            wall_time_s: total(|e| e.wall_time_s),
            model_calls: episodes.iter().map(|e| e.model_calls).sum(),
            model_tokens: episodes
                .iter()
                .map(|e| e.prompt_tokens + e.completion_tokens)
                .sum(),
            calls_per_action: 0.0,
            cached_share: 0.0,
            tokens_per_success: None,
        };
        let mut summary = summary;
        let steps: u32 = episodes.iter().map(|e| e.steps).sum();
        let successes = episodes.iter().filter(|e| e.success).count();
        summary.calls_per_action = f64::from(summary.model_calls) / f64::from(steps.max(1));
        let prompt: u64 = episodes.iter().map(|e| e.prompt_tokens).sum();
        let cached: u64 = episodes.iter().map(|e| e.cached_prompt_tokens).sum();
        summary.cached_share = cached as f64 / prompt.max(1) as f64;
        summary.tokens_per_success =
            (successes > 0).then(|| summary.model_tokens as f64 / successes as f64);
        Self { episodes, summary }
    }
}

#[cfg(test)]
mod tests {
    use super::SuiteReport;

    #[test]
    fn an_empty_suite_averages_to_plain_zero() {
        let s = SuiteReport::new(Vec::new()).summary;
        for v in [s.score, s.mean_steps, s.wall_time_s, s.success_rate] {
            assert!(v == 0.0 && v.is_sign_positive(), "{v:?}");
        }
        assert_eq!(format!("{:.3}", s.score), "0.000");
    }
}
