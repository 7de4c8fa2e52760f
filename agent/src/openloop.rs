//! Open-loop execution of a fixed action list: the paper's baseline (plan once, execute blindly).
//!
//! Every action is sent whatever happened before; failures are recorded, not reacted to. The
//! observations still feed a belief, so a search task is scored on what the robots saw.

use crate::executor::Executor;
use crate::memory::BeliefState;
use crate::report::EpisodeReport;
use crate::AgentError;
use clea_bus::msg::EpisodeEnd;
use clea_bus::{episode, Bus};
use clea_skills::Action;
use std::time::{Duration, Instant};

/// Options of an open-loop episode.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoopOptions {
    /// Seed passed to the simulator (`None`: the scenario's).
    pub seed: Option<u64>,
    /// Deadline of each skill after acceptance.
    pub skill_timeout: Option<Duration>,
    /// How long to wait for the simulator's episode service.
    pub service_timeout: Duration,
}

impl Default for OpenLoopOptions {
    fn default() -> Self {
        Self {
            seed: None,
            skill_timeout: Some(Duration::from_secs(30)),
            service_timeout: Duration::from_secs(10),
        }
    }
}

/// Run `actions` open-loop against the simulator on `bus` and return the scored report.
///
/// # Errors
/// [`AgentError::Bus`] when the simulator's episode service does not answer.
pub async fn run_action_list(
    bus: &Bus,
    actions: &[Action],
    opts: OpenLoopOptions,
) -> Result<EpisodeReport, AgentError> {
    let t0 = Instant::now();
    let exec = Executor::new(bus, opts.skill_timeout).await?;
    let start = episode::start(bus, opts.seed, opts.service_timeout).await?;
    let task = start.task;
    let mut belief = BeliefState::new(task.vocabulary.clone(), 16);
    for o in &start.observations {
        belief.merge(o);
    }
    let budget = Duration::from_secs_f64(task.max_wall_time_s);
    let mut first_failure: Option<String> = None;
    let mut reason = "all actions executed".to_string();
    for (i, action) in actions.iter().enumerate() {
        if t0.elapsed() > budget {
            reason = format!("wall-time budget of {} s used up", task.max_wall_time_s);
            break;
        }
        let r = exec.execute(action).await;
        for o in &r.observations {
            belief.merge(o);
        }
        if !r.outcome.is_success() && first_failure.is_none() {
            first_failure = Some(format!("step {}: {action} {}", i + 1, r.outcome));
        }
    }
    let end = EpisodeEnd {
        declared_done: true,
        reason: reason.clone(),
        believed_locations: belief.believed_locations(),
        invalid_calls: 0,
    };
    let score = episode::end(bus, &end, opts.service_timeout).await?;
    let reason = match (&first_failure, score.success) {
        (_, true) => reason,
        (Some(f), false) => f.clone(),
        (None, false) => format!("goals unmet: {}", score.goals_unmet.join(", ")),
    };
    Ok(EpisodeReport::new(
        &task.scenario,
        task.seed,
        score,
        reason,
        t0.elapsed().as_secs_f64(),
    ))
}
