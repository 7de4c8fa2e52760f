//! Executor: sends validated actions to the robots' skill servers and collects the feedback and
//! the observations that follow (CLEA: "observation is automatic after every skill").

use clea_bus::action::{ActionError, GoalOptions, SkillClient};
use clea_bus::msg::{RobotObservation, SkillCall, SkillFeedback, SkillOutcome};
use clea_bus::{Bus, BusError, Subscription};
use clea_skills::Action;
use std::time::Duration;

/// Result of executing one action.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// How the skill ended. A goal the server rejected or that reached no server is `Failed`
    /// with the reason, and `accepted` is false.
    pub outcome: SkillOutcome,
    /// Whether a server accepted the goal.
    pub accepted: bool,
    /// Feedback messages received.
    pub feedback: Vec<SkillFeedback>,
    /// Observations published by the robots after the skill, in arrival order.
    pub observations: Vec<RobotObservation>,
}

/// Sends actions as skill goals; one per episode.
pub struct Executor {
    client: SkillClient,
    observations: Subscription<RobotObservation>,
    options: GoalOptions,
    settle: Duration,
}

impl Executor {
    /// An executor on `bus`; `skill_timeout` bounds each skill after acceptance.
    ///
    /// # Errors
    /// [`BusError`] when the observation subscriber cannot be declared.
    pub async fn new(bus: &Bus, skill_timeout: Option<Duration>) -> Result<Self, BusError> {
        Ok(Self {
            client: SkillClient::new(bus),
            observations: bus.subscribe(&bus.keys.any_robot_observation()).await?,
            options: GoalOptions {
                accept_timeout: Duration::from_secs(5),
                result_timeout: skill_timeout,
            },
            settle: Duration::from_millis(250),
        })
    }

    /// Observations that arrived since the last call, without waiting.
    pub fn drain_observations(&self) -> Vec<RobotObservation> {
        std::iter::from_fn(|| self.observations.try_recv().map(|(_, o)| o)).collect()
    }

    /// Execute `action` and wait for its result and the observations that follow it.
    pub async fn execute(&self, action: &Action) -> StepResult {
        self.execute_call(&action.to_call()).await
    }

    /// Execute a call (validated by the caller; the robot validates again).
    pub async fn execute_call(&self, call: &SkillCall) -> StepResult {
        let stale = self.drain_observations();
        if !stale.is_empty() {
            tracing::debug!(n = stale.len(), "observations before the goal");
        }
        let mut feedback = Vec::new();
        let handle = match self.client.send_goal(call, self.options).await {
            Ok(h) => h,
            Err(e) => {
                let outcome = match e {
                    ActionError::Rejected(r) => SkillOutcome::Failed {
                        reason: format!("rejected: {r}"),
                    },
                    e @ ActionError::NoServer { .. } => SkillOutcome::Unreachable {
                        reason: e.to_string(),
                    },
                    other => SkillOutcome::Failed {
                        reason: other.to_string(),
                    },
                };
                return StepResult {
                    outcome,
                    accepted: false,
                    feedback,
                    observations: stale,
                };
            }
        };
        let outcome = handle.result(|f| feedback.push(f)).await;
        let mut observations = stale;
        observations.extend(self.drain_observations());
        if observations.is_empty() {
            // Across processes the observations may trail the result slightly.
            if let Ok(Some((_, o))) =
                tokio::time::timeout(self.settle, self.observations.recv()).await
            {
                observations.push(o);
                observations.extend(self.drain_observations());
            }
        }
        StepResult {
            outcome,
            accepted: true,
            feedback,
            observations,
        }
    }
}
