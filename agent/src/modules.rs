//! One small trait per CLEA role (CLEA Sec. III), so symbolic and model-backed implementations
//! plug in per module. Inputs and outputs are the bus messages; implementations own no transport
//! (the actors in [`crate::actors`] put them on the bus), so each is unit-tested without zenoh.

use async_trait::async_trait;
use clea_bus::msg::{
    Belief, CritiqueRequest, MemoryRequest, Observation, Plan, PlanRequest, RobotObservation, Time,
    Verdict, WorldVocabulary,
};

/// Why a module could not produce its output. The controller ends the step cleanly with it.
///
/// On the bus an actor replies with it as JSON (`{"kind": "backend", "reason": "..."}`), so its
/// kind survives the trip (no message text is matched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModuleError {
    /// The request lacked something the module needs (e.g. memory used before a reset).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The module cannot find an answer (e.g. no plan reaches the goal).
    #[error("{0}")]
    NoAnswer(String),
    /// A backend (model endpoint) failed.
    #[error("backend failed: {0}")]
    Backend(String),
}

/// The newest image of one camera, encoded for a vision model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraFrame {
    /// Robot the camera is on.
    pub robot: String,
    /// Camera name, e.g. `head`.
    pub camera: String,
    /// Acquisition time (the image's header stamp).
    pub stamp: Time,
    /// `image/jpeg` or `image/png`.
    pub media_type: String,
    /// The encoded image file.
    pub bytes: Vec<u8>,
}

/// Observer: the robots' observations (and, for a vision-model observer, their camera frames)
/// → the structured observation `o_t` with a text rendering.
#[async_trait]
pub trait Observer: Send {
    /// Build `o_t` for `step` from the newest observation of each robot.
    async fn observe(
        &mut self,
        step: u32,
        robots: &[RobotObservation],
    ) -> Result<Observation, ModuleError>;

    /// Whether this observer looks at camera frames (the actor then keeps the newest frame of
    /// every camera and calls [`observe_frames`](Self::observe_frames)).
    fn wants_frames(&self) -> bool {
        false
    }

    /// Build `o_t` from the robots' observations, the newest frame of each camera and the
    /// world's names. The default ignores the frames.
    async fn observe_frames(
        &mut self,
        step: u32,
        robots: &[RobotObservation],
        _frames: &[CameraFrame],
        _vocabulary: Option<&WorldVocabulary>,
    ) -> Result<Observation, ModuleError> {
        self.observe(step, robots).await
    }
}

/// Memory (history buffer + summarizer): `(o_t, a, f)` → belief `b_t`.
#[async_trait]
pub trait Summarizer: Send {
    /// Merge the request into the memory and return the new belief.
    async fn summarize(&mut self, req: &MemoryRequest) -> Result<Belief, ModuleError>;
}

/// Planner: belief, observation, task and feedback → a subgoal and 1–5 skill calls, or done.
#[async_trait]
pub trait Planner: Send {
    /// Make a plan. Its calls are untrusted until the controller validates them.
    async fn plan(&mut self, req: &PlanRequest) -> Result<Plan, ModuleError>;
}

/// Critic: is this action feasible now (or, with no action, is the task done)?
#[async_trait]
pub trait Critic: Send {
    /// Judge the request's action, or the done claim when it has none.
    async fn judge(&mut self, req: &CritiqueRequest) -> Result<Verdict, ModuleError>;

    /// Whether this critic looks at camera frames (the actor then keeps the newest frame of
    /// every camera and calls [`judge_frames`](Self::judge_frames)).
    fn wants_frames(&self) -> bool {
        false
    }

    /// Judge with the newest frame of each camera at hand. The default ignores the frames.
    async fn judge_frames(
        &mut self,
        req: &CritiqueRequest,
        _frames: &[CameraFrame],
    ) -> Result<Verdict, ModuleError> {
        self.judge(req).await
    }
}
